//! DNS over TCP: the same messages, each with a two-byte length in front.
//!
//! What to notice:
//! - **Framing by length** (RFC 1035 section 4.2.2): on a byte stream there
//!   are no datagram boundaries, so each message is preceded by its length,
//!   two bytes, network order. HTTP's `Content-Length` is the same idea;
//!   SMTP's lone dot the other way.
//! - **Three outcomes** for reading a message ([`read_message`]): a
//!   message; a clean close between messages (`Ok(None)`); or an error,
//!   when the stream ends inside a length or a message.
//! - The length read from the wire is at most 65,535 by its type, so the
//!   buffer is bounded by the format itself; a length of 0 is no message.
//! - One connection may carry many queries (RFC 7766), answered in order;
//!   an idle one is closed after [`TCP_IDLE_TIMEOUT`](crate::dns::limits::TCP_IDLE_TIMEOUT).
//!   The accept loop, its connection limit and the graceful shutdown are
//!   lesson 1's.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use tcp_echo::accept_loop::{self, AcceptLimits, Connection};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

use crate::dns::answer::{Transport, respond};
use crate::dns::compress::MessageWriter;
use crate::dns::zone::Zone;

/// Why a TCP connection ended.
#[derive(Debug)]
pub enum End {
    /// The client closed between messages.
    ClientClosed,
    /// The stream ended inside a length or a message, or a length was 0.
    Truncated,
    /// No query within the idle timeout.
    Idle,
    /// The server is shutting down.
    ShuttingDown,
    /// Reading or writing failed.
    Failed(io::Error),
}

/// A TCP connection's summary, for its "closed" log line.
#[derive(Debug)]
pub struct TcpSummary {
    /// Queries answered.
    pub answered: u64,
    /// How it ended.
    pub end: End,
}

impl fmt::Display for TcpSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "queries answered: {}; ", self.answered)?;
        match &self.end {
            End::ClientClosed => f.write_str("client closed the connection"),
            End::Truncated => f.write_str("the stream ended inside a message"),
            End::Idle => f.write_str("idle"),
            End::ShuttingDown => f.write_str("closed: the server is shutting down"),
            End::Failed(error) => write!(f, "failed: {error}"),
        }
    }
}

/// Serves DNS over TCP on `listener` until `stopping` is cancelled.
pub async fn serve_tcp(
    listener: TcpListener,
    zone: Arc<Zone>,
    limits: AcceptLimits,
    idle_timeout: Duration,
    stopping: CancellationToken,
) {
    accept_loop::serve(
        listener,
        limits,
        stopping.cancelled_owned(),
        move |connection| serve_connection(connection, Arc::clone(&zone), idle_timeout),
    )
    .await;
}

// ANCHOR: read_message
/// Reads one length-prefixed message into `buf`. `Ok(None)`: the client
/// closed cleanly between messages.
pub async fn read_message<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
) -> Result<Option<()>, End> {
    let mut length = [0u8; 2];
    // The first byte apart: a close before it is clean, after it is not.
    match reader.read(&mut length[..1]).await {
        Ok(0) => return Ok(None),
        Ok(_) => {}
        Err(error) => return Err(End::Failed(error)),
    }
    read_exactly(reader, &mut length[1..]).await?;
    let length = usize::from(u16::from_be_bytes(length));
    if length == 0 {
        return Err(End::Truncated);
    }
    buf.resize(length, 0);
    read_exactly(reader, buf).await?;
    Ok(Some(()))
}
// ANCHOR_END: read_message

/// Fills `buf`; the stream ending first is [`End::Truncated`].
async fn read_exactly<R: AsyncRead + Unpin>(reader: &mut R, buf: &mut [u8]) -> Result<(), End> {
    match reader.read_exact(buf).await {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => Err(End::Truncated),
        Err(error) => Err(End::Failed(error)),
    }
}

/// Answers the queries of one connection, in order, until it closes, goes
/// idle, breaks, or the server shuts down (between queries).
async fn serve_connection(
    connection: Connection,
    zone: Arc<Zone>,
    idle_timeout: Duration,
) -> TcpSummary {
    let Connection {
        mut stream,
        peer,
        stopping,
        ..
    } = connection;
    let (reader, mut writer) = stream.split();
    // Pipelined queries arrive together: read them with few system calls.
    let mut reader = BufReader::new(reader);
    let mut query = Vec::new();
    let mut out = MessageWriter::new();
    let mut frame = Vec::new();
    let mut answered = 0;
    let end = loop {
        let read = tokio::select! {
            biased;
            _ = stopping.cancelled() => break End::ShuttingDown,
            read = timeout(idle_timeout, read_message(&mut reader, &mut query)) => read,
        };
        match read {
            Err(_) => break End::Idle,
            Ok(Ok(None)) => break End::ClientClosed,
            Ok(Err(end)) => break end,
            Ok(Ok(Some(()))) => {}
        }
        if !respond(&zone, &query, Transport::Tcp, peer, &mut out) {
            continue;
        }
        // Length and message in one write: one packet for a small answer.
        frame.clear();
        frame.extend_from_slice(&(out.len() as u16).to_be_bytes());
        frame.extend_from_slice(out.bytes());
        match timeout(idle_timeout, writer.write_all(&frame)).await {
            Ok(Ok(())) => answered += 1,
            Ok(Err(error)) => break End::Failed(error),
            Err(_) => break End::Idle,
        }
    };
    let _ = writer.shutdown().await;
    TcpSummary { answered, end }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;

    use super::*;

    /// The outcomes of reading messages from `input` until it ends.
    async fn outcomes(input: &[u8]) -> Vec<String> {
        let (mut client, server) = tokio::io::duplex(1024);
        client.write_all(input).await.expect("write");
        drop(client);
        let mut reader = server;
        let mut buf = Vec::new();
        let mut seen = Vec::new();
        loop {
            match read_message(&mut reader, &mut buf).await {
                Ok(Some(())) => seen.push(format!("{buf:?}")),
                Ok(None) => {
                    seen.push("clean close".into());
                    return seen;
                }
                Err(end) => {
                    seen.push(format!("error: {}", TcpSummary { answered: 0, end }));
                    return seen;
                }
            }
        }
    }

    #[tokio::test]
    async fn messages_then_a_clean_close() {
        assert_eq!(
            outcomes(b"\x00\x02ab\x00\x01c").await,
            ["[97, 98]", "[99]", "clean close"]
        );
        assert_eq!(outcomes(b"").await, ["clean close"]);
    }

    #[tokio::test]
    async fn a_stream_ending_inside_a_length_or_a_message_is_an_error() {
        let truncated = "error: queries answered: 0; the stream ended inside a message";
        assert_eq!(outcomes(b"\x00").await, [truncated]);
        assert_eq!(outcomes(b"\x00\x05abc").await, [truncated]);
        assert_eq!(outcomes(b"\x00\x01a\x00").await, ["[97]", truncated]);
        assert_eq!(
            outcomes(b"\x00\x00").await,
            [truncated],
            "a zero length is no message"
        );
    }
}
