//! Reading a message after `DATA`: lines up to a lone dot, dot-stuffing undone.
//!
//! What to notice:
//! - **The end of a message is a line holding one dot**: the bytes
//!   `\r\n.\r\n` (RFC 5321 section 4.1.1.4). So a line of the message that
//!   *starts* with a dot would end it too early; the client doubles that
//!   dot ("dot-stuffing") and the server takes one away (section 4.5.2).
//!   That is the whole of SMTP's framing: no length up front, a sentinel
//!   at the end, and an escape for the sentinel. HTTP chose lengths.
//! - **Only CRLF ends a line here.** In 2023 "SMTP smuggling" showed that
//!   when two mail servers disagree about `\n.\n` or `\n.\r\n` (one sees the
//!   end of the message, the other sees more text), a sender can hide a
//!   second, forged message inside the first. So a lone dot ends the message
//!   only as `\r\n.\r\n`, and a message with any bare LF is refused once it
//!   has ended (Postfix does the same since then).
//! - **A message over the limit is still read to its end**, but not kept:
//!   the client is sending and will only listen after its dot. Then it hears
//!   `552`. Memory stays at the limit; time is bounded by the caller's
//!   deadline.

use tokio::io::AsyncRead;

use crate::line_reader::{Ending, LineError, LineReader};
use crate::reply::Reply;
use crate::smtp::limits::MAX_TEXT_LINE;
use crate::smtp::session::too_big;

/// A message as it was read.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    /// The message, dot-stuffing undone, every line ending in CRLF, without
    /// the final dot.
    Message(Vec<u8>),
    /// The message was read to its end and refused; the reply says why.
    Refused(Refusal),
}

/// Why a message that arrived whole is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// More than the size limit.
    TooBig {
        /// The limit.
        max_bytes: usize,
    },
    /// A line over [`MAX_TEXT_LINE`].
    LineTooLong,
    /// A line ending in a bare LF.
    BareLf,
}

impl Refusal {
    /// The reply after the final dot.
    pub fn reply(self) -> Reply {
        match self {
            Refusal::TooBig { max_bytes } => too_big(max_bytes),
            // RFC 5321 section 4.5.3.1.10.
            Refusal::LineTooLong => Reply::new(
                500,
                format!(
                    "5.5.2 line too long: at most {MAX_TEXT_LINE} bytes with CRLF; message not stored"
                ),
            ),
            Refusal::BareLf => Reply::new(
                554,
                "5.6.0 a line ended with a bare LF; lines end with CRLF; message not stored",
            ),
        }
    }
}

// ANCHOR: read_message
/// Reads one message, up to and including its final dot line.
///
/// An error means the connection ended before the dot; the message is lost,
/// and nothing can be replied.
pub async fn read_message<R: AsyncRead + Unpin>(
    lines: &mut LineReader<R>,
    max_bytes: usize,
) -> Result<Received, LineError> {
    let mut message = Vec::new();
    let mut refusal = None;
    // `DATA` itself ended with CRLF, so the first line may be the dot.
    let mut after_crlf = true;
    loop {
        let line = match lines.read_line(MAX_TEXT_LINE).await {
            Ok(Some(line)) => line,
            Ok(None) => return Err(LineError::Truncated),
            Err(LineError::TooLong { .. }) => {
                refusal.get_or_insert(Refusal::LineTooLong);
                after_crlf = true;
                continue;
            }
            Err(error) => return Err(error),
        };
        let crlf = line.ending == Ending::Crlf;
        if line.text == b"." && crlf && after_crlf {
            break;
        }
        after_crlf = crlf;
        if !crlf {
            refusal.get_or_insert(Refusal::BareLf);
        }
        // Undo dot-stuffing: `..` at the start of a line was `.`.
        let text = line.text.strip_prefix(b".").unwrap_or(line.text);
        if refusal.is_some() {
            continue;
        }
        // Compare what we would hold with the limit.
        if message.len() + text.len() + 2 > max_bytes {
            refusal = Some(Refusal::TooBig { max_bytes });
            message = Vec::new();
            continue;
        }
        message.extend_from_slice(text);
        message.extend_from_slice(b"\r\n");
    }
    Ok(match refusal {
        None => Received::Message(message),
        Some(refusal) => Received::Refused(refusal),
    })
}
// ANCHOR_END: read_message

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;

    use super::*;

    /// Reads a message from `input` (sent in one piece), and what follows it.
    async fn read(input: &[u8], max_bytes: usize) -> (Result<Received, String>, Vec<u8>) {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        client.write_all(input).await.expect("write");
        drop(client);
        let mut lines = LineReader::new(server);
        let received = read_message(&mut lines, max_bytes)
            .await
            .map_err(|error| error.to_string());
        let rest = match lines.read_line(100_000).await {
            Ok(Some(line)) => line.text.to_vec(),
            _ => Vec::new(),
        };
        (received, rest)
    }

    #[tokio::test]
    async fn a_lone_dot_ends_the_message_and_what_follows_is_the_next_command() {
        let (received, rest) = read(b"Subject: hi\r\n\r\nhello\r\n.\r\nQUIT\r\n", 1000).await;
        assert_eq!(
            received,
            Ok(Received::Message(b"Subject: hi\r\n\r\nhello\r\n".to_vec()))
        );
        assert_eq!(rest, b"QUIT");
    }

    #[tokio::test]
    async fn dot_stuffing_is_undone() {
        let (received, _) = read(b"..\r\n...leading dots\r\n. not alone\r\n.\r\n", 1000).await;
        assert_eq!(
            received,
            Ok(Received::Message(
                b".\r\n..leading dots\r\n not alone\r\n".to_vec()
            ))
        );
    }

    #[tokio::test]
    async fn an_empty_message_is_a_message() {
        let (received, _) = read(b".\r\n", 1000).await;
        assert_eq!(received, Ok(Received::Message(Vec::new())));
    }

    #[tokio::test]
    async fn only_crlf_dot_crlf_ends_a_message_smuggling_attempts_do_not() {
        // Each of these has a "dot line" that some servers took for the end.
        for sneaky in [
            &b"a\n.\nMAIL FROM:<x@y>\r\n"[..],
            b"a\n.\r\nMAIL FROM:<x@y>\r\n",
            b"a\r\n.\nMAIL FROM:<x@y>\r\n",
        ] {
            let mut input = sneaky.to_vec();
            input.extend_from_slice(b"b\r\n.\r\nQUIT\r\n");
            let (received, rest) = read(&input, 1000).await;
            assert_eq!(
                received,
                Ok(Received::Refused(Refusal::BareLf)),
                "{:?}",
                String::from_utf8_lossy(sneaky)
            );
            assert_eq!(rest, b"QUIT", "the message ended at the real end");
        }
    }

    #[tokio::test]
    async fn the_size_limit_at_limit_minus_one_limit_and_plus_one() {
        // "x" * n + CRLF: n + 2 bytes.
        let max = 100;
        for (size, accepted) in [(max - 1, true), (max, true), (max + 1, false)] {
            let mut input = vec![b'x'; size - 2];
            input.extend_from_slice(b"\r\n.\r\nNOOP\r\n");
            let (received, rest) = read(&input, max).await;
            match received {
                Ok(Received::Message(message)) => {
                    assert!(accepted, "{size} bytes accepted");
                    assert_eq!(message.len(), size);
                }
                Ok(Received::Refused(Refusal::TooBig { max_bytes })) => {
                    assert!(!accepted, "{size} bytes refused");
                    assert_eq!(max_bytes, max);
                }
                other => panic!("{size}: {other:?}"),
            }
            assert_eq!(rest, b"NOOP", "{size}: read to the end either way");
        }
    }

    #[tokio::test]
    async fn the_size_limit_counts_the_message_after_unstuffing() {
        // 98 bytes of dots on the wire, 97 after unstuffing, + CRLF = 99.
        let mut input = vec![b'.'; 98];
        input.extend_from_slice(b"\r\n.\r\n");
        let (received, _) = read(&input, 99).await;
        assert!(matches!(received, Ok(Received::Message(m)) if m.len() == 99));
    }

    #[tokio::test]
    async fn a_text_line_at_1000_bytes_passes_and_at_1001_refuses_the_message() {
        for (line_len, accepted) in [(999, true), (1000, true), (1001, false)] {
            let mut input = vec![b'y'; line_len - 2];
            input.extend_from_slice(b"\r\nnext line\r\n.\r\nNOOP\r\n");
            let (received, rest) = read(&input, 100_000).await;
            if accepted {
                assert!(matches!(received, Ok(Received::Message(_))), "{line_len}");
            } else {
                assert_eq!(received, Ok(Received::Refused(Refusal::LineTooLong)));
            }
            assert_eq!(rest, b"NOOP", "{line_len}");
        }
    }

    #[tokio::test]
    async fn a_connection_closed_before_the_dot_loses_the_message() {
        let (received, _) = read(b"Subject: hi\r\n\r\nhalf a mess", 1000).await;
        assert!(received.is_err());
        let (received, _) = read(b"Subject: hi\r\n\r\nhalf a message\r\n", 1000).await;
        assert!(received.is_err());
    }
}
