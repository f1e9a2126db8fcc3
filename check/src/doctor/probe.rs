//! One address, tried: does anything accept the connection, and does what
//! answers speak the protocol ADDR's scheme names?
//!
//! What to notice: each failure has its own signature on the wire. *Refused*
//! comes back at once (the machine answered the SYN with a reset: nothing
//! listens at that address). *Timed out* is silence (the SYN was dropped: a
//! firewall, or a listener whose queue is full because it never accepts).
//! *Reset* comes after connecting (the program accepted, then aborted).
//! And a server that speaks another protocol answers with the wrong first
//! bytes: `0x16 0x03` is TLS, `HTTP/` is plain HTTP.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::addr::{Addr, Scheme};
use super::tls_hello;
use crate::response_reader::{MAX_RESPONSE_HEAD, find};

/// How long a connection attempt may take. On loopback an answer (accept or
/// refuse) takes microseconds; silence for this long means the SYN was
/// dropped, and the kernel would keep retrying for a minute or more.
pub const CONNECT_PATIENCE: Duration = Duration::from_secs(3);

/// How long to wait for the first bytes of a reply once a request is sent.
pub const REPLY_PATIENCE: Duration = Duration::from_secs(3);

/// For a bare `host:port`: how long to listen for a greeting (SMTP and FTP
/// servers speak first) or an immediate close, before calling the
/// connection simply accepted.
const GREETING_PATIENCE: Duration = Duration::from_millis(500);

/// What one address did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The connection was refused: nothing listens at this address.
    Refused,
    /// No answer to the connection attempt within [`CONNECT_PATIENCE`].
    TimedOut,
    /// The attempt failed another way (no route, address not available).
    Failed(String),
    /// Connected; what the server answered.
    Connected(Answer),
}

/// What a connected server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// What ADDR's scheme expects; the text says what came back
    /// (`HTTP/1.1 200 OK`, `a TLS handshake`, ...).
    AsExpected(String),
    /// TLS, where plain HTTP (or WebSocket) was expected.
    TlsOnPlainPort,
    /// Plain HTTP, where TLS was expected; the status line it sent.
    PlainOnTlsPort(String),
    /// A WebSocket URL got an ordinary HTTP reply instead of `101`.
    NoUpgrade(String),
    /// The server reset the connection after accepting it.
    Reset,
    /// The server closed the connection without a word.
    Closed,
    /// Nothing came back within [`REPLY_PATIENCE`].
    Silent,
    /// Bytes that are not what the scheme expects; shown escaped.
    Other(String),
}

impl Outcome {
    /// Whether this is the answer ADDR's scheme expects.
    pub fn is_expected(&self) -> bool {
        matches!(self, Outcome::Connected(Answer::AsExpected(_)))
    }
}

/// Connects to `addr` and speaks `target`'s scheme.
pub fn probe(addr: SocketAddr, target: &Addr) -> Outcome {
    let stream = match connect(addr) {
        Ok(stream) => stream,
        Err(outcome) => return outcome,
    };
    Outcome::Connected(match target.scheme {
        Scheme::Tcp => greeting(stream),
        Scheme::Http => plain(stream, addr, &get_request(target), false),
        Scheme::Ws => plain(stream, addr, &upgrade_request(target), true),
        Scheme::Https | Scheme::Wss => tls(stream, addr, target),
    })
}

/// A connection to `addr`, or the outcome that stopped it.
pub fn connect(addr: SocketAddr) -> Result<TcpStream, Outcome> {
    match TcpStream::connect_timeout(&addr, CONNECT_PATIENCE) {
        Ok(stream) => Ok(stream),
        Err(error) => Err(match error.kind() {
            io::ErrorKind::ConnectionRefused => Outcome::Refused,
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Outcome::TimedOut,
            _ => Outcome::Failed(error.to_string()),
        }),
    }
}

/// `GET PATH` with `Connection: close`: the plainest request there is.
pub fn get_request(target: &Addr) -> Vec<u8> {
    format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        target.path,
        target.authority()
    )
    .into_bytes()
}

/// The WebSocket opening handshake's request (RFC 6455 §4.1), with the
/// RFC's own sample key.
fn upgrade_request(target: &Addr) -> Vec<u8> {
    format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        target.path,
        target.authority()
    )
    .into_bytes()
}

/// A bare TCP port: connected is the answer, unless the server greets,
/// closes or resets at once.
fn greeting(mut stream: TcpStream) -> Answer {
    let mut buf = [0; 512];
    match read_some(&mut stream, &mut buf, GREETING_PATIENCE) {
        Reply::Bytes(n) => Answer::AsExpected(format!(
            "connected; it spoke first: {}",
            crate::escape::show(first_line(&buf[..n]))
        )),
        Reply::Silent => Answer::AsExpected("connected".to_string()),
        Reply::Closed => Answer::Closed,
        Reply::Reset => Answer::Reset,
    }
}

/// HTTP, or with `upgrade` a WebSocket upgrade, on a plain port.
fn plain(mut stream: TcpStream, addr: SocketAddr, request: &[u8], upgrade: bool) -> Answer {
    let reply = match send_and_read_head(&mut stream, request) {
        Ok(reply) => reply,
        // Silence is not TLS (a TLS server rejects `GET` at its first byte).
        Err(Answer::Silent) => return Answer::Silent,
        Err(answer) => return unless_tls(addr, answer),
    };
    if tls_hello::looks_like_tls(&reply) {
        return Answer::TlsOnPlainPort;
    }
    let Some(status_line) = status_line(&reply) else {
        return Answer::Other(crate::escape::show(first_line(&reply)));
    };
    // Some TLS servers answer plain HTTP with a friendly 400 ("this is an
    // HTTPS port"): a 4xx earns a second look, with a TLS hello.
    if status_line
        .split(' ')
        .nth(1)
        .is_some_and(|code| code.starts_with('4'))
        && unless_tls(addr, Answer::Closed) == Answer::TlsOnPlainPort
    {
        return Answer::TlsOnPlainPort;
    }
    if upgrade && status_line.split(' ').nth(1) != Some("101") {
        Answer::NoUpgrade(status_line)
    } else {
        Answer::AsExpected(status_line)
    }
}

/// A TLS port: a ClientHello must get a TLS record back.
fn tls(mut stream: TcpStream, addr: SocketAddr, target: &Addr) -> Answer {
    match send_and_read_head(&mut stream, &tls_hello::client_hello(&target.host)) {
        Ok(reply) if tls_hello::looks_like_tls(&reply) => Answer::AsExpected(
            if reply[0] == 0x16 {
                "a TLS handshake (its ServerHello)"
            } else {
                "a TLS alert: it speaks TLS but refused the doctor's hello"
            }
            .to_string(),
        ),
        Ok(reply) => match status_line(&reply) {
            Some(status_line) => Answer::PlainOnTlsPort(status_line),
            None => Answer::Other(crate::escape::show(first_line(&reply))),
        },
        // Some plain servers close on the hello's binary bytes: ask plainly.
        Err(answer) => match exchange(addr, &get_request(target)) {
            Ok(reply) => match status_line(&reply) {
                Some(status_line) => Answer::PlainOnTlsPort(status_line),
                None => answer,
            },
            Err(_) => answer,
        },
    }
}

/// A plain request got no reply: does the port speak TLS? (A TLS server
/// may close, or reset, on bytes that are not a TLS record.)
fn unless_tls(addr: SocketAddr, answer: Answer) -> Answer {
    match exchange(addr, &tls_hello::client_hello("localhost")) {
        Ok(reply) if tls_hello::looks_like_tls(&reply) => Answer::TlsOnPlainPort,
        _ => answer,
    }
}

/// A new connection to `addr`, `request` sent, the reply's first bytes
/// (the whole head, for HTTP).
pub fn exchange(addr: SocketAddr, request: &[u8]) -> Result<Vec<u8>, Answer> {
    let mut stream = connect(addr).map_err(|_| Answer::Closed)?;
    send_and_read_head(&mut stream, request)
}

/// Sends `request`, then reads until the reply's head is complete, the
/// server closes, or [`REPLY_PATIENCE`] runs out with at least a byte in
/// hand.
fn send_and_read_head(stream: &mut TcpStream, request: &[u8]) -> Result<Vec<u8>, Answer> {
    if let Err(error) = stream.write_all(request) {
        return Err(if is_reset(&error) {
            Answer::Reset
        } else {
            Answer::Closed
        });
    }
    let deadline = Instant::now() + REPLY_PATIENCE;
    let mut reply = Vec::new();
    let mut buf = [0; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match read_some(stream, &mut buf, left) {
            Reply::Bytes(n) => reply.extend_from_slice(&buf[..n]),
            Reply::Silent | Reply::Closed if !reply.is_empty() => return Ok(reply),
            Reply::Silent => return Err(Answer::Silent),
            Reply::Closed => return Err(Answer::Closed),
            // A reset after a reply still leaves the reply to judge.
            Reply::Reset if !reply.is_empty() => return Ok(reply),
            Reply::Reset => return Err(Answer::Reset),
        }
        let enough = tls_hello::looks_like_tls(&reply)
            || find(&reply, b"\r\n\r\n").is_some()
            || reply.len() >= MAX_RESPONSE_HEAD;
        if enough {
            let _ = stream.shutdown(Shutdown::Both);
            return Ok(reply);
        }
    }
}

/// One read's result.
enum Reply {
    Bytes(usize),
    Silent,
    Closed,
    Reset,
}

/// One read, waiting at most `patience`.
fn read_some(stream: &mut TcpStream, buf: &mut [u8], patience: Duration) -> Reply {
    if patience.is_zero() || stream.set_read_timeout(Some(patience)).is_err() {
        return Reply::Silent;
    }
    match stream.read(buf) {
        Ok(0) => Reply::Closed,
        Ok(n) => Reply::Bytes(n),
        Err(error) if is_reset(&error) => Reply::Reset,
        Err(error)
            if matches!(
                error.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            Reply::Silent
        }
        Err(_) => Reply::Closed,
    }
}

/// Whether the peer reset the connection (RST), in any of the ways an OS says so.
fn is_reset(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

/// `HTTP/1.1 200 OK` when `reply` starts with an HTTP status line.
fn status_line(reply: &[u8]) -> Option<String> {
    reply
        .starts_with(b"HTTP/")
        .then(|| String::from_utf8_lossy(first_line(reply)).into_owned())
}

/// The bytes up to the first line end (at most 80), for a report line.
fn first_line(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(bytes.len())
        .min(80);
    &bytes[..end]
}
