//! The line reader: one command line at a time, never more than a limit.
//!
//! What to notice:
//! - **Three outcomes**, as for an HTTP request head: a line, a clean close
//!   between lines (`Ok(None)`), or an error. A connection that ends in the
//!   middle of a line is an error ([`LineError::Truncated`]), not a close:
//!   half a command is no command.
//! - **A limit on every line, checked on every read.** A client that never
//!   sends a newline would otherwise make us buffer for ever. A line over the
//!   limit is read to its end and thrown away, a buffer at a time, and
//!   reported as [`LineError::TooLong`]; the next line is read intact, so
//!   the server can answer "line too long" and carry on. How long that may
//!   take is bounded by the caller's deadline.
//! - **The line ending is reported, not hidden.** SMTP and FTP lines end
//!   with CRLF (`\r\n`); `nc` without `-C` sends a bare LF. A server may
//!   accept a bare LF for commands, but in a mail message the difference
//!   matters (see `smtp/data.rs`, "SMTP smuggling"), so the caller decides.
//! - Bytes after a line stay in the buffer for the next call: a client may
//!   send several commands in one packet (pipelining, RFC 2920).

use std::io;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Each read asks for at least this much room: a typed command fits many
/// times over, and a pipelined batch of commands arrives in one read.
pub const READ_CHUNK: usize = 4096;

/// How a line ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// `\r\n`, as RFC 5321 and RFC 959 require.
    Crlf,
    /// `\n` alone, as `nc` sends without `-C`.
    BareLf,
}

/// One line, without its ending.
#[derive(Debug, PartialEq, Eq)]
pub struct Line<'a> {
    /// The bytes before the line ending.
    pub text: &'a [u8],
    /// How the line ended.
    pub ending: Ending,
}

impl Line<'_> {
    /// The line's length on the wire, ending included: what limits count.
    pub fn wire_len(&self) -> usize {
        self.text.len()
            + match self.ending {
                Ending::Crlf => 2,
                Ending::BareLf => 1,
            }
    }
}

/// Why no line was read.
#[derive(Debug)]
pub enum LineError {
    /// The line was longer than `limit` bytes, ending included. It has been
    /// read and discarded; the next line can be read.
    TooLong {
        /// The limit it broke.
        limit: usize,
    },
    /// The peer closed the connection in the middle of a line.
    Truncated,
    /// Reading failed (reset by the peer, say).
    Io(io::Error),
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LineError::TooLong { limit } => write!(f, "a line longer than {limit} bytes"),
            LineError::Truncated => f.write_str("the connection closed in the middle of a line"),
            LineError::Io(error) => write!(f, "{error}"),
        }
    }
}

impl From<io::Error> for LineError {
    fn from(error: io::Error) -> LineError {
        LineError::Io(error)
    }
}

/// Reads lines from `reader`, keeping what arrived after a line for later.
#[derive(Debug)]
pub struct LineReader<R> {
    reader: R,
    /// Bytes received and not yet returned. Never holds more than the
    /// current limit plus one read of [`READ_CHUNK`] bytes without a
    /// newline in it.
    buf: BytesMut,
    /// How many bytes at the front of `buf` the last line took; they are
    /// dropped at the next call (the line borrowed them until then).
    consumed: usize,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    /// A reader of lines from `reader`.
    pub fn new(reader: R) -> LineReader<R> {
        LineReader {
            reader,
            buf: BytesMut::new(),
            consumed: 0,
        }
    }

    /// Whether a whole or partial line has already arrived, unread: a
    /// pipelining client sent more than one command at once. The server
    /// then holds its replies back and sends them together.
    pub fn has_buffered_input(&self) -> bool {
        self.buf.len() > self.consumed
    }

    // ANCHOR: read_line
    /// Reads the next line of at most `limit` bytes, its ending included.
    /// `Ok(None)`: the peer closed the connection between lines.
    pub async fn read_line(&mut self, limit: usize) -> Result<Option<Line<'_>>, LineError> {
        self.buf.advance(self.consumed);
        self.consumed = 0;
        // Bytes already searched for a newline, not searched again.
        let mut searched = 0;
        loop {
            if let Some(at) = memchr::memchr(b'\n', &self.buf[searched..]) {
                let line_len = searched + at + 1;
                self.consumed = line_len;
                if line_len > limit {
                    return Err(LineError::TooLong { limit });
                }
                let line = &self.buf[..line_len - 1];
                return Ok(Some(match line.strip_suffix(b"\r") {
                    Some(text) => Line {
                        text,
                        ending: Ending::Crlf,
                    },
                    None => Line {
                        text: line,
                        ending: Ending::BareLf,
                    },
                }));
            }
            // No newline yet. Compare what we hold with the limit: this
            // many bytes without a newline can only be too long a line.
            if self.buf.len() >= limit {
                self.skip_rest_of_line().await?;
                return Err(LineError::TooLong { limit });
            }
            searched = self.buf.len();
            if self.read_more().await? == 0 {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(LineError::Truncated)
                };
            }
        }
    }
    // ANCHOR_END: read_line

    /// Reads and discards up to the next newline (included), a buffer at a
    /// time: a line over the limit costs no more memory than one under it.
    async fn skip_rest_of_line(&mut self) -> Result<(), LineError> {
        loop {
            if let Some(at) = memchr::memchr(b'\n', &self.buf) {
                self.buf.advance(at + 1);
                return Ok(());
            }
            self.buf.clear();
            if self.read_more().await? == 0 {
                return Err(LineError::Truncated);
            }
        }
    }

    /// One read from the peer into the buffer; 0 means it closed.
    async fn read_more(&mut self) -> io::Result<usize> {
        if self.buf.capacity() - self.buf.len() < READ_CHUNK {
            self.buf.reserve(READ_CHUNK);
        }
        self.reader.read_buf(&mut self.buf).await
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;

    use super::*;

    /// A line read (its text and ending), or the error, in words.
    type Read = Result<(Vec<u8>, Ending), String>;

    /// What `pieces` read as, with `limit`, when they arrive one by one.
    async fn read_all(pieces: Vec<Vec<u8>>, limit: usize) -> Vec<Read> {
        let (mut client, server) = tokio::io::duplex(64);
        let writer = tokio::spawn(async move {
            for piece in pieces {
                client.write_all(&piece).await.expect("write");
                tokio::task::yield_now().await;
            }
        });
        let mut reader = LineReader::new(server);
        let mut out = Vec::new();
        loop {
            match reader.read_line(limit).await {
                Ok(Some(line)) => out.push(Ok((line.text.to_vec(), line.ending))),
                Ok(None) => break,
                Err(LineError::TooLong { .. }) => out.push(Err("too long".into())),
                Err(error) => {
                    out.push(Err(error.to_string()));
                    break;
                }
            }
        }
        writer.await.expect("writer");
        out
    }

    fn ok(text: &str, ending: Ending) -> Read {
        Ok((text.as_bytes().to_vec(), ending))
    }

    #[tokio::test]
    async fn lines_keep_their_endings_and_a_close_between_lines_is_clean() {
        let lines = read_all(vec![b"EHLO a\r\nNOOP\nQUIT\r\n".to_vec()], 512).await;
        assert_eq!(
            lines,
            vec![
                ok("EHLO a", Ending::Crlf),
                ok("NOOP", Ending::BareLf),
                ok("QUIT", Ending::Crlf),
            ]
        );
    }

    #[tokio::test]
    async fn a_close_in_the_middle_of_a_line_is_an_error() {
        let lines = read_all(vec![b"EHLO a\r\nQUI".to_vec()], 512).await;
        assert_eq!(lines[0], ok("EHLO a", Ending::Crlf));
        assert_eq!(
            lines[1],
            Err("the connection closed in the middle of a line".into())
        );
    }

    #[tokio::test]
    async fn the_limit_counts_the_ending_at_limit_minus_one_limit_and_plus_one() {
        let limit = 10;
        for (text_len, fits) in [(7, true), (8, true), (9, false)] {
            // text + CRLF: 9, 10, 11 bytes.
            let mut input = vec![b'x'; text_len];
            input.extend_from_slice(b"\r\nNEXT\r\n");
            let lines = read_all(vec![input], limit).await;
            let first = if fits {
                ok(&"x".repeat(text_len), Ending::Crlf)
            } else {
                Err("too long".into())
            };
            assert_eq!(lines, vec![first, ok("NEXT", Ending::Crlf)], "{text_len}");
        }
    }

    #[tokio::test]
    async fn the_limit_holds_across_two_reads() {
        let limit = 10;
        for (text_len, fits) in [(7, true), (8, true), (9, false)] {
            let line = format!("{}\r\n", "y".repeat(text_len)).into_bytes();
            let (a, b) = line.split_at(5);
            let lines = read_all(vec![a.to_vec(), b.to_vec(), b"NEXT\r\n".to_vec()], limit).await;
            let first = if fits {
                ok(&"y".repeat(text_len), Ending::Crlf)
            } else {
                Err("too long".into())
            };
            assert_eq!(lines, vec![first, ok("NEXT", Ending::Crlf)], "{text_len}");
        }
    }

    #[tokio::test]
    async fn a_line_far_over_the_limit_is_skipped_and_the_next_line_is_intact() {
        let mut pieces: Vec<Vec<u8>> = (0..50).map(|_| vec![b'z'; 1000]).collect();
        pieces.push(b"\r\nNOOP\r\n".to_vec());
        let lines = read_all(pieces, 512).await;
        assert_eq!(
            lines,
            vec![Err("too long".into()), ok("NOOP", Ending::Crlf)]
        );
    }

    #[tokio::test]
    async fn a_too_long_line_cut_off_by_a_close_is_truncated() {
        let lines = read_all(vec![vec![b'z'; 2000]], 512).await;
        assert_eq!(
            lines,
            vec![Err("the connection closed in the middle of a line".into())]
        );
    }

    #[tokio::test]
    async fn the_buffer_stays_bounded_by_the_limit_and_one_read() {
        let (mut client, server) = tokio::io::duplex(1 << 20);
        let mut reader = LineReader::new(server);
        client.write_all(&vec![b'a'; 900_000]).await.expect("write");
        client.write_all(b"\n").await.expect("write");
        let line = reader.read_line(512).await;
        assert!(matches!(line, Err(LineError::TooLong { limit: 512 })));
        assert!(
            reader.buf.capacity() <= 512 + 2 * READ_CHUNK,
            "{}",
            reader.buf.capacity()
        );
    }
}
