//! Build it yourself, step 2: a loop, so every datagram gets its echo.
//!
//! What to notice: the change from step 1 is a `loop`, and errors that
//! concern one datagram no longer end the server. No thread per client is
//! needed, because there are no connections: every client's datagrams
//! arrive at this one socket, each with its own sender address. But the
//! buffer is still 1024 bytes, and a longer datagram is cut to 1024 bytes by
//! the kernel without a word.
//!
//! Checker: passes stages 1, 2 and 4; fails stage 3 (65,507-byte datagrams).
//!
//! Try it: `cargo run -p udp-echo --example step2-loop`, then
//! `cargo run -p check -- udp-echo 127.0.0.1:7007`.

use std::net::UdpSocket;

/// 1024 bytes, as in many examples; step 3 shows why that is too small.
const BUFFER_SIZE: usize = 1024;

fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "7007".to_string());
    let socket = UdpSocket::bind(format!("127.0.0.1:{port}"))?;
    println!("listening on udp://{}", socket.local_addr()?);
    // ANCHOR: loop
    let mut buf = [0u8; BUFFER_SIZE];
    loop {
        let (len, sender) = match socket.recv_from(&mut buf) {
            Ok(received) => received,
            Err(error) => {
                eprintln!("receive failed: {error}");
                continue;
            }
        };
        if let Err(error) = socket.send_to(&buf[..len], sender) {
            eprintln!("reply to {sender} failed: {error}");
        }
    }
    // ANCHOR_END: loop
}
