//! Build lesson 3 yourself, step 9: HTTP/1.0 and `Connection`, the last step.
//!
//! What to notice: who closes the connection, and when, is a conversation
//! (RFC 9112 section 9.3). HTTP/1.1 keeps it open unless the client says
//! `Connection: close`; HTTP/1.0 closes after each response unless the
//! client says `Connection: keep-alive`, and then the response must say
//! `Connection: keep-alive` too, or the client closes anyway. One function
//! now decides, for both versions.
//!
//! This is the last step: `src/` is the real thing, which adds a deadline
//! for a slow head (408), `Expect: 100-continue`, limits on every line,
//! pipelined responses gathered into one write, HTTPS, and graceful
//! shutdown.
//!
//! Try it: `cargo run -p http-raw --example step9-connection`, then
//! `curl -v --http1.0 -H 'Connection: keep-alive' http://127.0.0.1:3000/hello http://127.0.0.1:3000/hello`
//! (curl re-uses the connection), then the checker: every stage passes.

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

/// The longest request line we read (RFC 9112 section 3 asks every server
/// to take at least 8000 bytes); longer, 414.
const MAX_REQUEST_LINE: usize = 8000;

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
                stream.write_all(&response.to_bytes(true, false)).await?;
                return stream.shutdown().await;
            }
        };
        let keep_alive = keeps_alive(&request);
        let head_only = request.method == "HEAD";
        let mut response = route(&request);
        if keep_alive && request.version == 0 {
            // An HTTP/1.0 client closes unless we say we will not.
            response = response.with_header("Connection", "keep-alive");
        }
        stream
            .write_all(&response.to_bytes(!keep_alive, head_only))
            .await?;
        if !keep_alive {
            return stream.shutdown().await;
        }
    }
}

/// Whether the connection stays open after this request (RFC 9112 section
/// 9.3): HTTP/1.1 unless the client says `Connection: close`, HTTP/1.0 only
/// if it says `Connection: keep-alive`.
fn keeps_alive(request: &Request) -> bool {
    let says = |wanted: &str| {
        request.header("connection").is_some_and(|value| {
            String::from_utf8_lossy(value)
                .split(',')
                .any(|token| token.trim().eq_ignore_ascii_case(wanted))
        })
    };
    if request.version == 0 {
        says("keep-alive")
    } else {
        !says("close")
    }
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
        if request_line_len(buf) > MAX_REQUEST_LINE {
            return Err(ReadError::Refuse(414));
        }
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
                // HTTP/1.1 needs exactly one Host (RFC 9112 section 3.2).
                let hosts = request
                    .headers
                    .iter()
                    .filter(|(name, _)| name.eq_ignore_ascii_case("host"))
                    .count();
                if request.version == 1 && hosts != 1 {
                    return Err(ReadError::Refuse(400));
                }
                buf.drain(..head_len);
                return read_body(stream, buf, request).await.map(Some);
            }
            // Not all here yet: read more, below.
            Ok(httparse::Status::Partial) => {}
            Err(httparse::Error::TooManyHeaders) => return Err(ReadError::Refuse(431)),
            Err(httparse::Error::Version) if names_a_version(buf) => {
                return Err(ReadError::Refuse(505));
            }
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

/// The length of the request line so far, without its `\r\n`.
fn request_line_len(buf: &[u8]) -> usize {
    match buf.windows(2).position(|pair| pair == b"\r\n") {
        Some(end) => end,
        // Not ended yet: all of it is line, but for a last `\r`.
        None => buf.len() - usize::from(buf.last() == Some(&b'\r')),
    }
}

/// Whether the request line ends in a version, `HTTP/x.y`: one we do not
/// speak, since httparse refused it (505); anything else is garbage (400).
fn names_a_version(buf: &[u8]) -> bool {
    let line = buf.split(|&byte| byte == b'\r').next().unwrap_or_default();
    let words: Vec<&[u8]> = line.split(|&byte| byte == b' ').collect();
    words.len() == 3 && words[2].starts_with(b"HTTP/")
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
    // HEAD is answered as GET would be; `to_bytes` leaves the body out.
    let method = match request.method.as_str() {
        "HEAD" => "GET",
        method => method,
    };
    match (method, request.path.as_str()) {
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
            headers: Vec::new(),
            body: request.body.clone(),
        },
        // A path we serve, with a method it does not take.
        (_, "/" | "/hello" | "/seed-a-plant" | "/headers") => not_allowed("GET, HEAD"),
        (_, "/echo") => not_allowed("POST"),
        _ => Response::text(404, "404 Not Found\n"),
    }
}

/// 405, with the methods that would work (RFC 9110 section 15.5.6).
fn not_allowed(allow: &str) -> Response {
    Response::text(405, "405 Method Not Allowed\n").with_header("Allow", allow)
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
    /// Headers besides the four every response has (Date, Content-Type,
    /// Content-Length and, when closing, Connection).
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Response {
    fn text(status: u16, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8".into(),
            headers: Vec::new(),
            body: body.into(),
        }
    }

    fn html(status: u16, body: impl Into<Vec<u8>>) -> Response {
        Response {
            content_type: "text/html; charset=utf-8".into(),
            ..Response::text(status, body)
        }
    }

    fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Response {
        self.headers.push((name, value.into()));
        self
    }

    /// The response as bytes; `close` adds `Connection: close`, and
    /// `head_only` leaves out the body (its Content-Length stays).
    fn to_bytes(&self, close: bool, head_only: bool) -> Vec<u8> {
        let reason = match self.status {
            200 => "OK",
            400 => "Bad Request",
            404 => "Not Found",
            405 => "Method Not Allowed",
            413 => "Content Too Large",
            414 => "URI Too Long",
            431 => "Request Header Fields Too Large",
            501 => "Not Implemented",
            505 => "HTTP Version Not Supported",
            _ => "",
        };
        let mut head = format!(
            "HTTP/1.1 {} {reason}\r\nDate: {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n",
            self.status,
            httpdate::fmt_http_date(SystemTime::now()),
            self.content_type,
            self.body.len(),
        );
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if close {
            head.push_str("Connection: close\r\n");
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        if !head_only {
            bytes.extend_from_slice(&self.body);
        }
        bytes
    }
}
// ANCHOR_END: response

const INDEX_PAGE: &str = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>HTTP by hand</title></head>\n<body><h1>Hello from your own HTTP server</h1><p><a href=\"/headers\">/headers</a> shows what your browser sent.</p></body></html>\n";
