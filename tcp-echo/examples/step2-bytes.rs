//! Build it yourself, step 2: echo bytes, not lines.
//!
//! What to notice: the only change from step 1 is `echo`. It reads whatever
//! bytes have arrived into a fixed buffer and writes all of them back, so
//! nothing is decoded, added or held back, and memory stays at one buffer
//! however much the client sends. A read of 0 bytes means the client has
//! finished sending (it closed, or half-closed with `shutdown`): we return,
//! which drops the stream and closes our side too. Still one client at a time.
//!
//! Checker: passes stages 1, 2, 4 and 5; fails stage 3 (5 clients at once).
//!
//! Try it: `cargo run -p tcp-echo --example step2-bytes`, then
//! `cargo run -p check -- tcp-echo 127.0.0.1:7007`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

/// 4 KiB: one page of memory, plenty for what a person types; more
/// simply takes several reads.
const BUFFER_SIZE: usize = 4096;

fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "7007".to_string());
    let listener = TcpListener::bind(format!("127.0.0.1:{port}"))?;
    println!("listening on tcp://{}", listener.local_addr()?);
    for connection in listener.incoming() {
        let stream = match connection {
            Ok(stream) => stream,
            Err(error) => {
                eprintln!("accept failed: {error}");
                continue;
            }
        };
        if let Err(error) = echo(stream) {
            eprintln!("connection ended: {error}");
        }
    }
    Ok(())
}

// ANCHOR: echo
/// Echoes every byte until the client has finished sending.
fn echo(mut stream: TcpStream) -> std::io::Result<()> {
    let mut buf = [0u8; BUFFER_SIZE];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(()); // the client finished sending; dropping `stream` closes ours
        }
        stream.write_all(&buf[..n])?;
    }
}
// ANCHOR_END: echo
