//! The SMTP session as a state machine: which command is allowed when.
//!
//! What to notice:
//! - **No I/O here.** A command goes in, a reply (or "read the message
//!   now") comes out. Everything about order lives in one `match`, so it can
//!   be read, and tested, without a socket.
//! - The states follow RFC 5321 section 4.1.4: a client says hello (`EHLO`)
//!   before anything else; `MAIL FROM` starts a message, one or more
//!   `RCPT TO` name its recipients, `DATA` sends it. A command out of that
//!   order gets `503 bad sequence of commands`, and nothing changes.
//! - `RSET`, and a second `EHLO`, forget the message in progress but not
//!   the hello. After `DATA`, the session is back where `RSET` leaves it,
//!   so one connection can send many messages.
//!
//! ```text
//!   connect ──► Greeted ──EHLO──► Ready ──MAIL──► Mail ──RCPT──► Rcpt ──DATA──► (message)
//!                                   ▲                              │ RCPT            │
//!                                   └──────── RSET, EHLO ──────────┴─────────────────┘
//! ```

use crate::reply::Reply;
use crate::smtp::command::{Command, parse_command};
use crate::smtp::limits::MAX_RECIPIENTS;

/// The name this server gives itself in its replies and in the `Received:`
/// line. The DNS lesson's zone says mail for `plants.test` goes here (its
/// MX record).
pub const SERVER_NAME: &str = "mail.plants.test";

/// Who a message is from and for: the envelope, as opposed to the
/// message's own `From:` and `To:` lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The reverse-path of `MAIL FROM`; empty for a bounce.
    pub from: String,
    /// The forward-paths of `RCPT TO`, in order; at least one before DATA.
    pub to: Vec<String>,
}

/// What the connection must do after a command.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Send this reply, then read the next command.
    Reply(Reply),
    /// Send `354`, then read the message for this envelope (`data.rs`).
    ReadMessage(Envelope),
    /// Send this reply, then close the connection.
    Close(Reply),
}

/// One session's state.
#[derive(Debug)]
pub struct Session {
    /// The name the client gave in `EHLO` or `HELO`; `None` before.
    client_name: Option<String>,
    /// The message in progress, from `MAIL FROM` to `DATA`.
    envelope: Option<Envelope>,
    /// The largest message accepted, announced as `SIZE`.
    max_message_bytes: usize,
}

impl Session {
    /// A new session, before the client's hello.
    pub fn new(max_message_bytes: usize) -> Session {
        Session {
            client_name: None,
            envelope: None,
            max_message_bytes,
        }
    }

    /// The first reply, sent before the client says anything.
    pub fn greeting() -> Reply {
        Reply::new(220, format!("{SERVER_NAME} ESMTP netlessons ready"))
    }

    /// The name the client gave in its hello, for the `Received:` line.
    pub fn client_name(&self) -> Option<&str> {
        self.client_name.as_deref()
    }

    // ANCHOR: handle
    /// Carries out one command line (without its CRLF).
    pub fn handle(&mut self, line: &[u8]) -> Action {
        let command = match parse_command(line) {
            Ok(command) => command,
            Err(error) => return Action::Reply(error.reply()),
        };
        let reply = match command {
            Command::Ehlo(name) => self.hello(name, true),
            Command::Helo(name) => self.hello(name, false),
            Command::Mail { from, size } => self.mail(from, size),
            Command::Rcpt { to } => self.rcpt(to),
            Command::Data => return self.data(),
            Command::Rset => {
                self.envelope = None;
                ok()
            }
            Command::Noop => ok(),
            Command::Quit => {
                return Action::Close(Reply::new(221, format!("2.0.0 {SERVER_NAME} closing")));
            }
            Command::Help => Reply::new(
                214,
                "2.0.0 commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT HELP VRFY\n\
                 end a message with a line holding one dot; RFC 5321 has the rest",
            ),
            // RFC 5321 section 3.5.3: 252 when the server will not say.
            Command::Vrfy => Reply::new(252, "2.5.0 cannot verify, but will take a message"),
            Command::NotImplemented(verb) => {
                Reply::new(502, format!("5.5.1 {verb} is not implemented here"))
            }
        };
        Action::Reply(reply)
    }
    // ANCHOR_END: handle

    /// `EHLO` or `HELO`: remember the name, forget any message in progress.
    fn hello(&mut self, name: &str, extended: bool) -> Reply {
        self.client_name = Some(name.to_string());
        self.envelope = None;
        if !extended {
            return Reply::new(250, SERVER_NAME);
        }
        // The first line greets; each further line names an extension the
        // client may use (RFC 5321 section 4.1.1.1): SIZE (RFC 1870),
        // 8BITMIME (RFC 6152), PIPELINING (RFC 2920), and
        // ENHANCEDSTATUSCODES (RFC 2034: the `5.5.1` after the code, which
        // says more precisely what happened, for programs).
        Reply::new(
            250,
            format!(
                "{SERVER_NAME} hello {name}\nSIZE {}\n8BITMIME\nPIPELINING\nENHANCEDSTATUSCODES\nHELP",
                self.max_message_bytes
            ),
        )
    }

    /// `MAIL FROM`: a new message, if the client said hello and has none
    /// in progress.
    fn mail(&mut self, from: &str, size: Option<u64>) -> Reply {
        if self.client_name.is_none() {
            return out_of_order("send EHLO first");
        }
        if self.envelope.is_some() {
            return out_of_order("a message is already in progress; RSET to start again");
        }
        // RFC 1870: a declared size over the limit is refused before any
        // byte of the message is sent.
        if size.is_some_and(|size| size > self.max_message_bytes as u64) {
            return too_big(self.max_message_bytes);
        }
        self.envelope = Some(Envelope {
            from: from.to_string(),
            to: Vec::new(),
        });
        ok()
    }

    /// `RCPT TO`: one more recipient, up to [`MAX_RECIPIENTS`].
    fn rcpt(&mut self, to: &str) -> Reply {
        let Some(envelope) = &mut self.envelope else {
            return out_of_order("send MAIL FROM first");
        };
        if envelope.to.len() >= MAX_RECIPIENTS {
            return Reply::new(
                452,
                format!("4.5.3 too many recipients: {MAX_RECIPIENTS} per message"),
            );
        }
        envelope.to.push(to.to_string());
        ok()
    }

    /// `DATA`: hand the envelope to the connection, which reads the message.
    fn data(&mut self) -> Action {
        match self.envelope.take() {
            None => Action::Reply(out_of_order("send MAIL FROM first")),
            Some(envelope) if envelope.to.is_empty() => {
                self.envelope = Some(envelope);
                Action::Reply(out_of_order("send RCPT TO first"))
            }
            Some(envelope) => Action::ReadMessage(envelope),
        }
    }
}

/// `250 OK`.
fn ok() -> Reply {
    Reply::new(250, "2.0.0 OK")
}

/// `503`: a command in the wrong place.
fn out_of_order(what_to_do: &'static str) -> Reply {
    Reply::new(503, format!("5.5.1 bad sequence of commands: {what_to_do}"))
}

/// `552`: over the message size limit (RFC 1870 section 6).
pub fn too_big(max_message_bytes: usize) -> Reply {
    Reply::new(
        552,
        format!("5.3.4 message too big: at most {max_message_bytes} bytes"),
    )
}

/// The reply to `354`: how to end the message.
pub fn start_data() -> Reply {
    Reply::new(354, "end the message with a line holding only a dot")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `lines` through a new session; returns each reply's code
    /// (`354` for DATA).
    fn codes(lines: &[&str]) -> Vec<u16> {
        let mut session = Session::new(1000);
        lines
            .iter()
            .map(|line| match session.handle(line.as_bytes()) {
                Action::Reply(reply) | Action::Close(reply) => reply.code(),
                Action::ReadMessage(_) => 354,
            })
            .collect()
    }

    #[test]
    fn a_whole_transaction_in_order() {
        assert_eq!(
            codes(&[
                "EHLO me",
                "MAIL FROM:<a@b.test>",
                "RCPT TO:<c@d.test>",
                "DATA"
            ]),
            [250, 250, 250, 354]
        );
    }

    #[test]
    fn commands_out_of_order_get_503_and_change_nothing() {
        assert_eq!(codes(&["MAIL FROM:<a@b.test>"]), [503]);
        assert_eq!(codes(&["EHLO me", "RCPT TO:<c@d.test>"]), [250, 503]);
        assert_eq!(codes(&["EHLO me", "DATA"]), [250, 503]);
        assert_eq!(
            codes(&[
                "EHLO me",
                "MAIL FROM:<a@b.test>",
                "DATA",
                "MAIL FROM:<x@b.test>",
                "RCPT TO:<c@d.test>",
                "DATA"
            ]),
            [250, 250, 503, 503, 250, 354]
        );
    }

    #[test]
    fn rset_and_a_new_hello_forget_the_message_but_not_the_hello() {
        assert_eq!(
            codes(&[
                "EHLO me",
                "MAIL FROM:<a@b.test>",
                "RSET",
                "RCPT TO:<c@d.test>",
                "MAIL FROM:<a@b.test>",
                "EHLO again",
                "RCPT TO:<c@d.test>",
            ]),
            [250, 250, 250, 503, 250, 250, 503]
        );
    }

    #[test]
    fn ehlo_announces_the_size_limit() {
        let mut session = Session::new(12345);
        let Action::Reply(reply) = session.handle(b"EHLO me") else {
            panic!("EHLO is answered")
        };
        assert!(reply.text().contains("\nSIZE 12345\n"), "{reply:?}");
    }

    #[test]
    fn a_declared_size_over_the_limit_gets_552_at_mail_from() {
        assert_eq!(
            codes(&[
                "EHLO me",
                "MAIL FROM:<a@b.test> SIZE=1001",
                "MAIL FROM:<a@b.test> SIZE=1000"
            ]),
            [250, 552, 250]
        );
    }

    #[test]
    fn recipients_are_accepted_up_to_the_limit_then_452() {
        let mut lines = vec!["EHLO me".to_string(), "MAIL FROM:<a@b.test>".to_string()];
        for n in 1..=MAX_RECIPIENTS + 1 {
            lines.push(format!("RCPT TO:<r{n}@d.test>"));
        }
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let codes = codes(&lines);
        // Recipient n's reply is at index n + 1 (after EHLO and MAIL).
        assert_eq!(codes[MAX_RECIPIENTS], 250, "recipient limit - 1");
        assert_eq!(codes[MAX_RECIPIENTS + 1], 250, "recipient limit");
        assert_eq!(codes[MAX_RECIPIENTS + 2], 452, "recipient limit + 1");
    }

    #[test]
    fn quit_closes_and_unknown_commands_get_500_or_502() {
        assert_eq!(codes(&["QUIT"]), [221]);
        assert_eq!(codes(&["FOO", "EXPN x", "VRFY bob"]), [500, 502, 252]);
    }
}
