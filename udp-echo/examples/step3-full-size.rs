//! Build it yourself, step 3: a buffer big enough for any datagram.
//!
//! What to notice: the only change from step 2 is the buffer's size. A UDP
//! payload over IPv4 is at most 65,507 bytes (65,535 for the IP packet,
//! minus 20 of IP header and 8 of UDP header), so a buffer that size never
//! cuts one. It lives on the heap (`vec!`) because 64 KiB is a lot to put
//! on a thread's stack. Lesson 2's server also asks for one byte more and
//! logs when it is filled, which would mean a datagram was cut.
//!
//! Checker: passes every stage.
//!
//! Try it: `cargo run -p udp-echo --example step3-full-size`, then
//! `cargo run -p check -- udp-echo 127.0.0.1:7007`.

use std::net::UdpSocket;

// ANCHOR: size
/// The largest UDP payload over IPv4.
const MAX_DATAGRAM: usize = 65_507;
// ANCHOR_END: size

fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "7007".to_string());
    let socket = UdpSocket::bind(format!("127.0.0.1:{port}"))?;
    println!("listening on udp://{}", socket.local_addr()?);
    // ANCHOR: buffer
    let mut buf = vec![0u8; MAX_DATAGRAM];
    // ANCHOR_END: buffer
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
}
