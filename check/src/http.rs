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
use std::sync::Arc;
use std::time::Duration;

use crate::escape::push_escaped;
use crate::response_reader::{Framing, Malformed, ResponseReader};
use crate::runner::{self, StageFuture};
use crate::target;

/// The most response bytes the checker reads for one response: far more than
/// any stage needs, and a bound on what a runaway server can make it buffer.
pub const MAX_RESPONSE: usize = 4 * 1024 * 1024;

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
    /// For `https://`: the TLS settings and the name to check the
    /// certificate against.
    pub tls: Option<(Arc<rustls::ClientConfig>, String)>,
}

impl From<target::Target> for Target {
    fn from(target: target::Target) -> Target {
        Target {
            addr: target.addr(),
            patience: target.timeout,
            tls: target
                .tls
                .clone()
                .map(|config| (config, target.host().to_string())),
            host: target.authority,
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

    /// Whether the body came in chunks (`Transfer-Encoding: chunked`), so
    /// [`Response::body`] is decoded and differs from the raw bytes.
    pub fn chunked(&self) -> bool {
        self.header_has("transfer-encoding", "chunked")
    }

    /// A failure about this response, quoting its exchange: the raw bytes
    /// as they came, and for a chunked reply its body as decoded, labelled
    /// so, since the raw bytes still carry the chunk sizes.
    pub fn fail(&self, expected: impl Into<String>, hint: impl Into<String>) -> Failure {
        let got_note = if self.chunked() {
            format!("its body, decoded from the chunks: {}", quote(&self.body))
        } else {
            String::new()
        };
        Failure {
            sent: self.sent.clone(),
            expected: expected.into().into(),
            got: self.raw.clone(),
            got_note,
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

/// A byte stream to the server: plain TCP, or TLS over it.
trait Wire: Read + Write + Send {}
impl<T: Read + Write + Send> Wire for T {}

/// One connection to the server under test.
pub struct Conn {
    stream: Box<dyn Wire>,
    /// The TCP socket under `stream`, for a half-close.
    tcp: TcpStream,
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
        let tcp = stream
            .try_clone()
            .map_err(|error| Failure::new("to keep the socket", error.to_string()))?;
        let stream: Box<dyn Wire> = match &target.tls {
            None => Box::new(stream),
            Some((config, host)) => Box::new(tls_over(stream, config, host)?),
        };
        Ok(Conn {
            stream,
            tcp,
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
    /// no body whatever its headers say (RFC 9110 section 9.3.2). The bytes
    /// are read by the one response reader (`response_reader.rs`); this
    /// method adds the waiting, the bounds, and a report for each way a
    /// response can go wrong.
    pub fn read_response(&mut self, to_head: bool, expected: &str) -> Result<Response, Failure> {
        let sent = std::mem::take(&mut self.sent);
        let mut raw = std::mem::take(&mut self.unread);
        let fail = |raw: &[u8], note: String, hint: &str| Failure {
            sent: sent.clone(),
            got: raw.to_vec(),
            got_note: note,
            ..Failure::new(expected, hint)
        };
        let mut reader = ResponseReader::new(to_head);
        let mut closed = false;
        let parsed = loop {
            match reader.read(&raw, closed) {
                Ok(Some(parsed)) => break parsed,
                Ok(None) if closed => {
                    let (note, hint) = closed_early(&reader, &raw);
                    return Err(fail(&raw, note, hint));
                }
                Ok(None) => {}
                Err(malformed) => {
                    return Err(fail(
                        &raw,
                        malformed.to_string(),
                        malformed_hint(&malformed),
                    ));
                }
            }
            if let Some(Framing::Length(length)) = reader.framing() {
                if length > MAX_RESPONSE {
                    return Err(fail(
                        &raw,
                        format!("Content-Length {length} is more than the checker reads"),
                        "no stage asks for a body this large",
                    ));
                }
            }
            match self.fill(&mut raw) {
                Ok(true) => {}
                Ok(false) => closed = true,
                Err(note) => {
                    return Err(fail(
                        &raw,
                        stalled(&reader, &raw, note),
                        cut_short(&reader, &raw),
                    ));
                }
            }
        };
        // `raw` keeps the bytes as they came, chunk sizes and all; the
        // decoded body is `body`, and a report labels it as decoded.
        self.unread = raw.split_off(parsed.len);
        Ok(Response {
            status: parsed.status,
            headers: parsed.headers,
            body: parsed.body,
            ended_by_close: parsed.framing == Framing::UntilClose,
            sent: sent.clone(),
            raw,
        })
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
            // A server that closes without reading all we sent resets the
            // connection instead of closing it quietly (RFC 9293 section
            // 3.6): closed early all the same.
            Err(error) if is_reset(&error) => Ok(false),
            Err(error) => Err(format!("reading failed: {error}")),
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
        let _ = self.tcp.shutdown(std::net::Shutdown::Write);
    }
}

fn is_reset(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        // A TLS peer that closes without close_notify: closed all the same.
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::UnexpectedEof
    )
}

/// TLS over `stream`, the handshake done, the certificate checked against
/// `host`: a failed handshake is the stage's failure, in words.
fn tls_over(
    mut stream: TcpStream,
    config: &Arc<rustls::ClientConfig>,
    host: &str,
) -> Result<rustls::StreamOwned<rustls::ClientConnection, TcpStream>, Failure> {
    let handshake = |error: String| Failure {
        got_note: error,
        ..Failure::new(
            "a TLS handshake",
            "the TLS handshake failed: serve a certificate for this host, signed by the CA the checker trusts (the dev CA, or --ca FILE)",
        )
    };
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|error| handshake(format!("{host} is not a name for TLS: {error}")))?;
    let mut client = rustls::ClientConnection::new(Arc::clone(config), name)
        .map_err(|error| handshake(error.to_string()))?;
    while client.is_handshaking() {
        client
            .complete_io(&mut stream)
            .map_err(|error| handshake(error.to_string()))?;
    }
    Ok(rustls::StreamOwned::new(client, stream))
}

fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// The note when the read stopped early (a timeout, a reset, too many
/// bytes), saying how far the response got.
fn stalled(reader: &ResponseReader, raw: &[u8], note: String) -> String {
    match (reader.framing(), reader.head_len()) {
        (Some(Framing::Length(length)), Some(head)) => format!(
            "{note}; Content-Length said {length} bytes, {} came",
            raw.len() - head
        ),
        (Some(Framing::UntilClose), _) => format!("{note}, and the head had no Content-Length"),
        _ => note,
    }
}

/// The note and hint when the server closed before the response was whole.
fn closed_early(reader: &ResponseReader, raw: &[u8]) -> (String, &'static str) {
    match reader.framing() {
        None if raw.is_empty() => (
            "the connection closed with no response".into(),
            "read the whole request before answering, and answer before closing",
        ),
        None => (
            "the connection closed before the end of the head".into(),
            "end the head with an empty line: \\r\\n\\r\\n",
        ),
        Some(_) => (
            stalled(reader, raw, "the connection closed".into()),
            cut_short(reader, raw),
        ),
    }
}

/// The hint when a response stopped before it was whole: what the server
/// must send, for the part it was in.
fn cut_short(reader: &ResponseReader, raw: &[u8]) -> &'static str {
    match reader.framing() {
        None if raw.is_empty() => {
            "the server read the request but never answered; is it waiting for more bytes than were sent?"
        }
        None => "end the head with an empty line: \\r\\n\\r\\n",
        Some(Framing::Chunked) => "end a chunked body with `0\\r\\n\\r\\n`",
        Some(Framing::Length(_)) => {
            "send exactly Content-Length bytes of body: count bytes, not characters"
        }
        Some(Framing::UntilClose | Framing::Empty) => {
            "say where the body ends: send `Content-Length: N` (N = the body's length in bytes) in the head"
        }
    }
}

/// The hint for bytes that are not a response.
fn malformed_hint(malformed: &Malformed) -> &'static str {
    match malformed {
        Malformed::Head(_) => {
            "a response starts `HTTP/1.1 200 OK\\r\\n`, then header lines `Name: value\\r\\n`, then an empty line `\\r\\n` (RFC 9112 section 4)"
        }
        Malformed::Length => "Content-Length is the body's length in bytes, in decimal digits",
        Malformed::Chunked(_) => {
            "a chunked body is `SIZE-IN-HEX\\r\\nDATA\\r\\n` repeated, then `0\\r\\n\\r\\n` (RFC 9112 section 7.1)"
        }
    }
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
