//! Build it yourself, DNS step 1: read a question, answer with an address.
//!
//! What to notice: lesson 2's UDP loop, with a binary message instead of an
//! echo. A query is a 12-byte header (an id, flag bits, four counts) and a
//! question (a name as length-prefixed labels, a type, a class). The answer
//! copies the id and the question, sets the flags, and adds one record; its
//! name is a two-byte *pointer* (`0xc0 0x0c`) to the question's name at
//! offset 12. Every name gets `127.0.0.1`: this server says yes to
//! everything (step 2 gives it a zone).
//!
//! Checker: passes stage 1, then fails stage 2 (every name gets an A record).
//!
//! Try it: `cargo run -p protocols --example dns-step1-answer`, then
//! `dig @127.0.0.1 -p 1053 www.plants.test +short`.

// ANCHOR: all
use std::net::UdpSocket;

fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "1053".to_string());
    let socket = UdpSocket::bind(format!("127.0.0.1:{port}"))?;
    println!("listening on dns://{}", socket.local_addr()?);
    let mut buf = [0u8; 512];
    loop {
        let (len, sender) = match socket.recv_from(&mut buf) {
            Ok(received) => received,
            Err(error) => {
                eprintln!("receive failed: {error}");
                continue;
            }
        };
        // Queries we cannot read get no answer (step 3 does better).
        let Some(answer) = answer(&buf[..len]) else {
            continue;
        };
        if let Err(error) = socket.send_to(&answer, sender) {
            eprintln!("reply to {sender} failed: {error}");
        }
    }
}

/// The answer to `query`: its id and question, and one A record, 127.0.0.1.
fn answer(query: &[u8]) -> Option<Vec<u8>> {
    // The question starts after the 12-byte header: labels, then a zero.
    let mut at = 12;
    let mut labels = Vec::new();
    loop {
        let length = usize::from(*query.get(at)?);
        if length == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(query.get(at + 1..at + 1 + length)?).into_owned());
        at += 1 + length;
    }
    let question_end = at + 1 + 4; // the zero, the type, the class
    let question = query.get(12..question_end)?;
    eprintln!("question: {}", labels.join("."));

    let mut answer = Vec::with_capacity(64);
    answer.extend_from_slice(query.get(0..2)?); // the query's id
    let rd = query[2] & 0x01; // "recursion desired", copied
    answer.push(0x84 | rd); // QR (a response), AA (authoritative), RD
    answer.push(0x00); // RA 0, RCODE 0: no error
    answer.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 0]); // 1 question, 1 answer
    answer.extend_from_slice(question);
    answer.extend_from_slice(&[0xc0, 0x0c]); // the name: a pointer to offset 12
    answer.extend_from_slice(&[0, 1, 0, 1]); // type A, class IN
    answer.extend_from_slice(&300u32.to_be_bytes()); // TTL: 5 minutes
    answer.extend_from_slice(&[0, 4, 127, 0, 0, 1]); // 4 bytes: 127.0.0.1
    Some(answer)
}
// ANCHOR_END: all
