//! Exercise: number the replies, counting separately for each sender.
//!
//! What to do: edit `reply_to` below so that the first datagram a sender
//! sends comes back as `1 ` followed by the datagram, its second as `2 `
//! followed by the datagram, and so on; another sender has its own count.
//! UDP has no connections, so the sender's address is the only way to tell
//! clients apart: keep the counts in `senders`. Two rules make it a real
//! server's code: remember at most `MAX_SENDERS` senders (forget them all
//! when a new one would be one too many), and never reply with more than
//! `MAX_DATAGRAM` bytes (cut the end of the datagram off to fit).
//!
//! Check yourself: `cargo test -p udp-echo --test exercises -- --ignored`
//! fails until `reply_to` is done. Try it by hand:
//! `cargo run -p udp-echo --example exercise-numbered`, then
//! `nc -u 127.0.0.1 7007`. Hint and solution: the book's "Build it
//! yourself" page for lesson 2 (the solution is
//! `examples/solutions/numbered.rs`).

use std::collections::HashMap;
use std::net::SocketAddr;

use tokio::net::UdpSocket;

/// The largest UDP payload over IPv4.
pub const MAX_DATAGRAM: usize = 65_507;

/// Any address can send us a datagram, so the map of counts needs a bound:
/// 1024 senders, about 50 KiB.
pub const MAX_SENDERS: usize = 1024;

// ANCHOR: reply_to
/// The reply to `datagram`, which came from `sender`: `N ` and the datagram,
/// where N counts the datagrams from `sender`, from 1.
pub fn reply_to(
    senders: &mut HashMap<SocketAddr, u64>,
    sender: SocketAddr,
    datagram: &[u8],
) -> Vec<u8> {
    // Your code here. As it is, the reply is the datagram: a plain echo.
    let _ = (senders, sender);
    datagram.to_vec()
}
// ANCHOR_END: reply_to

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "7007".to_string());
    let socket = UdpSocket::bind(format!("127.0.0.1:{port}")).await?;
    println!("listening on udp://{}", socket.local_addr()?);
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut senders = HashMap::new();
    loop {
        let (len, sender) = match socket.recv_from(&mut buf).await {
            Ok(received) => received,
            Err(error) => {
                eprintln!("receive failed: {error}");
                continue;
            }
        };
        let reply = reply_to(&mut senders, sender, &buf[..len]);
        if let Err(error) = socket.send_to(&reply, sender).await {
            eprintln!("reply to {sender} failed: {error}");
        }
    }
}
