//! Build lesson 3 yourself, step 3: read the whole head, parse it with httparse.
//!
//! What to notice: TCP delivers a stream of bytes, not messages, so one
//! `read` may hold half a request or two of them. We append reads to a
//! buffer until the head is complete (httparse says `Partial` until the empty
//! line `\r\n\r\n` has arrived), and cap the buffer: a client that never
//! sends the empty line must not make us buffer forever (431). httparse
//! checks the syntax we would otherwise get wrong by hand; anything it
//! refuses gets 400. The parsed request is a struct, and `/headers` shows it.
//!
//! Try it: `cargo run -p http-raw --example step3-headers`, then
//! `curl -i http://127.0.0.1:3000/headers`, then the checker: stages 1 to 3
//! pass, stage 4 (body) fails: there is no `POST /echo` yet.

// ANCHOR: top
use std::time::SystemTime;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The largest request head we take, checked as it arrives and once it is
/// complete: a client that sends more gets 431 instead of our memory.
const MAX_HEAD: usize = 8 * 1024;

/// Most header lines we parse (httparse fills a fixed array).
const MAX_HEADERS: usize = 64;

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
// ANCHOR_END: top

// ANCHOR: request
/// A request as we parsed it.
struct Request {
    method: String,
    /// As sent: `/hello?name=x`.
    target: String,
    /// The target without the query: `/hello`.
    path: String,
    /// 1 for HTTP/1.1, 0 for HTTP/1.0.
    version: u8,
    headers: Vec<(String, Vec<u8>)>,
}
// ANCHOR_END: request

// ANCHOR: handle
async fn handle(mut stream: TcpStream) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let response = match read_request(&mut stream, &mut buf).await {
        Ok(request) => route(&request),
        Err(ReadError::Refuse(status)) => {
            Response::text(status, "Your request could not be read.\n")
        }
        Err(ReadError::Gone) => return Ok(()),
    };
    stream.write_all(&response.to_bytes()).await?;
    stream.shutdown().await
}
// ANCHOR_END: handle

// ANCHOR: read_request
/// Why no request came out of the bytes.
enum ReadError {
    /// They are not a request we accept: answer with this status and close.
    Refuse(u16),
    /// The connection closed or failed: there is nobody to answer.
    Gone,
}

impl From<std::io::Error> for ReadError {
    fn from(_: std::io::Error) -> ReadError {
        ReadError::Gone
    }
}

/// Reads until the head is complete, and parses it.
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<Request, ReadError> {
    loop {
        let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Request::new(&mut slots);
        match parsed.parse(buf) {
            Ok(httparse::Status::Complete(head_len)) => {
                if head_len > MAX_HEAD {
                    return Err(ReadError::Refuse(431));
                }
                let target = parsed.path.unwrap_or_default().to_string();
                return Ok(Request {
                    method: parsed.method.unwrap_or_default().to_string(),
                    path: target.split('?').next().unwrap_or_default().to_string(),
                    target,
                    version: parsed.version.unwrap_or(1),
                    headers: parsed
                        .headers
                        .iter()
                        .map(|header| (header.name.to_string(), header.value.to_vec()))
                        .collect(),
                });
            }
            // Not all here yet: read more, below.
            Ok(httparse::Status::Partial) => {}
            Err(httparse::Error::TooManyHeaders) => return Err(ReadError::Refuse(431)),
            Err(_) => return Err(ReadError::Refuse(400)),
        }
        if buf.len() > MAX_HEAD {
            return Err(ReadError::Refuse(431));
        }
        read_more(stream, buf).await?;
    }
}

/// Appends what the next read brings; the connection ending here, in the
/// middle of a request, is an error.
async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(), ReadError> {
    let mut chunk = [0u8; 4096];
    match stream.read(&mut chunk).await? {
        0 => Err(ReadError::Gone),
        n => {
            buf.extend_from_slice(&chunk[..n]);
            Ok(())
        }
    }
}
// ANCHOR_END: read_request

// ANCHOR: route
fn route(request: &Request) -> Response {
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/") => Response::html(200, INDEX_PAGE),
        ("GET", "/hello") => Response::text(200, "Hello, world"),
        ("GET", "/seed-a-plant") => Response::text(200, "🌱 Plant seeded!"),
        ("GET", "/headers") => Response::text(200, describe(request)),
        _ => Response::text(404, "404 Not Found\n"),
    }
}

/// The request line and headers, one per line.
fn describe(request: &Request) -> String {
    let mut text = format!(
        "{} {} HTTP/1.{}\n",
        request.method, request.target, request.version
    );
    for (name, value) in &request.headers {
        text.push_str(&format!("{name}: {}\n", String::from_utf8_lossy(value)));
    }
    text
}
// ANCHOR_END: route

// ANCHOR: response
struct Response {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

impl Response {
    fn text(status: u16, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8".into(),
            body: body.into(),
        }
    }

    fn html(status: u16, body: impl Into<Vec<u8>>) -> Response {
        Response {
            content_type: "text/html; charset=utf-8".into(),
            ..Response::text(status, body)
        }
    }

    fn to_bytes(&self) -> Vec<u8> {
        let reason = match self.status {
            200 => "OK",
            400 => "Bad Request",
            404 => "Not Found",
            431 => "Request Header Fields Too Large",
            _ => "",
        };
        let mut bytes = format!(
            "HTTP/1.1 {} {reason}\r\nDate: {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.status,
            httpdate::fmt_http_date(SystemTime::now()),
            self.content_type,
            self.body.len(),
        )
        .into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}
// ANCHOR_END: response

// ANCHOR: index
const INDEX_PAGE: &str = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>HTTP by hand</title></head>\n<body><h1>Hello from your own HTTP server</h1><p><a href=\"/headers\">/headers</a> shows what your browser sent.</p></body></html>\n";
// ANCHOR_END: index
