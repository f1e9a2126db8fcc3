//! The checker's client for conversations of numbered replies: SMTP and FTP.
//!
//! What to notice: both protocols answer every command with a reply that
//! starts with three digits (`250 OK`, `550 no such file`), sometimes over
//! several lines (`250-first`, ..., `250 last`). [`parse_reply`] finds where
//! one reply ends in the bytes received so far, with no I/O, so it is tested
//! on its own; a [`Conversation`] sends commands, reads replies with a
//! deadline, and remembers what it sent, for the report's `sent:` line.
//!
//! The rules (RFC 5321 section 4.2, RFC 959 section 4.2): every line ends
//! with CRLF; a one-line reply is `ddd text` (or `ddd` alone); a multi-line
//! reply starts with `ddd-` and ends at the first line that starts with the
//! same code and a space. SMTP puts `ddd-` on every line between, FTP
//! allows any text there; reading up to `ddd ` serves both.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout, timeout_at};

use crate::escape::push_escaped;
use crate::runner::Failure;
use crate::target::Target;
use crate::tcp;

/// The most a reply may take, all its lines together. The longest real
/// ones (an `EHLO` list, a `HELP` text) are a few hundred bytes; a server
/// that sends more without ending its reply is not ending it.
pub const MAX_REPLY_BYTES: usize = 16 * 1024;

/// At most this many bytes of a reply are shown in a report: enough for a
/// whole `EHLO` list, which `escape::show`'s 64 would cut.
const SHOWN_REPLY_BYTES: usize = 400;

/// At most this many of the commands sent are shown on a `sent:` line (the
/// last ones, which led to the failure).
const SHOWN_COMMANDS: usize = 6;

/// One whole reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three digits, `250`.
    pub code: u16,
    /// Each line's text after the code and its `-` or space, without CRLF.
    pub lines: Vec<String>,
    /// The reply's bytes as they came, for the report.
    pub bytes: Vec<u8>,
}

impl Reply {
    /// The reply as the report shows it: escaped and quoted, with its length.
    pub fn describe(&self) -> String {
        show_reply(&self.bytes)
    }

    /// The first line's text: `OK` in `250 OK`.
    pub fn text(&self) -> &str {
        self.lines.first().map(String::as_str).unwrap_or_default()
    }
}

/// What [`parse_reply`] found at the start of the bytes received.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A whole reply, and how many bytes it took.
    Complete(Reply, usize),
    /// Not a whole reply yet: read more.
    Partial,
    /// Not a reply: what is wrong with it, in the learner's words.
    Malformed(&'static str),
}

/// Finds the first reply in `bytes`.
pub fn parse_reply(bytes: &[u8]) -> Parsed {
    let mut code: Option<&[u8]> = None;
    let mut lines = Vec::new();
    let mut start = 0;
    while let Some(newline) = bytes[start..].iter().position(|&byte| byte == b'\n') {
        let end = start + newline + 1;
        let Some(line) = bytes[start..end].strip_suffix(b"\r\n") else {
            return Parsed::Malformed(
                "a line ended with a bare LF (\\n) where CRLF (\\r\\n) was due",
            );
        };
        let numbered = line.len() >= 3 && line[..3].iter().all(u8::is_ascii_digit);
        let separator = line.get(3).copied();
        match code {
            None if !numbered => {
                return Parsed::Malformed("a reply starts with a three-digit code");
            }
            None if !matches!(separator, None | Some(b' ' | b'-')) => {
                return Parsed::Malformed(
                    "after the code comes a space, or a dash when more lines follow",
                );
            }
            None => code = Some(&line[..3]),
            Some(_) => {}
        }
        let same_code = code.is_some_and(|code| line.starts_with(code));
        let last = same_code && matches!(separator, None | Some(b' '));
        let text = if same_code {
            line.get(4..).unwrap_or_default()
        } else {
            line
        };
        lines.push(String::from_utf8_lossy(text).into_owned());
        if last {
            let digits = code.unwrap_or_default();
            let value = digits
                .iter()
                .fold(0u16, |sum, digit| sum * 10 + u16::from(digit - b'0'));
            let reply = Reply {
                code: value,
                lines,
                bytes: bytes[..end].to_vec(),
            };
            return Parsed::Complete(reply, end);
        }
        start = end;
    }
    Parsed::Partial
}

/// Bytes of a reply, escaped and quoted, cut after [`SHOWN_REPLY_BYTES`].
pub fn show_reply(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(SHOWN_REPLY_BYTES)];
    let mut text = String::from("\"");
    for &byte in shown {
        push_escaped(&mut text, byte);
    }
    text.push('"');
    if shown.len() < bytes.len() {
        text.push_str("...");
    }
    let unit = if bytes.len() == 1 { "byte" } else { "bytes" };
    format!("{text} ({} {unit})", bytes.len())
}

/// Why no reply could be read, for the `got:` line, and the hint when the
/// fault is the reply's form rather than the stage's matter.
#[derive(Debug)]
pub struct NoReply {
    /// What came, and how the read ended.
    pub got: String,
    /// Set when what came is not a reply at all.
    pub form_hint: Option<String>,
}

/// One connection to a server that speaks in numbered replies.
pub struct Conversation {
    stream: TcpStream,
    /// Bytes received and not yet part of a reply that was returned.
    received: Vec<u8>,
    /// The deadline for each reply.
    timeout: Duration,
    /// Everything sent so far, as the report shows it.
    said: Vec<String>,
}

impl Conversation {
    /// Connects to the target. Nothing is read: the server speaks first,
    /// and the stage reads its greeting.
    pub async fn open(target: &Target) -> Result<Conversation, Failure> {
        let stream = tcp::connect(target).await?;
        Ok(Conversation {
            stream,
            received: Vec::new(),
            timeout: target.timeout,
            said: Vec::new(),
        })
    }

    /// The server's address as this connection reached it.
    pub fn server_addr(&self) -> Option<SocketAddr> {
        self.stream.peer_addr().ok()
    }

    /// Sends `line` and CRLF.
    pub async fn send_line(&mut self, line: &str) -> Result<(), Failure> {
        let bytes = format!("{line}\r\n");
        self.send(bytes.as_bytes(), None).await
    }

    /// Sends `bytes`; the report shows them escaped, or as `label` when
    /// they are too many to show (a whole message).
    pub async fn send(&mut self, bytes: &[u8], label: Option<&str>) -> Result<(), Failure> {
        self.send_within(bytes, label, self.timeout).await
    }

    /// [`Conversation::send`] with a deadline of its own, for sends of
    /// megabytes.
    pub async fn send_within(
        &mut self,
        bytes: &[u8],
        label: Option<&str>,
        limit: Duration,
    ) -> Result<(), Failure> {
        self.said.push(match label {
            Some(label) => label.to_string(),
            None => escaped(bytes),
        });
        let problem = match timeout(limit, self.stream.write_all(bytes)).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(error)) => format!("the send failed: {error}"),
            Err(_) => format!("the send did not finish within {} s", limit.as_secs_f32()),
        };
        Err(self.failure(
            "the server to take the bytes",
            problem,
            "the server must keep reading what the client sends (did it close the connection, or stop reading?)",
        ))
    }

    /// Reads the next reply, within the deadline.
    pub async fn read_reply(&mut self) -> Result<Reply, NoReply> {
        let deadline = Instant::now() + self.timeout;
        let mut chunk = [0u8; 4096];
        loop {
            match parse_reply(&self.received) {
                Parsed::Complete(reply, length) => {
                    self.received.drain(..length);
                    return Ok(reply);
                }
                Parsed::Malformed(problem) => {
                    return Err(NoReply {
                        got: show_reply(&self.received),
                        form_hint: Some(format!(
                            "{problem}: every reply is `ddd text\\r\\n`, or lines `ddd-text\\r\\n` ending with `ddd text\\r\\n`"
                        )),
                    });
                }
                Parsed::Partial if self.received.len() >= MAX_REPLY_BYTES => {
                    return Err(NoReply {
                        got: format!("{}, and no end of the reply in sight", show_reply(&self.received)),
                        form_hint: Some("end every reply line with \\r\\n; the last line of a reply is `ddd text` (a space after the code)".into()),
                    });
                }
                Parsed::Partial => {}
            }
            let ending = match timeout_at(deadline, self.stream.read(&mut chunk)).await {
                Ok(Ok(0)) => ", then the server closed the connection".to_string(),
                Ok(Ok(n)) => {
                    self.received.extend_from_slice(&chunk[..n]);
                    continue;
                }
                Ok(Err(error)) => format!(", then an error: {error}"),
                Err(_) => format!(
                    ", then nothing more within {} s",
                    self.timeout.as_secs_f32()
                ),
            };
            let got = if self.received.is_empty() {
                match ending.strip_prefix(", then ") {
                    Some(rest) if rest.starts_with("nothing more") => {
                        format!("nothing within {} s", self.timeout.as_secs_f32())
                    }
                    Some(rest) => format!("nothing: {rest}"),
                    None => ending,
                }
            } else {
                format!("{}{ending}", show_reply(&self.received))
            };
            return Err(NoReply {
                got,
                form_hint: None,
            });
        }
    }

    /// Reads the next reply and checks its code is one of `codes`; else
    /// the stage fails, saying what was `expected` and with `hint` (or the
    /// reply's own form is at fault, and the hint says so).
    pub async fn expect(
        &mut self,
        codes: &[u16],
        expected: &str,
        hint: &str,
    ) -> Result<Reply, Failure> {
        match self.read_reply().await {
            Ok(reply) if codes.contains(&reply.code) => Ok(reply),
            Ok(reply) => Err(self.failure(expected, reply.describe(), hint)),
            Err(NoReply { got, form_hint }) => {
                let hint = form_hint.unwrap_or_else(|| hint.to_string());
                Err(self.failure(expected, got, hint))
            }
        }
    }

    /// Reads the `220` greeting of a `protocol` (`SMTP`, `FTP`) server. When
    /// nothing comes, the checker says `QUIT` (and an empty line) to learn
    /// what it reached: a server that answers it only forgot to speak first;
    /// an HTTP server answers `HTTP/1.1 400`, an echo server says `QUIT`
    /// back, and the hint names the command that checks those.
    pub async fn expect_greeting(&mut self, protocol: &str, hint: &str) -> Result<Reply, Failure> {
        const EXPECTED: &str = "a greeting starting `220`";
        let silent = match self.read_reply().await {
            Ok(reply) if reply.code == 220 => return Ok(reply),
            Ok(reply) => return Err(self.failure(EXPECTED, reply.describe(), hint)),
            Err(NoReply { got, form_hint }) => match form_hint {
                Some(form_hint) => return Err(self.failure(EXPECTED, got, form_hint)),
                // Silence (not a close): the server waits for something.
                None if self.received.is_empty() && got.starts_with("nothing within") => got,
                None => return Err(self.failure(EXPECTED, got, hint)),
            },
        };
        let label = format!(
            "nothing, a wait of {} s for the greeting, then \"QUIT\\r\\n\\r\\n\"",
            self.timeout.as_secs_f32()
        );
        if let Err(failure) = self.send(b"QUIT\r\n\r\n", Some(&label)).await {
            return Err(Failure::new(self.sent(), EXPECTED, silent, failure.hint));
        }
        let answer = match self.read_reply().await {
            Ok(reply) => reply.describe(),
            Err(NoReply { got, .. }) => got,
        };
        let got = format!("{silent}; to `QUIT`: {answer}");
        let addr = self
            .server_addr()
            .map_or_else(|| "ADDR".to_string(), |addr| addr.to_string());
        let hint = if self.received.starts_with(b"HTTP/") {
            format!(
                "this is an HTTP server (it answered `QUIT` with an HTTP response), not {protocol}: \
                 check it with `cargo run -p check -- http-raw {addr}`"
            )
        } else if self.received.starts_with(b"QUIT") {
            format!(
                "this server sends back what it receives, as lesson 1's echo server does, and \
                 does not speak {protocol}: check it with `cargo run -p check -- tcp-echo {addr}`"
            )
        } else {
            hint.to_string()
        };
        Err(self.failure(EXPECTED, got, hint))
    }

    /// Sends `line` and expects a reply with one of `codes`.
    pub async fn ask(
        &mut self,
        line: &str,
        codes: &[u16],
        expected: &str,
        hint: &str,
    ) -> Result<Reply, Failure> {
        self.send_line(line).await?;
        self.expect(codes, expected, hint).await
    }

    /// Expects the server to close the connection with nothing more said.
    pub async fn expect_close(&mut self, expected: &str, hint: &str) -> Result<(), Failure> {
        let rest = tcp::read_to_close(&mut self.stream, MAX_REPLY_BYTES, self.timeout).await;
        if self.received.is_empty()
            && rest.bytes.is_empty()
            && matches!(rest.end, tcp::ReplyEnd::Closed)
        {
            return Ok(());
        }
        let mut came = std::mem::take(&mut self.received);
        came.extend_from_slice(&rest.bytes);
        let got = tcp::Reply {
            bytes: came,
            end: rest.end,
        }
        .describe();
        Err(self.failure(expected, got, hint))
    }

    /// A failure of this conversation: the `sent:` line is what was sent
    /// on it, in order.
    pub fn failure(
        &self,
        expected: impl Into<String>,
        got: impl Into<String>,
        hint: impl Into<String>,
    ) -> Failure {
        Failure::new(self.sent(), expected, got, hint)
    }

    /// What was sent so far, as the `sent:` line shows it.
    pub fn sent(&self) -> String {
        if self.said.is_empty() {
            return "nothing: a connection, and a wait for the server to speak first".into();
        }
        let skipped = self.said.len().saturating_sub(SHOWN_COMMANDS);
        let shown = self.said[skipped..].join(", then ");
        match skipped {
            0 => shown,
            _ => format!("({skipped} commands, then) {shown}"),
        }
    }

    /// The deadline for each step on this connection.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The stream, for a stage that reads or writes it directly.
    pub fn stream(&mut self) -> &mut TcpStream {
        &mut self.stream
    }
}

/// `"EHLO me\r\n"`: a command as the `sent:` line shows it.
fn escaped(bytes: &[u8]) -> String {
    let mut text = String::from("\"");
    for &byte in bytes {
        push_escaped(&mut text, byte);
    }
    text.push('"');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(bytes: &[u8]) -> (u16, Vec<String>, usize) {
        match parse_reply(bytes) {
            Parsed::Complete(reply, length) => (reply.code, reply.lines, length),
            other => panic!("{other:?} for {bytes:?}"),
        }
    }

    #[test]
    fn one_line_and_several_line_replies_end_where_they_should() {
        assert_eq!(complete(b"250 OK\r\n"), (250, vec!["OK".into()], 8));
        assert_eq!(complete(b"221\r\n"), (221, vec!["".into()], 5));
        let ehlo = b"250-mail hello\r\n250-SIZE 100\r\n250 HELP\r\n354 next";
        assert_eq!(
            complete(ehlo),
            (
                250,
                vec!["mail hello".into(), "SIZE 100".into(), "HELP".into()],
                40
            )
        );
        // FTP: lines between need not carry the code.
        let ftp = b"211-Features:\r\n SIZE\r\n EPSV\r\n211 End\r\n";
        assert_eq!(complete(ftp).2, ftp.len());
    }

    #[test]
    fn every_proper_prefix_of_a_reply_is_partial() {
        let reply = b"250-a\r\n250-b\r\n250 c\r\n";
        for end in 0..reply.len() {
            assert_eq!(parse_reply(&reply[..end]), Parsed::Partial, "{end}");
        }
    }

    #[test]
    fn bare_lf_and_missing_codes_are_malformed() {
        for bytes in [&b"220 hi\n"[..], b"hello\r\n", b"22 x\r\n", b"220x\r\n"] {
            assert!(
                matches!(parse_reply(bytes), Parsed::Malformed(_)),
                "{bytes:?}"
            );
        }
    }
}
