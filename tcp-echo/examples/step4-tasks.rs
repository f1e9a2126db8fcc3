//! Build it yourself, step 4: a tokio task per client.
//!
//! What to notice: the same shape as step 3, with `tokio::spawn` for
//! `thread::spawn` and `.await` wherever the code waits (accept, read,
//! write). A task waiting for its client is its state (the 4 KiB buffer
//! and a few hundred bytes more) parked by tokio's runtime, with no stack
//! or thread of its own: a few threads serve every client.
//! `docs/src/async.md` explains what `.await` does.
//!
//! Checker: passes every stage.
//!
//! Try it: `cargo run -p tcp-echo --example step4-tasks`, then
//! `cargo run -p check -- tcp-echo 127.0.0.1:7007`.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// 4 KiB: one page of memory, plenty for what a person types; more
/// simply takes several reads.
const BUFFER_SIZE: usize = 4096;

// ANCHOR: main
#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "7007".to_string());
    let listener = TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("listening on tcp://{}", listener.local_addr()?);
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            Err(error) => {
                eprintln!("accept failed: {error}");
                continue;
            }
        };
        tokio::spawn(async move {
            if let Err(error) = echo(stream).await {
                eprintln!("connection ended: {error}");
            }
        });
    }
}

/// Echoes every byte until the client has finished sending.
async fn echo(mut stream: TcpStream) -> std::io::Result<()> {
    let mut buf = vec![0u8; BUFFER_SIZE];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(()); // the client finished sending; dropping `stream` closes ours
        }
        stream.write_all(&buf[..n]).await?;
    }
}
// ANCHOR_END: main
