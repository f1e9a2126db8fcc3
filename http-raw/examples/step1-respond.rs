//! Build lesson 3 yourself, step 1: answer one request.
//!
//! What to notice: an HTTP server is a TCP server (lesson 1) that writes a
//! response in a fixed text format: a status line, header lines, an empty
//! line, the body, every line ending `\r\n` (RFC 9112 section 2.1). This step
//! does not even look at the request: whatever arrives gets `Hello, world`.
//! Content-Length tells the client where the body ends; without it the only
//! end a client can see is the connection closing. One `read` is assumed to
//! hold the whole request, which is true for curl on this machine and false
//! on a real network (step 3 fixes that).
//!
//! Try it: `cargo run -p http-raw --example step1-respond`, then
//! `curl -i http://127.0.0.1:3000/hello`, then
//! `cargo run -p check -- http-raw 127.0.0.1:3000`: stage 1 passes,
//! stage 2 (route) fails, because `/` gets `Hello, world` too.

// ANCHOR: all
use std::time::SystemTime;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// ANCHOR: main
#[tokio::main]
async fn main() -> std::io::Result<()> {
    // PORT=0 asks the OS for a free port (the tests use it).
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".to_string());
    let listener = TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("listening on http://{}", listener.local_addr()?);
    loop {
        match listener.accept().await {
            // One task per connection, as in lesson 1: a slow client holds
            // up only its own task.
            Ok((stream, _peer)) => {
                tokio::spawn(async move {
                    if let Err(error) = handle(stream).await {
                        eprintln!("connection failed: {error}");
                    }
                });
            }
            // Out of file descriptors, say: log it and keep accepting.
            Err(error) => eprintln!("accept failed: {error}"),
        }
    }
}
// ANCHOR_END: main

// ANCHOR: handle
async fn handle(mut stream: TcpStream) -> std::io::Result<()> {
    // One read, and we trust it holds the whole request. It usually does on
    // this machine; on a real network it may not (step 3).
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).await?;
    eprintln!("{}", String::from_utf8_lossy(&buf[..n]));

    let body = "Hello, world";
    let response = format!(
        "HTTP/1.1 200 OK\r\n\
         Date: {}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\n\
         Connection: close\r\n\
         \r\n\
         {body}",
        httpdate::fmt_http_date(SystemTime::now()),
        body.len(),
    );
    stream.write_all(response.as_bytes()).await?;
    // `Connection: close` above promised this.
    stream.shutdown().await
}
// ANCHOR_END: handle
// ANCHOR_END: all
