//! A raw HTTP client for tests: it sends exact bytes and reads responses
//! byte by byte, so a failing test can say exactly which byte was wrong.
//!
//! What to notice: it parses responses itself (Content-Length or chunked)
//! rather than trusting a library, and every read has a timeout.

use std::time::Duration;

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

    /// Reads one whole response (head, then a body by Content-Length or
    /// chunked). `head_request`: the response to HEAD has no body.
    pub async fn read_response_to(&mut self, head_request: bool) -> RawResponse {
        let head_end = loop {
            if let Some(at) = find(&self.received, b"\r\n\r\n") {
                break at + 4;
            }
            if !self.fill("a response head").await {
                panic!(
                    "connection closed before a complete response head; received: {}",
                    quote(&self.received)
                );
            }
        };
        let head = String::from_utf8(self.received[..head_end].to_vec()).unwrap_or_else(|_| {
            panic!(
                "response head is not UTF-8: {}",
                quote(&self.received[..head_end])
            )
        });
        self.received.drain(..head_end);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status = status_line
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "bad status line {status_line:?} in {}",
                    quote(head.as_bytes())
                )
            });
        let headers: Vec<(String, String)> = lines
            .filter(|line| !line.is_empty())
            .map(|line| {
                let (name, value) = line
                    .split_once(": ")
                    .unwrap_or_else(|| panic!("bad header line {line:?}"));
                (name.to_string(), value.to_string())
            })
            .collect();
        let mut response = RawResponse {
            status,
            head,
            headers,
            body: Vec::new(),
        };
        if head_request || status < 200 || status == 204 || status == 304 {
            return response;
        }
        if let Some(length) = response.header("content-length") {
            let length: usize = length.parse().expect("Content-Length is a number");
            while self.received.len() < length {
                if !self.fill("the response body").await {
                    panic!(
                        "connection closed after {} of {length} body bytes",
                        self.received.len()
                    );
                }
            }
            response.body = self.received.drain(..length).collect();
        } else if response.header("transfer-encoding") == Some("chunked") {
            response.body = self.read_chunked_body().await;
        } else {
            panic!(
                "response has neither Content-Length nor chunked: {}",
                response.head
            );
        }
        response
    }

    /// Reads one whole response to a request other than HEAD.
    pub async fn read_response(&mut self) -> RawResponse {
        self.read_response_to(false).await
    }

    async fn read_chunked_body(&mut self) -> Vec<u8> {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(at) = find(&self.received, b"\r\n") {
                    break at;
                }
                assert!(
                    self.fill("a chunk size").await,
                    "closed inside a chunked body"
                );
            };
            let size_line = String::from_utf8_lossy(&self.received[..line_end]).into_owned();
            let size = usize::from_str_radix(&size_line, 16)
                .unwrap_or_else(|_| panic!("bad chunk size line {size_line:?}"));
            self.received.drain(..line_end + 2);
            while self.received.len() < size + 2 {
                assert!(self.fill("chunk data").await, "closed inside a chunk");
            }
            assert_eq!(
                &self.received[size..size + 2],
                b"\r\n",
                "chunk not followed by CRLF"
            );
            body.extend(self.received.drain(..size));
            self.received.drain(..2);
            if size == 0 {
                return body;
            }
        }
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

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
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
