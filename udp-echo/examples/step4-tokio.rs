//! Build it yourself, step 4: tokio and Ctrl+C, the shape of lesson 2.
//!
//! What to notice: the loop of step 3 with `.await` on the receive and the
//! send, inside a `select!` that also waits for Ctrl+C, so the server stops
//! between two datagrams and says goodbye. UDP has nothing in flight to wait
//! for: once a reply is sent it is the network's business. This is lesson
//! 2's `server.rs` without its logging, truncation check and SIGTERM.
//!
//! Checker: passes every stage.
//!
//! Try it: `cargo run -p udp-echo --example step4-tokio`, send it something
//! with `nc -u 127.0.0.1 7007`, then press Ctrl+C.

use tokio::net::UdpSocket;

/// The largest UDP payload over IPv4.
const MAX_DATAGRAM: usize = 65_507;

// ANCHOR: main
#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "7007".to_string());
    let socket = UdpSocket::bind(format!("127.0.0.1:{port}")).await?;
    println!("listening on udp://{}", socket.local_addr()?);
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut echoed = 0u64;
    loop {
        let received = tokio::select! {
            received = socket.recv_from(&mut buf) => received,
            _ = tokio::signal::ctrl_c() => break,
        };
        let (len, sender) = match received {
            Ok(received) => received,
            Err(error) => {
                eprintln!("receive failed: {error}");
                continue;
            }
        };
        match socket.send_to(&buf[..len], sender).await {
            Ok(_) => echoed += 1,
            Err(error) => eprintln!("reply to {sender} failed: {error}"),
        }
    }
    eprintln!("stopped after echoing {echoed} datagrams");
    Ok(())
}
// ANCHOR_END: main
