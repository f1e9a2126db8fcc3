//! Build it yourself, step 1: an echo server that reads lines of text.
//!
//! What to notice: this is what most people write first, and it looks
//! right in `nc`: type a line, it comes back. But TCP carries bytes, not
//! lines of text. `lines()` fails on bytes that are not UTF-8 (which ends the
//! connection), drops the `\r` of `\r\n`, adds a `\n` the client never sent,
//! and holds a line until its newline comes. And `for connection in incoming`
//! serves one client at a time.
//!
//! Checker: passes stage 1; fails stages 2-5 (`--all` shows each).
//!
//! Try it: `cargo run -p tcp-echo --example step1-lines`, then
//! `cargo run -p check -- tcp-echo 127.0.0.1:7007`.

// ANCHOR: all
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};

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
        if let Err(error) = echo(stream) {
            eprintln!("connection ended: {error}");
        }
    }
    Ok(())
}
// ANCHOR_END: main

// ANCHOR: echo
/// Echoes line by line until the client closes, or sends something that is
/// not UTF-8 (then `?` ends this connection with an error).
fn echo(stream: TcpStream) -> std::io::Result<()> {
    let mut writer = stream.try_clone()?;
    for line in BufReader::new(stream).lines() {
        let line = line?;
        writeln!(writer, "{line}")?;
    }
    Ok(())
}
// ANCHOR_END: echo
// ANCHOR_END: all
