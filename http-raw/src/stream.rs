//! `Stream`: one connection's bytes, over plain TCP or over TCP inside TLS.
//!
//! What to notice: the connection loop reads and writes a `Stream` and never
//! asks which kind it is. For `Plain`, a read is a read from the socket. For
//! `Tls`, rustls reads encrypted records from the socket, checks and decrypts
//! them, and hands back the plaintext: the same HTTP bytes a plain
//! connection would have carried. That is the whole point of HTTPS: the
//! parser, the body framing and keep-alive do not change at all.
//!
//! Why an enum and not a type parameter (`HttpConnection<S: AsyncRead +
//! AsyncWrite>`)? Both work. A type parameter would spread to everything that
//! touches the stream: `serve_connection`, `Upgraded`, and every program that
//! receives an upgraded connection (the chat), and would compile the whole
//! connection loop twice. The enum keeps every signature as it was, for the
//! price of one `match` per read or write, a branch that always goes the
//! same way on a given connection. The TLS state is boxed so that a plain
//! connection stays as small as it was before HTTPS existed.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

// ANCHOR: stream
/// A connection's byte stream: plain TCP, or TLS over TCP.
pub enum Stream {
    /// Plain HTTP: what we read is what the client sent.
    Plain(TcpStream),
    /// HTTPS: rustls decrypts what we read and encrypts what we write.
    Tls(Box<TlsStream<TcpStream>>),
}
// ANCHOR_END: stream

impl Stream {
    /// Completes when a read would find something: bytes on the socket, or,
    /// over TLS, plaintext rustls has already decrypted. Waiting this way
    /// needs no buffer, which is how an idle keep-alive connection holds
    /// none (see `wait_for_request`). Over TLS the socket may turn readable
    /// with only part of a record, or a record with no data for us (a
    /// session ticket's reply, `close_notify`); the read that follows then
    /// waits for the rest, or sees the end, as it should.
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Stream::Plain(stream) => stream.poll_read_ready(cx),
            Stream::Tls(stream) => {
                let (tcp, session) = stream.get_ref();
                // rustls wants no more bytes while it holds plaintext for us
                // (or has seen the end): a read would not wait.
                if !session.wants_read() {
                    return Poll::Ready(Ok(()));
                }
                tcp.poll_read_ready(cx)
            }
        }
    }
}

impl Stream {
    /// Writes as much of `bytes` as the socket takes right now, without
    /// waiting: 0 when it takes nothing. Plain TCP only: over TLS the bytes
    /// must go through rustls, so this writes nothing and the caller takes
    /// the usual (async) way.
    pub fn try_write(&self, bytes: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(stream) => match stream.try_write(bytes) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => Ok(0),
                written => written,
            },
            Stream::Tls(_) => Ok(0),
        }
    }
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stream::Plain(stream) => f.debug_tuple("Plain").field(stream).finish(),
            Stream::Tls(stream) => f.debug_tuple("Tls").field(stream.get_ref().0).finish(),
        }
    }
}

impl From<TcpStream> for Stream {
    fn from(stream: TcpStream) -> Stream {
        Stream::Plain(stream)
    }
}

// ANCHOR: async_read
// Each method passes the call to the stream inside. Both are `Unpin`, so
// `Pin::new` is all the pinning needed.
impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_read(cx, buf),
        }
    }
}
// ANCHOR_END: async_read

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(stream) => stream.is_write_vectored(),
            Stream::Tls(stream) => stream.is_write_vectored(),
        }
    }

    /// For TLS this matters: rustls may hold encrypted records that the
    /// socket did not take yet, and only a flush pushes them out.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(stream) => Pin::new(stream).poll_flush(cx),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(cx),
        }
    }

    /// For TLS, sends `close_notify` (RFC 8446 section 6.1) before the FIN,
    /// so the client can tell our end from a truncation by an attacker.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
        }
    }
}
