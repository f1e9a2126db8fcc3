//! Build lesson 3 yourself, step 6: chunked request bodies.
//!
//! What to notice: a client that does not know its body's length up front
//! (a stream, a generated file) sends it chunked instead: `SIZE-IN-HEX\r\n`,
//! that many bytes, `\r\n`, again and again, until a chunk of size 0 and an
//! empty line (RFC 9112 section 7.1). The decoder reads exactly up to that
//! empty line, so the next request on the connection starts where it should.
//! A request with both Content-Length and chunked is refused: two framings
//! that disagree are how request smuggling starts.
//!
//! Try it: `cargo run -p http-raw --example step6-chunked`, then
//! `curl -H 'Transfer-Encoding: chunked' -d 'chunked text' http://127.0.0.1:3000/echo`,
//! then the checker: stages 1 to 8 pass, stage 9 (HEAD) fails.

use std::time::SystemTime;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The largest request head we take, checked as it arrives and once it is
/// complete: a client that sends more gets 431 instead of our memory.
const MAX_HEAD: usize = 8 * 1024;

/// Most header lines we parse (httparse fills a fixed array).
const MAX_HEADERS: usize = 64;

/// The largest body we accept. The whole body is held in memory, so this
/// is also the most memory one request can take; beyond it, 413.
const MAX_BODY: usize = 1024 * 1024;

/// The longest chunk-size line (or trailer line): a size is at most 16 hex
/// digits, the rest is room for extensions.
const MAX_LINE: usize = 1024;

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
    body: Vec<u8>,
}

impl Request {
    /// The first header called `name`, in any case (RFC 9110 section 5.1).
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_slice())
    }
}
// ANCHOR_END: request

// ANCHOR: handle
async fn handle(mut stream: TcpStream) -> std::io::Result<()> {
    // One buffer for the whole connection: bytes after one request are the
    // start of the next.
    let mut buf = Vec::new();
    loop {
        let request = match read_request(&mut stream, &mut buf).await {
            Ok(Some(request)) => request,
            // The client closed between requests: the normal end.
            Ok(None) | Err(ReadError::Gone) => return Ok(()),
            Err(ReadError::Refuse(status)) => {
                let response = Response::text(status, "Your request could not be read.\n");
                stream.write_all(&response.to_bytes(true)).await?;
                return stream.shutdown().await;
            }
        };
        let close = wants_close(&request);
        stream.write_all(&route(&request).to_bytes(close)).await?;
        if close {
            return stream.shutdown().await;
        }
    }
}

/// HTTP/1.1 keeps the connection unless the client says `Connection:
/// close` (RFC 9112 section 9.6). HTTP/1.0 closed after every response; we
/// keep that, and leave its `Connection: keep-alive` to step 9.
fn wants_close(request: &Request) -> bool {
    let says_close = request.header("connection").is_some_and(|value| {
        String::from_utf8_lossy(value)
            .split(',')
            .any(|token| token.trim().eq_ignore_ascii_case("close"))
    });
    request.version == 0 || says_close
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

/// Reads until the head is complete, and parses it. `Ok(None)`: the client
/// closed before sending any byte of a next request.
async fn read_request(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> Result<Option<Request>, ReadError> {
    loop {
        let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Request::new(&mut slots);
        match parsed.parse(buf) {
            Ok(httparse::Status::Complete(head_len)) => {
                if head_len > MAX_HEAD {
                    return Err(ReadError::Refuse(431));
                }
                let target = parsed.path.unwrap_or_default().to_string();
                let request = Request {
                    method: parsed.method.unwrap_or_default().to_string(),
                    path: target.split('?').next().unwrap_or_default().to_string(),
                    target,
                    version: parsed.version.unwrap_or(1),
                    headers: parsed
                        .headers
                        .iter()
                        .map(|header| (header.name.to_string(), header.value.to_vec()))
                        .collect(),
                    body: Vec::new(),
                };
                buf.drain(..head_len);
                return read_body(stream, buf, request).await.map(Some);
            }
            // Not all here yet: read more, below.
            Ok(httparse::Status::Partial) => {}
            Err(httparse::Error::TooManyHeaders) => return Err(ReadError::Refuse(431)),
            Err(_) => return Err(ReadError::Refuse(400)),
        }
        if buf.len() > MAX_HEAD {
            return Err(ReadError::Refuse(431));
        }
        let had_bytes = !buf.is_empty();
        match read_more(stream, buf).await {
            // A close with no byte of a request: the client is done.
            Err(ReadError::Gone) if !had_bytes => return Ok(None),
            result => result?,
        }
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

// ANCHOR: read_body
/// Reads the body Content-Length announces: exactly that many bytes. Bytes
/// after it stay in `buf`.
async fn read_body(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    mut request: Request,
) -> Result<Request, ReadError> {
    if let Some(coding) = request.header("transfer-encoding") {
        if !coding.eq_ignore_ascii_case(b"chunked") {
            // We cannot find the end of a body in a coding we do not know.
            return Err(ReadError::Refuse(501));
        }
        if request.header("content-length").is_some() {
            // Two framings: refuse rather than pick one (RFC 9112 section 6.1).
            return Err(ReadError::Refuse(400));
        }
        request.body = read_chunked(stream, buf).await?;
        return Ok(request);
    }
    let length = match request.header("content-length") {
        None => 0,
        Some(value) => std::str::from_utf8(value)
            .ok()
            .and_then(|text| text.trim().parse::<usize>().ok())
            .ok_or(ReadError::Refuse(400))?,
    };
    // Check the client's number before reading (or allocating) anything.
    if length > MAX_BODY {
        return Err(ReadError::Refuse(413));
    }
    while buf.len() < length {
        read_more(stream, buf).await?;
    }
    request.body = buf.drain(..length).collect();
    Ok(request)
}
// ANCHOR_END: read_body

// ANCHOR: read_chunked
/// Reads a chunked body, up to and including its final empty line.
async fn read_chunked(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    loop {
        let line = read_line(stream, buf).await?;
        // `1a;name=value`: the size, then extensions we may ignore.
        let size_text = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| ReadError::Refuse(400))?;
        if size == 0 {
            break;
        }
        // What the body would hold, compared with the limit (saturating:
        // `size` is the client's number, and may be near `usize::MAX`).
        if body.len().saturating_add(size) > MAX_BODY {
            return Err(ReadError::Refuse(413));
        }
        while buf.len() < size + 2 {
            read_more(stream, buf).await?;
        }
        if buf[size..size + 2] != *b"\r\n" {
            return Err(ReadError::Refuse(400));
        }
        body.extend(buf.drain(..size));
        buf.drain(..2);
    }
    // Trailer lines, read and ignored, then the empty line.
    let mut trailers = 0;
    loop {
        let line = read_line(stream, buf).await?;
        if line.is_empty() {
            return Ok(body);
        }
        trailers += line.len();
        if trailers > MAX_HEAD {
            return Err(ReadError::Refuse(431));
        }
    }
}

/// One line, without its `\r\n`.
async fn read_line(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<String, ReadError> {
    loop {
        if let Some(end) = buf.windows(2).position(|pair| pair == b"\r\n") {
            let line = String::from_utf8_lossy(&buf[..end]).into_owned();
            buf.drain(..end + 2);
            return Ok(line);
        }
        if buf.len() > MAX_LINE {
            return Err(ReadError::Refuse(400));
        }
        read_more(stream, buf).await?;
    }
}
// ANCHOR_END: read_chunked

// ANCHOR: route
fn route(request: &Request) -> Response {
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/") => Response::html(200, INDEX_PAGE),
        ("GET", "/hello") => Response::text(200, "Hello, world"),
        ("GET", "/seed-a-plant") => Response::text(200, "🌱 Plant seeded!"),
        ("GET", "/headers") => Response::text(200, describe(request)),
        ("POST", "/echo") => Response {
            status: 200,
            content_type: String::from_utf8_lossy(
                request
                    .header("content-type")
                    .unwrap_or(b"application/octet-stream"),
            )
            .into_owned(),
            body: request.body.clone(),
        },
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

    /// The response as bytes; `close` adds `Connection: close`.
    fn to_bytes(&self, close: bool) -> Vec<u8> {
        let reason = match self.status {
            200 => "OK",
            400 => "Bad Request",
            404 => "Not Found",
            413 => "Content Too Large",
            431 => "Request Header Fields Too Large",
            501 => "Not Implemented",
            _ => "",
        };
        let mut bytes = format!(
            "HTTP/1.1 {} {reason}\r\nDate: {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}\r\n",
            self.status,
            httpdate::fmt_http_date(SystemTime::now()),
            self.content_type,
            self.body.len(),
            if close { "Connection: close\r\n" } else { "" },
        )
        .into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}
// ANCHOR_END: response

const INDEX_PAGE: &str = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>HTTP by hand</title></head>\n<body><h1>Hello from your own HTTP server</h1><p><a href=\"/headers\">/headers</a> shows what your browser sent.</p></body></html>\n";
