//! Step 1 of building the chat yourself: a WebSocket echo server.
//!
//! What to notice: this is lesson 1's echo server with one line changed.
//! `accept_async` reads the HTTP upgrade request, answers `101 Switching
//! Protocols` and returns a stream of *messages* instead of bytes; from then
//! on we just send back every text or binary message we get. Pings are
//! answered by tungstenite itself, and a close frame ends the stream.
//!
//! Shortcuts, named so you can find them again: tungstenite decides who may
//! upgrade (any path, any `Origin`), its default limits allow a 64 MiB
//! message, and an `accept` error ends the whole server. Later steps, and
//! then `src/`, fix each.
//!
//! Try it: `cargo run -p ws-chat --example step1-echo`, then
//! `websocat ws://127.0.0.1:8080/ws` and type a line: it comes back.
//! Then `cargo run -p check -- ws-chat 127.0.0.1:8080`.
//! Checker: passes stage 1; fails stages 2-7.

// ANCHOR: all
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Error as WsError;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "8080".to_string());
    let listener = TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, peer) = listener.accept().await?;
        tokio::spawn(async move {
            if let Err(error) = echo(stream).await {
                eprintln!("{peer}: {error}");
            }
        });
    }
}

// ANCHOR: echo
/// Upgrades one connection to a WebSocket and echoes its messages.
async fn echo(stream: TcpStream) -> Result<(), WsError> {
    let mut socket = tokio_tungstenite::accept_async(stream).await?;
    while let Some(message) = socket.next().await {
        let message = message?;
        if message.is_text() || message.is_binary() {
            socket.send(message).await?;
        }
    }
    Ok(())
}
// ANCHOR_END: echo
// ANCHOR_END: all
