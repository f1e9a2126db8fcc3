//! The TLS handshake that opens every HTTPS connection, before any HTTP.
//!
//! What to notice:
//! - It runs inside the connection's own task, never in the accept loop: a
//!   client that opens a connection and then sends nothing (or one byte a
//!   minute) holds up only itself.
//! - It has a deadline of its own, `HANDSHAKE_TIMEOUT` (3 s), shorter than
//!   the first request's head has (the header timeout, counted from
//!   accept). A stalled handshake is the TLS form of the slowloris attack
//!   the header timeout exists for, and a handshake has less to do than a
//!   head: a client that is there has finished it in a few round trips.
//! - Handshakes in progress share a budget (`handshake_budget.rs`): when it
//!   is full, the oldest makes room for the newest, so a flood of
//!   handshakes that never finish cannot lock real clients out.
//! - The first byte tells TLS from plain HTTP: every TLS connection opens
//!   with a handshake record, content type 22 (0x16, RFC 8446 section 5.1),
//!   while an HTTP request starts with a method such as `GET`. So the
//!   common mistake, `http://` to an HTTPS port, gets a `400` in clear text
//!   that says what went wrong, instead of a silent close (nginx does the
//!   same). Anything else that is not TLS is just closed.
//! - When the handshake is done, we log what was agreed: the TLS version,
//!   the cipher suite, the ALPN protocol, the name the client asked for
//!   (SNI), and whether it was a full handshake or a resumed session.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use rustls::server::ServerConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout, timeout_at};
use tokio_rustls::TlsAcceptor;
use tracing::debug;

use crate::handshake_budget::HandshakeBudget;
use crate::limits::{LINGER_BYTES, LINGER_TIME};
use crate::response::Response;
use crate::stream::Stream;
use crate::write::{ConnectionHeader, ResponseFraming, write_head};

/// The first byte of every TLS connection: a handshake record (RFC 8446
/// section 5.1, `ContentType handshake(22)`; the same in TLS 1.0 to 1.2).
pub const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// A TLS handshake must be done within 3 s of accept (or by the header
/// timeout, if that is sooner). It is one round trip in TLS 1.3 and two in
/// 1.2, plus a signature: a few milliseconds here, well under a second
/// across the world, two on a poor mobile link. A handshake still going
/// after 3 s is stalled, and it holds a connection slot and a place in the
/// handshake budget while it waits.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3);

/// What the plain-HTTP client on the HTTPS port reads.
const PLAIN_HTTP_ANSWER: &str =
    "400 Bad Request: this port speaks HTTPS (HTTP inside TLS); use https:// instead of http://\n";

/// What every HTTPS connection's handshake needs: the TLS configuration,
/// its deadline, and the budget the handshakes in progress share.
#[derive(Debug)]
pub struct Handshakes {
    /// Certificate, key, versions, ALPN (`tls.rs`).
    pub config: Arc<ServerConfig>,
    /// How long after accept a handshake may take (`HANDSHAKE_TIMEOUT`).
    pub timeout: Duration,
    /// The handshakes in progress (`handshake_budget.rs`).
    pub budget: Arc<HandshakeBudget>,
}

impl Handshakes {
    /// Handshakes with `config` and `timeout`, for a server with
    /// `max_connections` slots.
    pub fn new(config: Arc<ServerConfig>, timeout: Duration, max_connections: usize) -> Handshakes {
        Handshakes {
            config,
            timeout,
            budget: Arc::new(HandshakeBudget::new(max_connections)),
        }
    }
}

/// Why a connection ended before its TLS handshake was done.
#[derive(Debug)]
pub enum HandshakeError {
    /// Not done within `HANDSHAKE_TIMEOUT` (or the header timeout).
    TimedOut,
    /// Ended to make room: the budget of handshakes in progress was full,
    /// and this was the oldest one.
    MadeRoom,
    /// The client closed the connection before or during the handshake.
    ClientClosed,
    /// The client spoke plain HTTP; it got a 400 in clear text.
    PlainHttp,
    /// The client sent something that is neither TLS nor HTTP.
    NotTls,
    /// The handshake failed: no protocol or cipher in common, the client
    /// rejected our certificate (its alert tells why), a malformed message.
    Failed(io::Error),
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::TimedOut => f.write_str("TLS handshake not done in time"),
            HandshakeError::MadeRoom => f.write_str(
                "TLS handshake ended to make room: the oldest of a full budget of handshakes in progress",
            ),
            HandshakeError::ClientClosed => f.write_str("client closed during the TLS handshake"),
            HandshakeError::PlainHttp => {
                f.write_str("plain HTTP on the HTTPS port: answered 400 in clear text")
            }
            HandshakeError::NotTls => f.write_str("not TLS: closed"),
            HandshakeError::Failed(error) => write!(f, "TLS handshake failed: {error}"),
        }
    }
}

impl std::error::Error for HandshakeError {}

// ANCHOR: accept_tls
/// Does the server's side of the TLS handshake on `stream` (connection
/// number `id`), within the handshake timeout and before `head_deadline`,
/// and within the budget of handshakes in progress. Returns the stream that
/// encrypts and decrypts.
pub async fn accept_tls(
    stream: TcpStream,
    id: u64,
    handshakes: &Handshakes,
    head_deadline: Instant,
) -> Result<Stream, HandshakeError> {
    let slot = handshakes.budget.enter(id);
    let deadline = head_deadline.min(Instant::now() + handshakes.timeout);
    tokio::select! {
        done = handshake(stream, &handshakes.config, deadline) => done,
        () = slot.made_room() => Err(HandshakeError::MadeRoom),
    }
}

/// The handshake itself, to be complete by `deadline`.
async fn handshake(
    stream: TcpStream,
    config: &Arc<ServerConfig>,
    deadline: Instant,
) -> Result<Stream, HandshakeError> {
    // Look at the first byte without taking it: rustls must still read it.
    let mut first = [0u8; 1];
    match timeout_at(deadline, stream.peek(&mut first)).await {
        Err(_) => return Err(HandshakeError::TimedOut),
        Ok(Err(error)) => return Err(HandshakeError::Failed(error)),
        Ok(Ok(0)) => return Err(HandshakeError::ClientClosed),
        Ok(Ok(_)) if first[0] == TLS_HANDSHAKE_RECORD => {}
        Ok(Ok(_)) if first[0].is_ascii_uppercase() => {
            answer_plain_http(stream, deadline).await;
            return Err(HandshakeError::PlainHttp);
        }
        Ok(Ok(_)) => return Err(HandshakeError::NotTls),
    }

    let acceptor = TlsAcceptor::from(Arc::clone(config));
    let stream = match timeout_at(deadline, acceptor.accept(stream)).await {
        Err(_) => return Err(HandshakeError::TimedOut),
        Ok(Err(error)) if error.kind() == io::ErrorKind::UnexpectedEof => {
            return Err(HandshakeError::ClientClosed);
        }
        Ok(Err(error)) => return Err(HandshakeError::Failed(error)),
        Ok(Ok(stream)) => stream,
    };
    let (_, session) = stream.get_ref();
    debug!(
        version = ?session.protocol_version(),
        cipher = ?session.negotiated_cipher_suite().map(|suite| suite.suite()),
        alpn = ?session.alpn_protocol().map(String::from_utf8_lossy),
        sni = ?session.server_name(),
        // `Resumed`: the client came back with a session ticket from an
        // earlier connection, and the certificate and signature were skipped.
        kind = ?session.handshake_kind(),
        "TLS handshake done"
    );
    Ok(Stream::Tls(Box::new(stream)))
}
// ANCHOR_END: accept_tls

/// Sends the plain-HTTP client a `400` it can read, then closes the
/// connection without a reset: we say "no more" (FIN) and read and drop
/// what it still sends for a moment (as `close_gracefully` does for HTTP).
async fn answer_plain_http(mut stream: TcpStream, deadline: Instant) {
    let response = Response::text(400, PLAIN_HTTP_ANSWER);
    let mut bytes = Vec::with_capacity(256);
    write_head(
        &mut bytes,
        &response,
        ResponseFraming::of(&response),
        ConnectionHeader::Close,
    );
    bytes.extend_from_slice(PLAIN_HTTP_ANSWER.as_bytes());
    debug!("plain HTTP on the HTTPS port: answering 400 in clear text");
    let sent = timeout_at(deadline, async {
        stream.write_all(&bytes).await?;
        stream.shutdown().await
    })
    .await;
    if !matches!(sent, Ok(Ok(()))) {
        return;
    }
    let mut scratch = vec![0u8; 4096];
    let mut discarded = 0;
    let _ = timeout(LINGER_TIME, async {
        while discarded < LINGER_BYTES {
            match stream.read(&mut scratch).await {
                Ok(0) | Err(_) => break,
                Ok(n) => discarded += n,
            }
        }
    })
    .await;
}
