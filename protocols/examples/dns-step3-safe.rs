//! Build it yourself, DNS step 3: a parser that cannot loop, TC, and TCP.
//!
//! What to notice: step 2's zone on tokio, with what it got wrong put right.
//! A compression pointer must jump *strictly backwards* from where the
//! current run of labels began, so every jump lands earlier and reading must
//! end; every byte is bounds-checked; a name has at most 255 bytes. A query
//! that breaks a rule gets `FORMERR` (RCODE 1) with its id; a message that
//! is itself a response gets nothing. An answer over 512 bytes goes over UDP
//! as the question alone with the TC bit, and the client asks again over
//! TCP on the same port, where each message has its length in two bytes in
//! front.
//!
//! Checker: passes stages 1-8, then fails stage 9 (CNAME, NS and SOA are the
//! lesson's server's).
//!
//! Try it: `cargo run -p protocols --example dns-step3-safe`, then
//! `dig @127.0.0.1 -p 1053 big.plants.test TXT +noedns`.

// ANCHOR: all
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

/// The largest UDP answer (RFC 1035 section 4.2.1).
const MAX_UDP_ANSWER: usize = 512;
/// The longest name, in bytes on the wire (section 2.3.4).
const MAX_NAME: usize = 255;

/// A TXT record's data: one string of 200 dots (a length byte, then the
/// bytes).
const LONG_TXT: [u8; 201] = {
    let mut data = [b'.'; 201];
    data[0] = 200;
    data
};

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
    // Three long strings: more than 512 bytes together.
    ("big.plants.test", 16, &LONG_TXT),
    ("big.plants.test", 16, &LONG_TXT),
    ("big.plants.test", 16, &LONG_TXT),
];

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "1053".to_string());
    let udp = UdpSocket::bind(format!("127.0.0.1:{port}")).await?;
    let addr = udp.local_addr()?;
    // The same port number over TCP: a separate port (lesson 2).
    let tcp = TcpListener::bind(addr).await?;
    println!("listening on dns://{addr}");
    tokio::spawn(serve_tcp(tcp));
    let udp = Arc::new(udp);
    let mut buf = vec![0u8; 65_535];
    loop {
        let (len, sender) = tokio::select! {
            received = udp.recv_from(&mut buf) => match received {
                Ok(received) => received,
                Err(_) => continue,
            },
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        if let Some(answer) = answer(&buf[..len], MAX_UDP_ANSWER) {
            let _ = udp.send_to(&answer, sender).await;
        }
    }
}

/// DNS over TCP: each message has its length, two bytes, in front.
async fn serve_tcp(listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let _ = serve_connection(stream).await;
        });
    }
}

async fn serve_connection(mut stream: TcpStream) -> std::io::Result<()> {
    loop {
        let length = match stream.read_u16().await {
            Ok(length) => usize::from(length),
            Err(_) => return Ok(()), // closed
        };
        let mut query = vec![0u8; length];
        stream.read_exact(&mut query).await?;
        if let Some(answer) = answer(&query, 65_535) {
            let mut framed = (answer.len() as u16).to_be_bytes().to_vec();
            framed.extend_from_slice(&answer);
            stream.write_all(&framed).await?;
        }
    }
}

/// Reads the name at `at`: lower case, and where it ended; `None` if it is
/// malformed. Pointers may only jump strictly backwards, so this ends.
fn read_name(message: &[u8], mut at: usize) -> Option<(String, usize)> {
    let mut labels: Vec<String> = Vec::new();
    let mut wire_len = 1; // the final zero
    let mut end = None;
    let mut run_start = at;
    loop {
        let length = *message.get(at)?;
        match length & 0xc0 {
            0xc0 => {
                let target = usize::from(length & 0x3f) << 8 | usize::from(*message.get(at + 1)?);
                if target >= run_start {
                    return None; // forwards, or to itself: a loop
                }
                end.get_or_insert(at + 2);
                (run_start, at) = (target, target);
            }
            0x00 if length == 0 => return Some((labels.join("."), end.unwrap_or(at + 1))),
            0x00 => {
                let label = message.get(at + 1..at + 1 + usize::from(length))?;
                wire_len += 1 + label.len();
                if wire_len > MAX_NAME {
                    return None;
                }
                labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
                at += 1 + label.len();
            }
            _ => return None, // label types 01 and 10 were never used
        }
    }
}

/// The answer to `query`, at most `limit` bytes; `None` for no answer.
fn answer(query: &[u8], limit: usize) -> Option<Vec<u8>> {
    let header = query.get(0..12)?;
    if header[2] & 0x80 != 0 {
        return None; // a response: answering it could start a loop
    }
    let parsed = read_name(query, 12).and_then(|(name, end)| {
        let qtype = u16::from_be_bytes([*query.get(end)?, *query.get(end + 1)?]);
        query.get(end + 2..end + 4)?; // the class
        Some((name, qtype, end + 4))
    });
    let mut answer = header[0..2].to_vec();
    let Some((name, qtype, question_end)) = parsed else {
        // FORMERR, with the id, so the client knows its query was at fault.
        answer.extend_from_slice(&[0x80 | (header[2] & 0x01), 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        return Some(answer);
    };
    let in_zone = name == "plants.test" || name.ends_with(".plants.test");
    let exists = ZONE.iter().any(|(owner, _, _)| *owner == name);
    let (rcode, flags) = match (in_zone, exists) {
        (false, _) => (5, 0x80),
        (true, false) => (3, 0x84),
        (true, true) => (0, 0x84),
    };
    let answers: Vec<_> = ZONE
        .iter()
        .filter(|(owner, kind, _)| *owner == name && *kind == qtype)
        .collect();
    answer.extend_from_slice(&[
        flags | (header[2] & 0x01),
        rcode,
        0,
        1,
        0,
        answers.len() as u8,
        0,
        0,
        0,
        0,
    ]);
    answer.extend_from_slice(&query[12..question_end]);
    for (_, kind, data) in answers {
        answer.extend_from_slice(&[0xc0, 0x0c]);
        answer.extend_from_slice(&kind.to_be_bytes());
        answer.extend_from_slice(&[0, 1]);
        answer.extend_from_slice(&300u32.to_be_bytes());
        answer.extend_from_slice(&(data.len() as u16).to_be_bytes());
        answer.extend_from_slice(data);
    }
    if answer.len() > limit {
        // Too big: the question alone, TC set, no answers.
        answer.truncate(question_end);
        answer[2] |= 0x02;
        answer[6..8].copy_from_slice(&[0, 0]);
    }
    Some(answer)
}
// ANCHOR_END: all
