//! Your first server: std only, about twenty lines, answers a browser.
//!
//! What to notice: a server is a loop. Bind a port, wait for a connection
//! (`incoming`), read what the client sent, write an answer, close, wait for
//! the next one. The browser speaks HTTP, so we read its first line,
//! `GET /hello HTTP/1.1`, and answer in HTTP too: a status line, headers, a
//! blank line, the body. Shortcuts, named: one client at a time, the rest of
//! the request is never read, Ctrl+C kills it mid-answer. Lesson 1 fixes
//! each of these (`docs/src/first-server.md` says how).
//!
//! Try it: `cargo run -p tcp-echo --example first-server`, then open
//! <http://127.0.0.1:7878/hello>, or `curl http://127.0.0.1:7878/hello`.
//! Ctrl+C stops it.

// ANCHOR: all
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

/// A request line longer than this is not read further: a client that
/// never sends a newline cannot make us use all our memory.
const MAX_REQUEST_LINE: u64 = 8 * 1024;

fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "7878".to_string());
    let listener = TcpListener::bind(format!("127.0.0.1:{port}"))?;
    println!("listening on http://{}", listener.local_addr()?);
    for connection in listener.incoming() {
        let Ok(mut stream) = connection else { continue };
        let mut request_line = String::new();
        let mut reader = BufReader::new((&stream).take(MAX_REQUEST_LINE));
        if reader.read_line(&mut request_line).is_err() {
            continue; // not text, or the client went away: next one
        }
        let mut words = request_line.split_whitespace();
        let (method, url) = (words.next().unwrap_or("-"), words.next().unwrap_or("-"));
        println!("{method} {url}");
        let body = format!("Hello! You asked for {url}\n");
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(response.as_bytes()); // a client that left is no reason to stop
    }
    Ok(())
}
// ANCHOR_END: all
