//! Numbered replies, as SMTP and FTP send them: `250 OK`, `550 No such file`.
//!
//! What to notice:
//! - **The first digit is the outcome**, and a program needs nothing else
//!   to react (RFC 5321 section 4.2.1, RFC 959 section 4.2): 1 wait for
//!   another reply, 2 done, 3 send the rest, 4 failed this time (try again
//!   later), 5 failed for good. The second digit says what it is about (5:
//!   the mail system or file system, 0: syntax). The text is for people.
//!   HTTP's status codes come from the same idea (its 1xx to 5xx).
//! - **A reply of several lines** repeats the code on every line, with a
//!   `-` after it on all but the last: `250-SIZE 10485760` ... `250 HELP`.
//!   A client reads until a line whose fourth character is a space.
//! - FTP also lets the lines between the first and the last carry no code,
//!   if they start with a space (RFC 959 section 4.2; `FEAT`'s list of
//!   extensions is sent so, RFC 2389). A middle line starting with a space
//!   is sent as it is; SMTP's replies never have one.
//! - **A reply can never be turned into two** by text a client chose (its
//!   `EHLO` name, a file name): the writer drops every CR and starts a new
//!   reply line, with the code, at every LF. Without that, a file named
//!   `x\r\n226 done` would let a client forge a reply line.
//! - Replies are collected in a buffer and sent when the client has nothing
//!   more waiting to be read: a pipelining client's batch of commands gets
//!   its batch of replies in one write, one packet.

use std::borrow::Cow;
use std::io;

use tokio::io::{AsyncWrite, AsyncWriteExt};

/// One reply: a three-digit code and its text. A `\n` in the text starts
/// another line of the same reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    code: u16,
    text: Cow<'static, str>,
}

impl Reply {
    /// A reply with `code` (100 to 599) and `text`.
    pub fn new(code: u16, text: impl Into<Cow<'static, str>>) -> Reply {
        debug_assert!((100..600).contains(&code), "reply codes have 3 digits");
        Reply {
            code,
            text: text.into(),
        }
    }

    /// The three-digit code.
    pub fn code(&self) -> u16 {
        self.code
    }

    /// The text, lines separated by `\n`.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// A 4xx or 5xx: the command failed.
    pub fn is_failure(&self) -> bool {
        self.code >= 400
    }

    // ANCHOR: write_to
    /// Appends the reply's lines, as they go on the wire, to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let mut lines = self.text.split('\n').peekable();
        let mut first = true;
        while let Some(line) = lines.next() {
            let last = lines.peek().is_none();
            if first || last || !line.starts_with(' ') {
                out.extend_from_slice(itoa_3(self.code).as_slice());
                out.push(if last { b' ' } else { b'-' });
            }
            first = false;
            out.extend(line.bytes().filter(|&byte| byte != b'\r'));
            out.extend_from_slice(b"\r\n");
        }
    }
    // ANCHOR_END: write_to
}

/// The three ASCII digits of a reply code.
fn itoa_3(code: u16) -> [u8; 3] {
    let code = code.min(999);
    [
        b'0' + (code / 100) as u8,
        b'0' + (code / 10 % 10) as u8,
        b'0' + (code % 10) as u8,
    ]
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The last line is the one a log needs: `250 OK`, `552 too big`.
        let last = self.text.rsplit('\n').next().unwrap_or_default();
        write!(f, "{} {}", self.code, last.trim_end())
    }
}

/// Collects replies and sends them together.
#[derive(Debug)]
pub struct ReplyWriter<W> {
    writer: W,
    buf: Vec<u8>,
}

impl<W: AsyncWrite + Unpin> ReplyWriter<W> {
    /// A writer of replies to `writer`.
    pub fn new(writer: W) -> ReplyWriter<W> {
        ReplyWriter {
            writer,
            buf: Vec::with_capacity(512),
        }
    }

    /// Adds `reply` to what the next [`flush`](Self::flush) sends.
    pub fn push(&mut self, reply: &Reply) {
        tracing::debug!(code = reply.code, "reply: {reply}");
        reply.write_to(&mut self.buf);
    }

    /// Sends every reply collected so far.
    pub async fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.writer.write_all(&self.buf).await?;
            self.buf.clear();
        }
        self.writer.flush().await
    }

    /// The underlying writer, for what is not a reply (nothing, in SMTP;
    /// its shutdown, at the end).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.writer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(reply: Reply) -> String {
        let mut out = Vec::new();
        reply.write_to(&mut out);
        String::from_utf8(out).expect("ASCII")
    }

    #[test]
    fn one_line_is_code_space_text() {
        assert_eq!(wire(Reply::new(250, "OK")), "250 OK\r\n");
    }

    #[test]
    fn several_lines_have_a_dash_after_the_code_on_all_but_the_last() {
        assert_eq!(
            wire(Reply::new(250, "mail.test\nSIZE 100\nHELP")),
            "250-mail.test\r\n250-SIZE 100\r\n250 HELP\r\n"
        );
    }

    #[test]
    fn middle_lines_starting_with_a_space_carry_no_code() {
        assert_eq!(
            wire(Reply::new(211, "Features:\n EPSV\n SIZE\nEnd")),
            "211-Features:\r\n EPSV\r\n SIZE\r\n211 End\r\n"
        );
    }

    #[test]
    fn text_a_client_chose_cannot_forge_a_reply_line() {
        let forged = Reply::new(250, "hello x\r\n226 done".to_string());
        assert_eq!(wire(forged), "250-hello x\r\n250 226 done\r\n");
    }

    #[test]
    fn display_is_the_code_and_the_last_line() {
        assert_eq!(Reply::new(250, "a\nb").to_string(), "250 b");
    }
}
