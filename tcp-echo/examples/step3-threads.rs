//! Build it yourself, step 3: a thread per client.
//!
//! What to notice: the only change from step 2 is in `main`: each
//! connection gets its own OS thread, so a client that sends nothing no
//! longer blocks the others. `move` gives the stream to the thread. The
//! cost: each thread has its own stack (2 MiB of address space for a Rust
//! thread, a little of it really used), and nothing limits how many we
//! start: 10,000 idle clients are 10,000 threads. Step 4 makes a waiting
//! client much cheaper.
//!
//! Checker: passes every stage.
//!
//! Try it: `cargo run -p tcp-echo --example step3-threads`, then
//! `nc 127.0.0.1 7007` in two terminals: both echo at once.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

/// 4 KiB: one page of memory, plenty for what a person types; more
/// simply takes several reads.
const BUFFER_SIZE: usize = 4096;

// ANCHOR: main
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
        thread::spawn(move || {
            if let Err(error) = echo(stream) {
                eprintln!("connection ended: {error}");
            }
        });
    }
    Ok(())
}
// ANCHOR_END: main

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
