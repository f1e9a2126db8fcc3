//! The checkers' hand-written HTTP client: exact bytes out, exact bytes back.
//!
//! What to notice: the checker does not use an HTTP library, because it must
//! see what a library would hide: a missing `Content-Length`, a body that runs
//! into the next response, a connection that stays open when it should close.
//! Every exchange keeps the bytes it sent and the bytes that came back, so a
//! failed check can quote both. Blocking `std` sockets with read timeouts are
//! enough here: the checker is one client, and the concurrency it needs
//! (several connections open at once) is a handful of sockets in one thread.
//! [`blocking`] runs such a stage on tokio's blocking pool for the runner
//! (`runner.rs`), which prints the report and picks the exit status. Lessons
//! 3 and 4 (`lessons/http_raw.rs`, `lessons/http_server.rs`) use it.

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::escape::push_escaped;
use crate::runner::{self, StageFuture};
use crate::target;

/// The most response bytes the checker reads for one response: far more than
/// any stage needs, and a bound on what a runaway server can make it buffer.
pub const MAX_RESPONSE: usize = 4 * 1024 * 1024;

/// The largest response head the checker reads.
const MAX_RESPONSE_HEAD: usize = 64 * 1024;

/// How many bytes of a request or response a failure report shows; the rest
/// is summarised as a count.
const SHOW_BYTES: usize = 600;

/// The server under test, as the stages see it.
#[derive(Debug, Clone)]
pub struct Target {
    /// Where to connect.
    pub addr: SocketAddr,
    /// What to send as `Host`: the `host:port` the learner typed.
    pub host: String,
    /// How long to wait for any one thing the server should do.
    pub patience: Duration,
}

impl From<target::Target> for Target {
    fn from(target: target::Target) -> Target {
        Target {
            addr: target.addr(),
            host: target.authority,
            patience: target.timeout,
        }
    }
}

/// Runs a blocking `stage` on tokio's blocking pool, as a stage of the
/// shared runner.
pub fn blocking(target: &mut Target, stage: fn(&Target) -> Result<(), Failure>) -> StageFuture<'_> {
    let target = target.clone();
    Box::pin(async move {
        let addr = target.addr;
        match tokio::task::spawn_blocking(move || stage(&target)).await {
            Ok(result) => result.map_err(|failure| failure.into_report(addr)),
            Err(_) => Err(runner::Failure::new(
                "",
                "the stage to finish",
                "the stage stopped with a panic",
                "this is a bug in the checker, not in your server: please report it",
            )),
        }
    })
}

/// Why a check failed: what was sent, what was expected, what came back, and
/// what to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The request bytes the check sent.
    pub sent: Vec<u8>,
    /// What the server should have done, in words.
    pub expected: Box<str>,
    /// The bytes that came back.
    pub got: Vec<u8>,
    /// Said in words when there are no bytes to show (a timeout, a close).
    pub got_note: String,
    /// What to change in the server.
    pub hint: Box<str>,
    /// Set when the connection itself failed (`got_note` says how): before
    /// any stage has passed, that means nothing is listening at ADDR.
    pub refused: bool,
}

impl Failure {
    /// A failure with nothing to quote.
    pub fn new(expected: impl Into<String>, hint: impl Into<String>) -> Failure {
        Failure {
            sent: Vec::new(),
            expected: expected.into().into(),
            got: Vec::new(),
            got_note: String::new(),
            hint: hint.into().into(),
            refused: false,
        }
    }

    /// The runner's report: bytes escaped, notes in words.
    pub fn into_report(self, addr: SocketAddr) -> runner::Failure {
        let sent = if self.sent.is_empty() {
            "nothing".to_string()
        } else {
            quote(&self.sent)
        };
        let got = match (self.got.is_empty(), self.got_note.is_empty()) {
            (false, true) => quote(&self.got),
            (false, false) => format!("{} ({})", quote(&self.got), self.got_note),
            (true, false) => self.got_note,
            (true, true) => "nothing".to_string(),
        };
        if self.refused {
            runner::Failure::nothing_answering(addr, got, sent, self.hint)
        } else {
            runner::Failure::new(sent, self.expected, got, self.hint)
        }
    }
}

/// Bytes escaped the way Rust writes a byte string (`\r\n`, `\x00`), cut
/// after [`SHOW_BYTES`], with the length: `"HTTP/1.1 200 OK\r\n..." (123 bytes)`.
pub fn quote(bytes: &[u8]) -> String {
    let end = bytes.len().min(SHOW_BYTES);
    let mut text = String::from("\"");
    for &byte in &bytes[..end] {
        push_escaped(&mut text, byte);
    }
    text.push('"');
    if end < bytes.len() {
        text.push_str("...");
    }
    let _ = write!(text, " ({} bytes)", bytes.len());
    text
}

/// One response as it came off the wire.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names as sent; look them up with [`Response::header`].
    pub headers: Vec<(String, String)>,
    /// The body, with any chunked framing removed.
    pub body: Vec<u8>,
    /// True when no Content-Length or chunked framing said where the body
    /// ends, so it was read until the server closed the connection.
    pub ended_by_close: bool,
    /// The request bytes this response answers (for reports).
    pub sent: Vec<u8>,
    /// Every byte of this response (for reports).
    pub raw: Vec<u8>,
}

impl Response {
    /// The first header called `name`, in any case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Whether a header's comma-separated value list contains `token`.
    pub fn header_has(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(header, _)| header.eq_ignore_ascii_case(name))
            .flat_map(|(_, value)| value.split(','))
            .any(|item| item.trim().eq_ignore_ascii_case(token))
    }

    /// A failure about this response, quoting its exchange.
    pub fn fail(&self, expected: impl Into<String>, hint: impl Into<String>) -> Failure {
        Failure {
            sent: self.sent.clone(),
            expected: expected.into().into(),
            got: self.raw.clone(),
            got_note: String::new(),
            hint: hint.into().into(),
            refused: false,
        }
    }

    /// Fails unless the status is `status`.
    pub fn expect_status(&self, status: u16, expected: &str, hint: &str) -> Result<(), Failure> {
        if self.status == status {
            Ok(())
        } else {
            Err(self.fail(expected, hint))
        }
    }
}

/// One connection to the server under test.
pub struct Conn {
    stream: TcpStream,
    patience: Duration,
    /// Bytes sent since the last response was read.
    sent: Vec<u8>,
    /// Bytes received and not yet part of a response (the start of the next
    /// one, when responses are pipelined).
    unread: Vec<u8>,
}

impl Conn {
    /// Connects, failing with `expected` in the report.
    pub fn open(target: &Target) -> Result<Conn, Failure> {
        let stream =
            TcpStream::connect_timeout(&target.addr, target.patience).map_err(|error| Failure {
                got_note: error.to_string(),
                refused: true,
                ..Failure::new(
                    "to connect",
                    "the server stopped accepting connections; did it crash? Look at its output",
                )
            })?;
        // Requests go out as written, not held back to be merged (Nagle).
        let _ = stream.set_nodelay(true);
        stream
            .set_read_timeout(Some(target.patience))
            .map_err(|error| Failure::new("to set a read timeout", error.to_string()))?;
        Ok(Conn {
            stream,
            patience: target.patience,
            sent: Vec::new(),
            unread: Vec::new(),
        })
    }

    /// Sends `bytes` now, in one write.
    pub fn send(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        self.sent.extend_from_slice(bytes);
        self.stream.write_all(bytes).map_err(|error| Failure {
            sent: self.sent.clone(),
            got_note: format!("sending failed: {error}"),
            ..Failure::new(
                "to send the request",
                "the server closed the connection before reading the request",
            )
        })
    }

    /// Sends `first`, waits `gap`, then sends `rest`: a slow network, as a
    /// server sees one. A server that assumes one read gives one whole
    /// request answers too early or not at all.
    pub fn send_in_two(&mut self, first: &[u8], gap: Duration, rest: &[u8]) -> Result<(), Failure> {
        self.send(first)?;
        std::thread::sleep(gap);
        self.send(rest)
    }

    /// Sends a request and reads its response.
    pub fn request(&mut self, bytes: &[u8], expected: &str) -> Result<Response, Failure> {
        self.send(bytes)?;
        self.read_response(false, expected)
    }

    /// Reads one response. `to_head`: it answers a HEAD request, so it has
    /// no body whatever its headers say (RFC 9110 section 9.3.2).
    pub fn read_response(&mut self, to_head: bool, expected: &str) -> Result<Response, Failure> {
        let sent = std::mem::take(&mut self.sent);
        let mut raw = std::mem::take(&mut self.unread);
        let fail = |raw: &[u8], note: String, hint: &str| Failure {
            sent: sent.clone(),
            got: raw.to_vec(),
            got_note: note,
            ..Failure::new(expected, hint)
        };
        // The head: up to the blank line.
        let (status, headers, head_len) = loop {
            match parse_head(&raw) {
                Ok(Some(head)) => break head,
                Ok(None) => {}
                Err(why) => {
                    return Err(fail(
                        &raw,
                        format!("not an HTTP response: {why}"),
                        "a response starts `HTTP/1.1 200 OK\\r\\n`, then header lines `Name: value\\r\\n`, then an empty line `\\r\\n` (RFC 9112 section 4)",
                    ));
                }
            }
            match self.fill(&mut raw) {
                Ok(true) => {}
                Ok(false) if raw.is_empty() => {
                    return Err(fail(
                        &raw,
                        "the connection closed with no response".into(),
                        "read the whole request before answering, and answer before closing",
                    ));
                }
                Ok(false) => {
                    return Err(fail(
                        &raw,
                        "the connection closed before the end of the head".into(),
                        "end the head with an empty line: \\r\\n\\r\\n",
                    ));
                }
                Err(note) => {
                    return Err(fail(
                        &raw,
                        note,
                        if raw.is_empty() {
                            "the server read the request but never answered; is it waiting for more bytes than were sent?"
                        } else {
                            "end the head with an empty line: \\r\\n\\r\\n"
                        },
                    ));
                }
            }
        };
        let mut response = Response {
            status,
            headers,
            body: Vec::new(),
            ended_by_close: false,
            sent: sent.clone(),
            raw: Vec::new(),
        };
        let mut rest = raw.split_off(head_len);
        // Which responses have a body, and how its end is found: RFC 9112
        // section 6.3.
        let no_body = to_head || status < 200 || status == 204 || status == 304;
        let chunked = response.header_has("transfer-encoding", "chunked");
        if no_body {
            // Whatever follows the head belongs to the next response.
            self.unread = rest;
        } else if chunked {
            loop {
                match decode_chunked(&rest) {
                    Ok(Some((body, used))) => {
                        response.body = body;
                        self.unread = rest.split_off(used);
                        break;
                    }
                    Ok(None) => {}
                    Err(why) => {
                        raw.extend_from_slice(&rest);
                        return Err(fail(
                            &raw,
                            why.into(),
                            "a chunked body is `SIZE-IN-HEX\\r\\nDATA\\r\\n` repeated, then `0\\r\\n\\r\\n` (RFC 9112 section 7.1)",
                        ));
                    }
                }
                if let Err(note) = self.fill_bounded(&mut rest, raw.len()) {
                    raw.extend_from_slice(&rest);
                    return Err(fail(&raw, note, "end a chunked body with `0\\r\\n\\r\\n`"));
                }
            }
        } else if let Some(length) = response.header("content-length") {
            let Ok(length) = length.trim().parse::<usize>() else {
                raw.extend_from_slice(&rest);
                return Err(fail(
                    &raw,
                    "Content-Length is not a number".into(),
                    "Content-Length is the body's length in bytes, in decimal digits",
                ));
            };
            if length > MAX_RESPONSE {
                raw.extend_from_slice(&rest);
                return Err(fail(
                    &raw,
                    format!("Content-Length {length} is more than the checker reads"),
                    "no stage asks for a body this large",
                ));
            }
            while rest.len() < length {
                if let Err(note) = self.fill_bounded(&mut rest, raw.len()) {
                    raw.extend_from_slice(&rest);
                    return Err(fail(
                        &raw,
                        format!(
                            "{note}; Content-Length said {length} bytes, {} came",
                            rest.len()
                        ),
                        "send exactly Content-Length bytes of body: count bytes, not characters",
                    ));
                }
            }
            self.unread = rest.split_off(length);
            response.body = rest;
        } else {
            // Neither: the body runs until the server closes (RFC 9112
            // section 6.3, rule 8), which a stage may refuse.
            loop {
                match self.fill_bounded(&mut rest, raw.len()) {
                    Ok(()) => {}
                    Err(note) if note == CLOSED => break,
                    Err(note) => {
                        raw.extend_from_slice(&rest);
                        return Err(fail(
                            &raw,
                            format!("{note}, and the head had no Content-Length"),
                            "say where the body ends: send `Content-Length: N` (N = the body's length in bytes) in the head",
                        ));
                    }
                }
            }
            response.ended_by_close = true;
            response.body = rest;
        }
        raw.extend_from_slice(&response.body);
        response.raw = raw;
        Ok(response)
    }

    /// Reads more into `buf`: `Ok(false)` at a clean close, `Err(note)` on a
    /// timeout, a reset or too many bytes.
    fn fill(&mut self, buf: &mut Vec<u8>) -> Result<bool, String> {
        if buf.len() > MAX_RESPONSE {
            return Err(format!("more than {MAX_RESPONSE} bytes"));
        }
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => Ok(false),
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                Ok(true)
            }
            Err(error) if is_timeout(&error) => Err(format!(
                "nothing more came within {} s",
                self.patience.as_secs_f32()
            )),
            Err(error) => Err(format!("reading failed: {error}")),
        }
    }

    /// Like `fill` for a body: a close is an error (`CLOSED`), and `before`
    /// bytes of head count toward the cap.
    fn fill_bounded(&mut self, buf: &mut Vec<u8>, before: usize) -> Result<(), String> {
        if before + buf.len() > MAX_RESPONSE {
            return Err(format!("more than {MAX_RESPONSE} bytes"));
        }
        match self.fill(buf)? {
            true => Ok(()),
            false => Err(CLOSED.to_string()),
        }
    }

    /// Waits for the server to close the connection. `Err(note)` says what
    /// happened instead.
    pub fn wait_closed(&mut self) -> Result<(), String> {
        if !self.unread.is_empty() {
            return Err(format!(
                "more bytes after the response: {}",
                quote(&self.unread)
            ));
        }
        let mut buf = [0u8; 1024];
        match self.stream.read(&mut buf) {
            Ok(0) => Ok(()),
            // A reset is a close too, if a rude one.
            Err(error) if !is_timeout(&error) => Ok(()),
            Err(_) => Err(format!(
                "the connection was still open {} s later",
                self.patience.as_secs_f32()
            )),
            Ok(n) => Err(format!(
                "more bytes after the response: {}",
                quote(&buf[..n])
            )),
        }
    }

    /// Closes our sending side (a TCP half-close).
    pub fn finish_sending(&mut self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Write);
    }
}

/// What `fill_bounded` says when the server closed.
const CLOSED: &str = "the connection closed";

fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// A response head: status, headers, and its length with the empty line.
type Head = (u16, Vec<(String, String)>, usize);

/// Parses a response head at the start of `bytes`: `Ok(None)` until its
/// empty line has arrived. Parsed by hand, strictly: the checker must see
/// exactly what a server sent, `\r\n` and all.
pub fn parse_head(bytes: &[u8]) -> Result<Option<Head>, String> {
    let Some(end) = find(bytes, b"\r\n\r\n") else {
        if find(bytes, b"\n\n").is_some() {
            return Err("lines end with \\n alone; HTTP lines end with \\r\\n".into());
        }
        if bytes.len() > MAX_RESPONSE_HEAD {
            return Err(format!(
                "no end of head in the first {MAX_RESPONSE_HEAD} bytes"
            ));
        }
        if !bytes.is_empty() && !b"HTTP/1.".starts_with(&bytes[..bytes.len().min(7)]) {
            return Err("it does not start with `HTTP/1.`".into());
        }
        return Ok(None);
    };
    let head = String::from_utf8_lossy(&bytes[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    // `HTTP/1.1 200 OK`: version, space, three digits, space, reason.
    let status = status_line
        .strip_prefix("HTTP/1.")
        .and_then(|rest| rest.get(2..5))
        .filter(|code| code.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("the status line {status_line:?} is not `HTTP/1.1 NNN Reason`"))?;
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .filter(|(name, _)| !name.is_empty() && !name.contains(' '))
            .ok_or_else(|| format!("the header line {line:?} is not `Name: value`"))?;
        headers.push((name.to_string(), value.trim().to_string()));
    }
    Ok(Some((status, headers, end + 4)))
}

/// Decodes a whole chunked body at the start of `bytes`: `Ok(None)` if more
/// bytes are needed, else the body and how many bytes it took.
pub fn decode_chunked(bytes: &[u8]) -> Result<Option<(Vec<u8>, usize)>, &'static str> {
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let Some(line_end) = find(&bytes[at..], b"\r\n") else {
            return Ok(None);
        };
        let line = &bytes[at..at + line_end];
        let size_text = line.split(|&b| b == b';').next().unwrap_or_default();
        let size = std::str::from_utf8(size_text)
            .ok()
            .and_then(|text| usize::from_str_radix(text.trim(), 16).ok())
            .ok_or("a chunk size line that is not a hex number")?;
        at += line_end + 2;
        if size == 0 {
            // Trailer lines, then the empty line.
            loop {
                let Some(end) = find(&bytes[at..], b"\r\n") else {
                    return Ok(None);
                };
                at += end + 2;
                if end == 0 {
                    return Ok(Some((body, at)));
                }
            }
        }
        if bytes.len() < at + size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&bytes[at..at + size]);
        if &bytes[at + size..at + size + 2] != b"\r\n" {
            return Err("chunk data not followed by \\r\\n");
        }
        at += size + 2;
    }
}

/// Where `needle` first occurs in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// `GET path` with the Host header and `extra` header lines.
pub fn get(target: &Target, path: &str, extra: &str) -> Vec<u8> {
    request(target, "GET", path, extra, b"")
}

/// A request with a Content-Length body (none when `body` is empty and the
/// method is not POST or PUT).
pub fn request(target: &Target, method: &str, path: &str, extra: &str, body: &[u8]) -> Vec<u8> {
    let length = if body.is_empty() && method != "POST" && method != "PUT" {
        String::new()
    } else {
        format!("Content-Length: {}\r\n", body.len())
    };
    let mut bytes = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\n{extra}{length}\r\n",
        target.host
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    bytes
}
