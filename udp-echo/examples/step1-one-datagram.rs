//! Build it yourself, step 1: receive one datagram, send it back, exit.
//!
//! What to notice: no `listen`, no `accept`. One socket is bound to a port,
//! and `recv_from` hands over the next datagram *and* the address it came
//! from; `send_to` replies to that address. That is the whole conversation.
//! This server answers once and exits, so the next datagram finds nothing
//! listening.
//!
//! Checker: passes stage 1; fails stages 2-4 (the server has exited).
//!
//! Try it: `cargo run -p udp-echo --example step1-one-datagram`, then
//! `nc -u 127.0.0.1 7007` and type a line.

// ANCHOR: all
use std::net::UdpSocket;

/// 1024 bytes, as in many examples; step 3 shows why that is too small.
const BUFFER_SIZE: usize = 1024;

// ANCHOR: main
fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "7007".to_string());
    let socket = UdpSocket::bind(format!("127.0.0.1:{port}"))?;
    println!("listening on udp://{}", socket.local_addr()?);
    let mut buf = [0u8; BUFFER_SIZE];
    let (len, sender) = socket.recv_from(&mut buf)?;
    eprintln!("{len} bytes from {sender}");
    socket.send_to(&buf[..len], sender)?;
    Ok(())
}
// ANCHOR_END: main
// ANCHOR_END: all
