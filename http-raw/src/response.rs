//! `Response`: what a handler returns. A status, headers, and a body.
//!
//! What to notice: the handler says *what* to send; it never writes to the
//! socket. The connection loop decides *how*: it adds `Date`, the framing
//! (`Content-Length`, or chunked for a stream of unknown length), and
//! `Connection: close` when the connection is about to end, and it drops the
//! body of a response to HEAD. Keeping those out of handlers' hands is what
//! keeps every response correctly framed.
//!
//! A response can also *upgrade* the connection (`on_upgrade`): after it is
//! sent, the connection stops speaking HTTP and its stream (TCP, or TLS over
//! TCP) is handed to a callback. That is how lesson 5 turns a request into a WebSocket.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;

use bytes::Bytes;
use futures_util::stream::Stream;
use tokio_util::sync::CancellationToken;

/// A header name or value: a `&'static str` or an owned `String`.
pub type HeaderText = Cow<'static, str>;

/// The chunks of a streamed body.
pub type ChunkStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// A response body.
pub enum Body {
    /// No body (`Content-Length: 0`).
    Empty,
    /// The whole body, in memory.
    Full(Bytes),
    /// A body produced piece by piece, e.g. a large file read as it is
    /// sent, so memory stays flat whatever its size. With a known `length`
    /// it is sent with Content-Length, otherwise chunked.
    Stream {
        /// The total length, if known in advance.
        length: Option<u64>,
        /// The pieces.
        chunks: ChunkStream,
    },
}

impl Body {
    /// The length, if known without reading the body.
    pub fn len(&self) -> Option<u64> {
        match self {
            Body::Empty => Some(0),
            Body::Full(bytes) => Some(bytes.len() as u64),
            Body::Stream { length, .. } => *length,
        }
    }

    /// Whether the body is known to be empty.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// The bytes of a `Full` body (empty for `Empty`, `None` for a stream).
    pub fn as_bytes(&self) -> Option<&Bytes> {
        static EMPTY: Bytes = Bytes::new();
        match self {
            Body::Empty => Some(&EMPTY),
            Body::Full(bytes) => Some(bytes),
            Body::Stream { .. } => None,
        }
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Empty => f.write_str("Empty"),
            Body::Full(bytes) => write!(f, "Full({} bytes)", bytes.len()),
            Body::Stream { length, .. } => write!(f, "Stream(length: {length:?})"),
        }
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Body {
        Body::Full(bytes)
    }
}

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Body {
        Body::Full(Bytes::from_static(text.as_bytes()))
    }
}

impl From<String> for Body {
    fn from(text: String) -> Body {
        Body::Full(Bytes::from(text))
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Body {
        Body::Full(Bytes::from(bytes))
    }
}

/// The connection, handed over after a `101 Switching Protocols` response.
#[derive(Debug)]
pub struct Upgraded {
    /// The connection's stream (plain TCP, or TLS for `wss://`); HTTP is
    /// over on it.
    pub stream: crate::stream::Stream,
    /// Bytes the client sent after the request that were already read into
    /// the HTTP buffer. They belong to the new protocol: read them first.
    pub read_ahead: Bytes,
    /// The client's address.
    pub peer: SocketAddr,
    /// Cancelled when the server starts shutting down.
    pub stopping: CancellationToken,
}

/// What to run with the connection after an upgrade.
pub(crate) type OnUpgrade =
    Box<dyn FnOnce(Upgraded) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// An HTTP response, built by a handler.
pub struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(HeaderText, HeaderText)>,
    pub(crate) body: Body,
    pub(crate) on_upgrade: Option<OnUpgrade>,
}

impl Response {
    /// A response with `status`, no headers and no body.
    pub fn new(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Body::Empty,
            on_upgrade: None,
        }
    }

    /// A `text/plain; charset=utf-8` response.
    pub fn text(status: u16, body: impl Into<Body>) -> Response {
        Response::new(status)
            .with_header("Content-Type", "text/plain; charset=utf-8")
            .with_body(body)
    }

    /// A `text/html; charset=utf-8` response.
    pub fn html(status: u16, body: impl Into<Body>) -> Response {
        Response::new(status)
            .with_header("Content-Type", "text/html; charset=utf-8")
            .with_body(body)
    }

    /// Adds a header (keeping any others of the same name).
    pub fn with_header(
        mut self,
        name: impl Into<HeaderText>,
        value: impl Into<HeaderText>,
    ) -> Response {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets a header, replacing any of the same name (any case).
    pub fn set_header(&mut self, name: impl Into<HeaderText>, value: impl Into<HeaderText>) {
        let name = name.into();
        self.headers
            .retain(|(existing, _)| !existing.eq_ignore_ascii_case(&name));
        self.headers.push((name, value.into()));
    }

    /// Replaces the body.
    pub fn with_body(mut self, body: impl Into<Body>) -> Response {
        self.body = body.into();
        self
    }

    /// Replaces the body of a response being reshaped in place (as
    /// `Service::error_response` does).
    pub fn set_body(&mut self, body: impl Into<Body>) {
        self.body = body.into();
    }

    /// Runs `on_upgrade` with the raw connection once this response (which
    /// should be `101 Switching Protocols`) has been sent.
    pub fn on_upgrade<F, Fut>(mut self, on_upgrade: F) -> Response
    where
        F: FnOnce(Upgraded) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.on_upgrade = Some(Box::new(move |upgraded| Box::pin(on_upgrade(upgraded))));
        self
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The first header named `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_ref())
    }

    /// Every header, in order.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers
            .iter()
            .map(|(name, value)| (name.as_ref(), value.as_ref()))
    }

    /// The body.
    pub fn body(&self) -> &Body {
        &self.body
    }

    /// Takes the body out, leaving `Body::Empty`.
    pub fn take_body(&mut self) -> Body {
        std::mem::replace(&mut self.body, Body::Empty)
    }

    /// Whether the response upgrades the connection.
    pub fn is_upgrade(&self) -> bool {
        self.on_upgrade.is_some()
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &self.body)
            .field("upgrade", &self.on_upgrade.is_some())
            .finish()
    }
}
