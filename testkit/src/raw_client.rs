//! A raw HTTP client for tests: it sends exact bytes and reads responses
//! byte by byte, so a failing test can say exactly which byte was wrong.
//!
//! What to notice: it reads responses with the checker's own reader
//! (`check::response_reader`: Content-Length, chunked, no body for HEAD,
//! 1xx, 204 and 304) rather than trusting a library, so the tests and the
//! checkers read HTTP the same way; every read has a timeout.

use std::time::Duration;

use check::response_reader::{Framing, ResponseReader};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::in_process::InProcess;

/// How long a test waits for something that should happen.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A response as read off the wire.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// The status code.
    pub status: u16,
    /// The status line and headers, exactly as received.
    pub head: String,
    /// The header fields, name and value, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body, with any chunked framing removed.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The first header named `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The body as text (lossy UTF-8).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Whether the server said this is the connection's last response.
    pub fn says_close(&self) -> bool {
        self.header("connection")
            .is_some_and(|value| value.eq_ignore_ascii_case("close"))
    }
}

/// A client that writes exact bytes and parses responses itself.
pub struct RawClient {
    /// The connection, for tests that write or read past the helpers.
    pub stream: TcpStream,
    /// Bytes read but not yet consumed as a response.
    received: Vec<u8>,
}

impl RawClient {
    /// A client on an open connection.
    pub fn new(stream: TcpStream) -> RawClient {
        RawClient {
            stream,
            received: Vec::new(),
        }
    }

    /// Writes `bytes` as they are.
    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .await
            .expect("write to the server");
    }

    /// Sends `bytes` one byte at a time, each in its own write.
    pub async fn send_byte_by_byte(&mut self, bytes: &[u8]) {
        self.stream.set_nodelay(true).expect("nodelay");
        for byte in bytes {
            self.stream
                .write_all(&[*byte])
                .await
                .expect("write to the server");
            self.stream.flush().await.expect("flush");
        }
    }

    /// Reads more bytes; `false` at EOF.
    async fn fill(&mut self, what: &str) -> bool {
        let mut buf = [0u8; 8192];
        let n = tokio::time::timeout(PATIENCE, self.stream.read(&mut buf))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "waited {PATIENCE:?} for {what}; received so far: {}",
                    quote(&self.received)
                )
            })
            .unwrap_or(0);
        self.received.extend_from_slice(&buf[..n]);
        n > 0
    }

    /// Reads one whole response with the checker's response reader
    /// (`check::response_reader`). `head_request`: the response to HEAD has
    /// no body. A response that says neither Content-Length nor chunked
    /// fails the test at once: every server here frames its bodies.
    pub async fn read_response_to(&mut self, head_request: bool) -> RawResponse {
        let mut reader = ResponseReader::new(head_request);
        let parsed = loop {
            let parsed = reader
                .read(&self.received, false)
                .unwrap_or_else(|malformed| {
                    panic!("{malformed}; received: {}", quote(&self.received))
                });
            if let Some(parsed) = parsed {
                break parsed;
            }
            if reader.framing() == Some(Framing::UntilClose) {
                panic!(
                    "response has neither Content-Length nor chunked: {}",
                    quote(&self.received)
                );
            }
            let what = if reader.framing().is_none() {
                "a response head"
            } else {
                "the response body"
            };
            if !self.fill(what).await {
                panic!(
                    "connection closed before a complete response; received: {}",
                    quote(&self.received)
                );
            }
        };
        let head = String::from_utf8_lossy(&self.received[..parsed.head_len]).into_owned();
        self.received.drain(..parsed.len);
        RawResponse {
            status: parsed.status,
            head,
            headers: parsed.headers,
            body: parsed.body,
        }
    }

    /// Reads one whole response to a request other than HEAD.
    pub async fn read_response(&mut self) -> RawResponse {
        self.read_response_to(false).await
    }

    /// Sends `request` and reads one response.
    pub async fn exchange(&mut self, request: &[u8]) -> RawResponse {
        self.send(request).await;
        self.read_response().await
    }

    /// Waits for the server to close the connection; fails if more bytes come.
    pub async fn expect_closed(&mut self) {
        assert!(
            self.received.is_empty(),
            "expected the connection to close, but there are unread bytes: {}",
            quote(&self.received)
        );
        let mut buf = [0u8; 256];
        match tokio::time::timeout(PATIENCE, self.stream.read(&mut buf)).await {
            Err(_) => panic!("the server did not close the connection within {PATIENCE:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => {}
            Ok(Ok(n)) => panic!(
                "expected the connection to close, got more bytes: {}",
                quote(&buf[..n])
            ),
        }
    }

    /// Checks that the connection is still open and idle for `period`.
    pub async fn expect_open_for(&mut self, period: Duration) {
        let mut buf = [0u8; 256];
        if let Ok(read) = tokio::time::timeout(period, self.stream.read(&mut buf)).await {
            panic!("expected the connection to stay open and quiet, got {read:?}");
        }
    }
}

/// Bytes as an escaped string, so `\r\n` shows.
pub fn quote(bytes: &[u8]) -> String {
    format!("\"{}\"", bytes.escape_ascii())
}

/// Compares bytes and, on a difference, says where the first wrong byte is
/// and shows both sides around it.
pub fn assert_bytes_eq(expected: &[u8], got: &[u8], what: &str) {
    if expected == got {
        return;
    }
    let first_difference = expected
        .iter()
        .zip(got)
        .position(|(a, b)| a != b)
        .unwrap_or(expected.len().min(got.len()));
    let from = first_difference.saturating_sub(20);
    panic!(
        "{what}: first difference at byte {first_difference}\n  expected ...{}\n  got      ...{}\n  (expected {} bytes, got {})",
        quote(&expected[from..(first_difference + 20).min(expected.len())]),
        quote(&got[from.min(got.len())..(first_difference + 20).min(got.len())]),
        expected.len(),
        got.len()
    );
}

/// A minimal valid request for `path`, with `extra` header lines.
pub fn get(path: &str, extra: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n{extra}\r\n").into_bytes()
}

/// What a test does with an HTTP server running in this process.
pub trait HttpServerExt {
    /// A raw client connected to the server.
    fn client(&self) -> impl Future<Output = RawClient> + Send;

    /// `http://127.0.0.1:PORT` + `path`.
    fn url(&self, path: &str) -> String;
}

impl<T> HttpServerExt for InProcess<T> {
    fn client(&self) -> impl Future<Output = RawClient> + Send {
        let addr = self.addr;
        async move {
            let stream = tokio::time::timeout(PATIENCE, TcpStream::connect(addr))
                .await
                .expect("connect timed out")
                .expect("connect");
            RawClient::new(stream)
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}
