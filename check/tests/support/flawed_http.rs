//! Deliberately flawed HTTP servers, for proving the checker fair.
//!
//! One small server that passes every stage of the checker, and a [`Flaw`]
//! for each stage that breaks exactly that stage with a mistake people really
//! make (no Content-Length, routing on the query string, trusting one read,
//! reading a body as text, ...). The checker's tests start it with each flaw
//! and assert the run stops at that stage, and that without a flaw it passes
//! everything, so each failure is the flaw's doing.
//!
//! Its request reader and response writer also serve lesson 4's flawed app
//! (`flawed_app.rs`). It reads requests with httparse, as a learner's server
//! would, and bodies with the checker's own chunked decoder.

use std::net::SocketAddr;
use std::time::SystemTime;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use check::response_reader::{decode_chunked, find};

/// One mistake, named for what the server gets wrong; the comment says which
/// stage catches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flaw {
    /// None: passes every stage.
    None,
    /// Stage 1: no Content-Length; the body ends when the connection closes.
    NoContentLength,
    /// Stage 2: routes on the whole target, so `/hello?x=1` is a 404.
    RoutesOnQueryString,
    /// Stage 3: takes the first read as the whole head.
    TrustsOneRead,
    /// Stage 4: decodes the body as UTF-8 text before echoing it.
    BodyAsText,
    /// Stage 5: serves one connection at a time.
    OneClientAtATime,
    /// Stage 6: closes every connection after one response.
    NoKeepAlive,
    /// Stage 7: ignores Transfer-Encoding: chunked (an empty body).
    IgnoresChunked,
    /// Stage 8: reads each request into a fresh buffer, losing pipelined ones.
    FreshBufferPerRequest,
    /// Stage 9: sends the body in answer to HEAD too.
    BodyOnHead,
    /// Stage 10: a 405 without an Allow header.
    NoAllowOn405,
    /// Stage 11: no limit on the body; waits for whatever Content-Length says.
    NoBodyLimit,
    /// Stage 12: keeps the connection open after `Connection: close`.
    IgnoresConnectionClose,
}

/// Every flaw with the stage that must catch it.
pub const FLAWS: &[(Flaw, usize)] = &[
    (Flaw::NoContentLength, 1),
    (Flaw::RoutesOnQueryString, 2),
    (Flaw::TrustsOneRead, 3),
    (Flaw::BodyAsText, 4),
    (Flaw::OneClientAtATime, 5),
    (Flaw::NoKeepAlive, 6),
    (Flaw::IgnoresChunked, 7),
    (Flaw::FreshBufferPerRequest, 8),
    (Flaw::BodyOnHead, 9),
    (Flaw::NoAllowOn405, 10),
    (Flaw::NoBodyLimit, 11),
    (Flaw::IgnoresConnectionClose, 12),
];

const MAX_REQUEST_LINE: usize = 8000;
const MAX_HEADER_SECTION: usize = 8 * 1024;
const MAX_BODY: usize = 1024 * 1024;
/// With `NoBodyLimit`, still some bound: this is a test.
const ANY_BODY: usize = 8 * 1024 * 1024;

/// Starts a server with `flaw` on 127.0.0.1:0, on the current runtime.
pub async fn start(flaw: Flaw) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            if flaw == Flaw::OneClientAtATime {
                serve(stream, flaw).await;
            } else {
                tokio::spawn(serve(stream, flaw));
            }
        }
    });
    addr
}

/// A request as read.
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The request target, query and all.
    pub target: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    /// The header fields, in order.
    pub headers: Vec<(String, String)>,
    /// The body, decoded.
    pub body: Vec<u8>,
}

impl Request {
    /// The first header called `name`, in any case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Whether `Connection` lists `token`.
    pub fn connection_has(&self, token: &str) -> bool {
        self.header("connection").is_some_and(|value| {
            value
                .split(',')
                .any(|item| item.trim().eq_ignore_ascii_case(token))
        })
    }
}

async fn serve(mut stream: TcpStream, flaw: Flaw) {
    let mut buf = Vec::new();
    loop {
        if flaw == Flaw::FreshBufferPerRequest {
            buf.clear();
        }
        let request = match read_request(&mut stream, &mut buf, flaw).await {
            Ok(Some(request)) => request,
            Ok(None) | Err(None) => return,
            Err(Some(status)) => {
                let _ = stream
                    .write_all(&response(status, &[], b"refused\n", true, false, flaw))
                    .await;
                return;
            }
        };
        let close = match flaw {
            Flaw::NoContentLength | Flaw::NoKeepAlive => true,
            Flaw::IgnoresConnectionClose => false,
            _ if request.minor_version == 0 => !request.connection_has("keep-alive"),
            _ => request.connection_has("close"),
        };
        let (status, extra, body) = route(&request, flaw);
        let keep_alive_1_0 = request.minor_version == 0 && !close;
        let mut bytes = response(status, &extra, &body, close, keep_alive_1_0, flaw);
        if request.method == "HEAD" && flaw != Flaw::BodyOnHead {
            bytes.truncate(bytes.len() - body.len());
        }
        if stream.write_all(&bytes).await.is_err() || close {
            return;
        }
    }
}

/// Reads one request from `stream` into `buf` (bytes after it stay there
/// for the next): `Ok(None)` at a clean close between requests,
/// `Err(Some(status))` to refuse it, `Err(None)` when the connection broke.
pub async fn read_request(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    flaw: Flaw,
) -> Result<Option<Request>, Option<u16>> {
    let mut reads = 0;
    let (mut request, head_len) = loop {
        let line_len = find(buf, b"\r\n").unwrap_or(buf.len());
        if line_len > MAX_REQUEST_LINE {
            return Err(Some(414));
        }
        let mut slots = [httparse::EMPTY_HEADER; 100];
        let mut parsed = httparse::Request::new(&mut slots);
        match parsed.parse(buf) {
            Ok(httparse::Status::Complete(len)) => {
                let request = Request {
                    method: parsed.method.unwrap_or_default().to_string(),
                    target: parsed.path.unwrap_or_default().to_string(),
                    minor_version: parsed.version.unwrap_or(1),
                    headers: parsed
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_string(),
                                String::from_utf8_lossy(h.value).into_owned(),
                            )
                        })
                        .collect(),
                    body: Vec::new(),
                };
                if len - line_len > MAX_HEADER_SECTION {
                    return Err(Some(431));
                }
                break (request, len);
            }
            Ok(httparse::Status::Partial) if flaw == Flaw::TrustsOneRead && reads > 0 => {
                return Err(Some(400));
            }
            Ok(httparse::Status::Partial) => {}
            Err(httparse::Error::Version) => return Err(Some(505)),
            Err(httparse::Error::TooManyHeaders) => return Err(Some(431)),
            Err(_) => return Err(Some(400)),
        }
        if buf.len() - line_len > MAX_HEADER_SECTION {
            return Err(Some(431));
        }
        if !read_more(stream, buf).await {
            return if buf.is_empty() { Ok(None) } else { Err(None) };
        }
        reads += 1;
    };
    buf.drain(..head_len);
    let hosts = request
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("host"))
        .count();
    if request.minor_version == 1 && hosts != 1 {
        return Err(Some(400));
    }
    if let Some(coding) = request.header("transfer-encoding") {
        if !coding.eq_ignore_ascii_case("chunked") {
            return Err(Some(501));
        }
        if request.header("content-length").is_some() {
            return Err(Some(400));
        }
        if flaw == Flaw::IgnoresChunked {
            return Ok(Some(request));
        }
        loop {
            match decode_chunked(buf) {
                Ok(Some((body, used))) => {
                    buf.drain(..used);
                    request.body = body;
                    return Ok(Some(request));
                }
                Ok(None) if buf.len() < MAX_BODY * 2 && read_more(stream, buf).await => {}
                _ => return Err(Some(400)),
            }
        }
    }
    let length = match request.header("content-length") {
        None => 0,
        Some(text) => text.trim().parse::<usize>().map_err(|_| Some(400))?,
    };
    let limit = if flaw == Flaw::NoBodyLimit {
        ANY_BODY
    } else {
        MAX_BODY
    };
    if length > limit {
        return Err(Some(413));
    }
    while buf.len() < length {
        if !read_more(stream, buf).await {
            return Err(None);
        }
    }
    request.body = buf.drain(..length).collect();
    Ok(Some(request))
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 8192];
    match stream.read(&mut chunk).await {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            true
        }
    }
}

/// Headers to add to a response.
pub type Extra = Vec<(&'static str, String)>;

fn route(request: &Request, flaw: Flaw) -> (u16, Extra, Vec<u8>) {
    let path = if flaw == Flaw::RoutesOnQueryString {
        request.target.as_str()
    } else {
        request.target.split('?').next().unwrap_or_default()
    };
    let text = |body: &str| {
        let extra = vec![("Content-Type", "text/plain; charset=utf-8".to_string())];
        (200, extra, body.as_bytes().to_vec())
    };
    let get = matches!(request.method.as_str(), "GET" | "HEAD");
    match path {
        "/" if get => (
            200,
            vec![("Content-Type", "text/html; charset=utf-8".to_string())],
            b"<!DOCTYPE html>\n<p>flawed</p>\n".to_vec(),
        ),
        "/hello" if get => text("Hello, world"),
        "/seed-a-plant" if get => text("🌱 Plant seeded!"),
        "/headers" if get => {
            let mut listing = format!(
                "{} {} HTTP/1.{}\n",
                request.method, request.target, request.minor_version
            );
            for (name, value) in &request.headers {
                listing.push_str(&format!("{name}: {value}\n"));
            }
            text(&listing)
        }
        "/echo" if request.method == "POST" => {
            let body = if flaw == Flaw::BodyAsText {
                String::from_utf8_lossy(&request.body)
                    .into_owned()
                    .into_bytes()
            } else {
                request.body.clone()
            };
            let extra = vec![("Content-Type", "application/octet-stream".to_string())];
            (200, extra, body)
        }
        "/" | "/hello" | "/seed-a-plant" | "/headers" | "/echo" => {
            let allow = if path == "/echo" { "POST" } else { "GET, HEAD" };
            let mut extra = vec![("Content-Type", "text/plain".to_string())];
            if flaw != Flaw::NoAllowOn405 {
                extra.push(("Allow", allow.to_string()));
            }
            (405, extra, b"method not allowed\n".to_vec())
        }
        _ => (
            404,
            vec![("Content-Type", "text/plain".to_string())],
            b"not found\n".to_vec(),
        ),
    }
}

/// A whole response: status line, Date, `extra` headers, Content-Length
/// (not for 1xx, 204 and 304, which have no body), Connection, body.
pub fn response(
    status: u16,
    extra: &[(&'static str, String)],
    body: &[u8],
    close: bool,
    keep_alive_1_0: bool,
    flaw: Flaw,
) -> Vec<u8> {
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nDate: {}\r\n",
        httpdate::fmt_http_date(SystemTime::now())
    );
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let bodiless = status < 200 || status == 204 || status == 304;
    if flaw != Flaw::NoContentLength && !bodiless {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    if close {
        head.push_str("Connection: close\r\n");
    } else if keep_alive_1_0 {
        head.push_str("Connection: keep-alive\r\n");
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}
