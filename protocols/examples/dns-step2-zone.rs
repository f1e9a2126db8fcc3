//! Build it yourself, DNS step 2: a zone, and the answers that say no.
//!
//! What to notice: the server now holds a zone, a table of names and their
//! records, and answers only for it: a name in the zone gets its records of
//! the type asked for (an empty answer if it has none: "NODATA"), a name
//! not in it `NXDOMAIN` (RCODE 3), a name outside `plants.test` `REFUSED`
//! (RCODE 5). Names are compared in lower case, but the question goes back
//! as it came.
//!
//! A shortcut, on purpose (step 3 removes it): RFC 1035 lets a name end
//! with a pointer anywhere, so this parser follows pointers, wherever they
//! point.
//!
//! Checker: passes stages 1-6, then fails stage 7 (the parser trusts pointers).
//!
//! Try it: `cargo run -p protocols --example dns-step2-zone`, then
//! `dig @127.0.0.1 -p 1053 www.plants.test AAAA +short`.

// ANCHOR: all
use std::net::UdpSocket;

/// The zone: (name, type, data). Type 1 is A, 28 AAAA, 16 TXT.
const ZONE: &[(&str, u16, &[u8])] = &[
    ("www.plants.test", 1, &[127, 0, 0, 1]),
    (
        "www.plants.test",
        28,
        &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    ),
    ("mail.plants.test", 1, &[127, 0, 0, 1]),
    ("plants.test", 16, b"\x19a zone built step by step"),
];

fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "1053".to_string());
    let socket = UdpSocket::bind(format!("127.0.0.1:{port}"))?;
    println!("listening on dns://{}", socket.local_addr()?);
    let mut buf = [0u8; 512];
    loop {
        let Ok((len, sender)) = socket.recv_from(&mut buf) else {
            continue;
        };
        let Some(answer) = answer(&buf[..len]) else {
            continue;
        };
        if let Err(error) = socket.send_to(&answer, sender) {
            eprintln!("reply to {sender} failed: {error}");
        }
    }
}

/// Reads the name at `at`, following pointers; returns it, lower case,
/// and where the name ended in the message.
fn read_name(message: &[u8], mut at: usize) -> Option<(String, usize)> {
    let mut labels: Vec<String> = Vec::new();
    let mut end = None;
    loop {
        let length = *message.get(at)?;
        if length & 0xc0 == 0xc0 {
            // A pointer: the rest of the name is at this offset.
            end.get_or_insert(at + 2);
            at = usize::from(length & 0x3f) << 8 | usize::from(*message.get(at + 1)?);
            continue;
        }
        if length == 0 {
            return Some((labels.join("."), end.unwrap_or(at + 1)));
        }
        let label = message.get(at + 1..at + 1 + usize::from(length))?;
        labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
        at += 1 + usize::from(length);
    }
}

fn answer(query: &[u8]) -> Option<Vec<u8>> {
    let (name, after_name) = read_name(query, 12)?;
    let qtype = u16::from_be_bytes([*query.get(after_name)?, *query.get(after_name + 1)?]);
    let question = query.get(12..after_name + 4)?;
    eprintln!("question: {name} type {qtype}");

    let in_zone = name == "plants.test" || name.ends_with(".plants.test");
    let records: Vec<&(&str, u16, &[u8])> =
        ZONE.iter().filter(|(owner, _, _)| *owner == name).collect();
    let (rcode, flags) = match (in_zone, records.is_empty()) {
        (false, _) => (5, 0x80),   // REFUSED: not our zone, not authoritative
        (true, true) => (3, 0x84), // NXDOMAIN, authoritative
        (true, false) => (0, 0x84),
    };
    let answers: Vec<_> = records
        .into_iter()
        .filter(|(_, kind, _)| *kind == qtype)
        .collect();

    let mut answer = Vec::with_capacity(128);
    answer.extend_from_slice(query.get(0..2)?);
    answer.push(flags | (query[2] & 0x01));
    answer.push(rcode);
    answer.extend_from_slice(&[0, 1, 0, answers.len() as u8, 0, 0, 0, 0]);
    answer.extend_from_slice(question);
    for (_, kind, data) in answers {
        answer.extend_from_slice(&[0xc0, 0x0c]); // the question's name
        answer.extend_from_slice(&kind.to_be_bytes());
        answer.extend_from_slice(&[0, 1]); // class IN
        answer.extend_from_slice(&300u32.to_be_bytes());
        answer.extend_from_slice(&(data.len() as u16).to_be_bytes());
        answer.extend_from_slice(data);
    }
    Some(answer)
}
// ANCHOR_END: all
