//! Exercise: a shouting echo. Make `shout` turn letters into capitals.
//!
//! What to do: edit `shout` below so that every ASCII letter comes back as
//! a capital (`hello` -> `HELLO`) and every other byte (digits, `\r\n`,
//! `\x00`, bytes that are not UTF-8) comes back unchanged. The server
//! around it is step 4's, and calls `shout` on each chunk it reads.
//!
//! Check yourself: `cargo test -p tcp-echo --test exercises -- --ignored`
//! fails until `shout` is done. Try it by hand:
//! `cargo run -p tcp-echo --example exercise-shout`, then
//! `nc 127.0.0.1 7007`. Hint and solution: the book's "Build it yourself"
//! page for lesson 1 (the solution is `examples/solutions/shout.rs`).

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// 4 KiB: one page of memory, plenty for what a person types; more
/// simply takes several reads.
const BUFFER_SIZE: usize = 4096;

// ANCHOR: shout
/// Turns every ASCII letter in `bytes` into a capital, in place, and leaves
/// every other byte as it is.
pub fn shout(bytes: &mut [u8]) {
    // Your code here. As it is, nothing changes: a plain echo.
    let _ = bytes;
}
// ANCHOR_END: shout

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
            if let Err(error) = echo_shouting(stream).await {
                eprintln!("connection ended: {error}");
            }
        });
    }
}

/// Step 4's echo, with `shout` between the read and the write.
async fn echo_shouting(mut stream: TcpStream) -> std::io::Result<()> {
    let mut buf = vec![0u8; BUFFER_SIZE];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        shout(&mut buf[..n]);
        stream.write_all(&buf[..n]).await?;
    }
}
