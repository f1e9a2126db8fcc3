//! Build lesson 3 yourself, step 2: route by path.
//!
//! What to notice: the first line of a request says what the client wants:
//! `GET /hello?name=x HTTP/1.1` is a method, a target and a version,
//! separated by single spaces (RFC 9112 section 3). Routing is a `match` on
//! the method and the path; the query string after `?` never picks the route.
//! A path we do not serve gets 404, and every response goes through one
//! function that writes the status line and headers, so none can forget
//! Content-Length. We still trust one `read` to hold the whole request.
//!
//! Try it: `cargo run -p http-raw --example step2-route`, then
//! `curl -i http://127.0.0.1:3000/nope` (404), then the checker: stages 1 and
//! 2 pass, stage 3 (headers) fails: there is no `/headers` yet, and a request
//! that arrives in two pieces is answered from the first piece alone.

use std::time::SystemTime;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // PORT=0 asks the OS for a free port (the tests use it).
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".to_string());
    let listener = TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("listening on http://{}", listener.local_addr()?);
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => {
                tokio::spawn(async move {
                    if let Err(error) = handle(stream).await {
                        eprintln!("connection failed: {error}");
                    }
                });
            }
            Err(error) => eprintln!("accept failed: {error}"),
        }
    }
}

// ANCHOR: handle
async fn handle(mut stream: TcpStream) -> std::io::Result<()> {
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).await?;
    let request = String::from_utf8_lossy(&buf[..n]);

    // The request line: METHOD SP TARGET SP VERSION.
    let first_line = request.lines().next().unwrap_or_default();
    let mut parts = first_line.split(' ');
    let method = parts.next().unwrap_or_default();
    let target = parts.next().unwrap_or_default();
    // `/hello?name=x` is the path `/hello`: cut at the first `?`.
    let path = target.split('?').next().unwrap_or_default();
    eprintln!("{method} {path}");

    let response = route(method, path);
    stream.write_all(&response).await?;
    stream.shutdown().await
}
// ANCHOR_END: handle

// ANCHOR: route
fn route(method: &str, path: &str) -> Vec<u8> {
    match (method, path) {
        ("GET", "/") => respond(200, "text/html; charset=utf-8", INDEX_PAGE),
        ("GET", "/hello") => respond(200, "text/plain; charset=utf-8", "Hello, world"),
        ("GET", "/seed-a-plant") => respond(200, "text/plain; charset=utf-8", "🌱 Plant seeded!"),
        _ => respond(404, "text/plain; charset=utf-8", "404 Not Found\n"),
    }
}

/// A whole response: status line, headers, empty line, body.
fn respond(status: u16, content_type: &str, body: &str) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        _ => "Not Found",
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\n\
         Date: {}\r\n\
         Content-Type: {content_type}\r\n\
         Content-Length: {}\r\n\
         Connection: close\r\n\
         \r\n\
         {body}",
        httpdate::fmt_http_date(SystemTime::now()),
        // Bytes, not characters: 🌱 is one character and four bytes.
        body.len(),
    )
    .into_bytes()
}
// ANCHOR_END: route

const INDEX_PAGE: &str = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>step 2</title></head>\n<body><h1>Hello from step 2</h1><p><a href=\"/hello\">/hello</a> <a href=\"/seed-a-plant\">/seed-a-plant</a></p></body></html>\n";
