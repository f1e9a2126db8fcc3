//! The checker's TCP client: connect, send, and read with a deadline.
//!
//! What to notice: every read here returns a [`Reply`], the bytes that came
//! *and* how the read ended (complete, closed, timed out, failed), never
//! just an error. "Nothing came back" and "3 bytes came, then the server
//! closed" are different bugs, and the learner needs to see which.
//!
//! The reads take any `AsyncRead`, so a lesson can read from a TLS stream or
//! from the read half of a split socket with the same helpers.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout, timeout_at};

use crate::escape::{SHOWN_BYTES, first_difference, show, show_window};
use crate::runner::Failure;
use crate::target::Target;

/// Reads ask for at most 64 KiB at a time.
const READ_CHUNK: usize = 64 * 1024;

/// The bytes a read collected and why it stopped.
#[derive(Debug)]
pub struct Reply {
    /// Everything that arrived, in order.
    pub bytes: Vec<u8>,
    /// Why the read stopped.
    pub end: ReplyEnd,
}

/// Why a read stopped.
#[derive(Debug)]
pub enum ReplyEnd {
    /// It got what it was waiting for (the byte count or the pattern).
    Complete,
    /// The server closed its side (EOF).
    Closed,
    /// Nothing more came before the deadline.
    TimedOut(Duration),
    /// The read waited for a pattern and collected its limit without it.
    LimitReached,
    /// The connection failed (reset by the server, say).
    Failed(io::Error),
}

impl Reply {
    /// The `got:` line: the bytes and how the read ended, e.g.
    /// `"hel" (3 bytes), then the server closed the connection`.
    pub fn describe(&self) -> String {
        if self.bytes.is_empty() {
            return match &self.end {
                ReplyEnd::TimedOut(waited) => format!("nothing within {}", seconds(*waited)),
                _ => format!("nothing{}", self.end_phrase()),
            };
        }
        format!("{}{}", show(&self.bytes), self.end_phrase())
    }

    /// The `got:` line when the reply should equal `expected`: for a long
    /// payload, how much of it came and where it first differs, rather than
    /// its first 64 bytes, which are likely fine.
    pub fn describe_against(&self, expected: &[u8]) -> String {
        let short = expected.len().max(self.bytes.len()) <= SHOWN_BYTES;
        match first_difference(expected, &self.bytes) {
            None => self.describe(),
            _ if short => self.describe(),
            Some(0) => self.describe(),
            Some(at) if at == self.bytes.len() => format!(
                "the first {at} of the {} bytes (right so far){}",
                expected.len(),
                self.end_phrase()
            ),
            Some(at) if at == expected.len() => format!(
                "the {at} bytes, then {} bytes more: {}{}",
                self.bytes.len() - at,
                show_window(&self.bytes, at),
                self.end_phrase()
            ),
            Some(at) => format!(
                "{} bytes, which differ from byte {at} on: {} where {} was expected{}",
                self.bytes.len(),
                show_window(&self.bytes, at),
                show_window(expected, at),
                self.end_phrase()
            ),
        }
    }

    /// `, then ...` for how the read ended; empty when it completed.
    fn end_phrase(&self) -> String {
        match &self.end {
            ReplyEnd::Complete => String::new(),
            ReplyEnd::Closed => ", then the server closed the connection".into(),
            ReplyEnd::TimedOut(waited) => {
                format!(", then nothing more within {}", seconds(*waited))
            }
            ReplyEnd::LimitReached => ", and still no end in sight".into(),
            ReplyEnd::Failed(error) => format!(", then an error: {error}"),
        }
    }
}

/// `5 s`, `0.5 s`.
fn seconds(duration: Duration) -> String {
    format!("{} s", duration.as_secs_f32())
}

/// Connects to the target, trying each of its addresses, each within the
/// target's timeout. If none accepts, the failure says nothing is answering:
/// before the first stage passes, the checker stops with exit status 2.
pub async fn connect(target: &Target) -> Result<TcpStream, Failure> {
    let mut last_error = String::new();
    for &addr in target.addrs() {
        match timeout(target.timeout, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                // Small writes go out at once: stages time replies, and
                // Nagle's algorithm would hold a second small write 40 ms.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Ok(Err(error)) => last_error = error.to_string(),
            Err(_) => {
                last_error = format!("no answer within {}", seconds(target.timeout));
            }
        }
    }
    Err(Failure::nothing_answering(
        target.addr(),
        last_error,
        "a TCP connection",
        "the server was answering a moment ago: did it exit or crash? Its terminal says why",
    ))
}

/// Sends all of `bytes` within `limit`. A server that stops reading makes
/// the write wait (its buffers are full); that fails here, not forever.
pub async fn send(
    stream: &mut (impl AsyncWrite + Unpin),
    bytes: &[u8],
    limit: Duration,
) -> Result<(), Failure> {
    let problem = match timeout(limit, stream.write_all(bytes)).await {
        Ok(Ok(())) => return Ok(()),
        Ok(Err(error)) => format!("the send failed: {error}"),
        Err(_) => format!("the send did not finish within {}", seconds(limit)),
    };
    Err(Failure::new(
        show(bytes),
        "the server to take the bytes",
        problem,
        "the server must keep reading what a client sends (is it stuck, or did it close the connection?)",
    ))
}

/// Reads until exactly `count` bytes have come, the server closes, or
/// `limit` has passed since the call.
pub async fn read_exactly(
    stream: &mut (impl AsyncRead + Unpin),
    count: usize,
    limit: Duration,
) -> Reply {
    read_while(stream, limit, count, |bytes| bytes.len() >= count).await
}

/// Reads until `pattern` has come, `max` bytes have come without it, the
/// server closes, or `limit` has passed. Bytes that came after the pattern
/// in the same read are kept in the reply (split them off yourself).
pub async fn read_until(
    stream: &mut (impl AsyncRead + Unpin),
    pattern: &[u8],
    max: usize,
    limit: Duration,
) -> Reply {
    let found = |bytes: &[u8]| {
        !pattern.is_empty() && bytes.windows(pattern.len()).any(|window| window == pattern)
    };
    let mut reply = read_while(stream, limit, max, |bytes| found(bytes)).await;
    if matches!(reply.end, ReplyEnd::Complete) && !found(&reply.bytes) {
        reply.end = ReplyEnd::LimitReached;
    }
    reply
}

/// Reads until the server closes (the expected end: [`ReplyEnd::Closed`]),
/// `max` bytes have come ([`ReplyEnd::LimitReached`]), or `limit` passes.
pub async fn read_to_close(
    stream: &mut (impl AsyncRead + Unpin),
    max: usize,
    limit: Duration,
) -> Reply {
    let mut reply = read_while(stream, limit, max, |_| false).await;
    if matches!(reply.end, ReplyEnd::Complete) {
        reply.end = ReplyEnd::LimitReached;
    }
    reply
}

/// The one read loop: stop when `done` says so, at `max` bytes, at EOF, on
/// an error, or at the deadline, whichever comes first.
async fn read_while(
    stream: &mut (impl AsyncRead + Unpin),
    limit: Duration,
    max: usize,
    done: impl Fn(&[u8]) -> bool,
) -> Reply {
    let deadline = Instant::now() + limit;
    let mut bytes = Vec::new();
    let mut chunk = vec![0u8; READ_CHUNK.min(max.max(1))];
    let end = loop {
        // What is held, compared with `max`: `checked_sub` is `None` past
        // it, and 0 at it.
        let room = match max.checked_sub(bytes.len()) {
            Some(room) if room > 0 && !done(&bytes) => room.min(chunk.len()),
            _ => break ReplyEnd::Complete,
        };
        match timeout_at(deadline, stream.read(&mut chunk[..room])).await {
            Err(_) => break ReplyEnd::TimedOut(limit),
            Ok(Ok(0)) => break ReplyEnd::Closed,
            Ok(Ok(n)) => bytes.extend_from_slice(&chunk[..n]),
            Ok(Err(error)) => break ReplyEnd::Failed(error),
        }
    };
    Reply { bytes, end }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn replies_say_how_they_ended() {
        let (mut client, mut server) = tokio::io::duplex(64);
        server.write_all(b"hello\nwor").await.unwrap();
        let line = read_until(&mut client, b"\n", 100, Duration::from_secs(5)).await;
        assert!(line.bytes.starts_with(b"hello\n"));
        assert!(matches!(line.end, ReplyEnd::Complete));
        server.write_all(b"ld").await.unwrap();
        drop(server);
        let rest = read_exactly(&mut client, 10, Duration::from_secs(5)).await;
        assert_eq!(
            rest.describe(),
            r#""ld" (2 bytes), then the server closed the connection"#
        );
    }

    #[tokio::test]
    async fn a_silent_server_times_out() {
        let (mut client, _server) = tokio::io::duplex(64);
        let reply = read_exactly(&mut client, 1, Duration::from_millis(50)).await;
        assert_eq!(reply.describe(), "nothing within 0.05 s");
    }

    #[test]
    fn a_long_reply_is_described_by_where_it_parts_from_the_expected() {
        let expected = vec![7u8; 1000];
        let cut = Reply {
            bytes: vec![7u8; 300],
            end: ReplyEnd::Closed,
        };
        assert_eq!(
            cut.describe_against(&expected),
            "the first 300 of the 1000 bytes (right so far), then the server closed the connection"
        );
        let mut wrong = expected.clone();
        wrong[500] = 8;
        let wrong = Reply {
            bytes: wrong,
            end: ReplyEnd::Complete,
        };
        assert!(
            wrong
                .describe_against(&expected)
                .starts_with(r#"1000 bytes, which differ from byte 500 on: "\x08\x07"#),
            "{}",
            wrong.describe_against(&expected)
        );
    }

    #[tokio::test]
    async fn a_pattern_that_never_comes_stops_at_the_limit() {
        let (mut client, mut server) = tokio::io::duplex(64);
        server.write_all(b"abcdef").await.unwrap();
        let reply = read_until(&mut client, b"\n", 4, Duration::from_secs(5)).await;
        assert_eq!(reply.bytes, b"abcd");
        assert!(matches!(reply.end, ReplyEnd::LimitReached));
    }
}
