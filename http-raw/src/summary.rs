//! How an HTTP connection ended: the end of its "connection closed" log line.
//!
//! What to notice: every way a connection can end is one variant, so the log
//! line says *why* (the client left between requests, a timeout, a refusal
//! and its status, ...), and nothing ends silently. Lesson 1's echo server
//! has the same idea in its own `summary.rs`.

use std::fmt;
use std::io;

use crate::error::HttpError;
use crate::handshake::HandshakeError;

/// Why a connection ended.
#[derive(Debug)]
pub enum End {
    /// The client closed the connection between requests.
    ClientClosed,
    /// No new request within the keep-alive timeout.
    IdleTimeout,
    /// The server is shutting down.
    Shutdown,
    /// A `Connection: close` (either side) or HTTP/1.0 without keep-alive:
    /// the last response said so, and the server closed.
    ConnectionClose,
    /// The request was refused with an error status.
    Refused(HttpError),
    /// The client closed the connection in the middle of a request.
    ClientGoneMidRequest,
    /// A read or write failed, e.g. the connection was reset.
    Failed(io::Error),
    /// The connection was handed to another protocol (WebSocket).
    Upgraded,
    /// HTTPS only: the TLS handshake did not complete (see `handshake.rs`).
    Handshake(HandshakeError),
}

impl fmt::Display for End {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            End::ClientClosed => f.write_str("client closed"),
            End::IdleTimeout => f.write_str("idle keep-alive timeout"),
            End::Shutdown => f.write_str("server shutting down"),
            End::ConnectionClose => f.write_str("Connection: close"),
            End::Refused(error) => write!(f, "refused with {}: {error}", error.status()),
            End::ClientGoneMidRequest => f.write_str("client closed in the middle of a request"),
            End::Failed(error) => write!(f, "{error}"),
            End::Upgraded => f.write_str("upgraded"),
            End::Handshake(error) => write!(f, "{error}"),
        }
    }
}

/// What one connection did, for the "connection closed" log line:
/// `3 requests, client closed`.
#[derive(Debug)]
pub struct ConnectionSummary {
    /// Requests answered.
    pub requests: u64,
    /// Why it ended.
    pub end: End,
}

impl fmt::Display for ConnectionSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} requests, {}", self.requests, self.end)
    }
}
