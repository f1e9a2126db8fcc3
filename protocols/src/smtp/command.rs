//! The command parser: one SMTP command line in, a typed `Command` out.
//!
//! What to notice:
//! - A command is a four-letter verb, in any case (`ehlo` is `EHLO`), and
//!   its argument (RFC 5321 section 4.1.1). The parser does not know what
//!   state the session is in; `session.rs` decides whether the command is
//!   allowed now.
//! - The envelope addresses, `MAIL FROM:<a@b>` and `RCPT TO:<c@d>`, are
//!   what the mail system delivers by; the `From:` and `To:` lines inside
//!   the message are only text. That is how `Bcc` works, and also how spam
//!   forges a sender.
//! - RFC 5321 allows no space after `FROM:`; many old clients send one, so
//!   it is accepted ("be liberal in what you accept", where it is safe).
//! - Each way a command can be wrong has its own reply code: 500 for a verb
//!   we do not know, 502 for one we know and do not do, 501 for a bad
//!   argument, 555 for an unknown `MAIL` parameter, 552 for a declared size
//!   over the limit.

use crate::reply::Reply;
use crate::smtp::limits::{MAX_DOMAIN, MAX_PATH};

/// A command, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command<'a> {
    /// `EHLO name`: hello, and list your extensions (RFC 5321 section 4.1.1.1).
    Ehlo(&'a str),
    /// `HELO name`: hello, from a client that knows no extensions.
    Helo(&'a str),
    /// `MAIL FROM:<path> [SIZE=n] [BODY=8BITMIME]`: a new message; `path`
    /// is where failures are reported, empty (`<>`) for a bounce.
    Mail {
        /// The reverse-path, without `<>`; may be empty.
        from: &'a str,
        /// `SIZE=n` (RFC 1870): the size the client expects to send.
        size: Option<u64>,
    },
    /// `RCPT TO:<path>`: one more recipient.
    Rcpt {
        /// The forward-path, without `<>`.
        to: &'a str,
    },
    /// `DATA`: the message follows, up to a line with a lone dot.
    Data,
    /// `RSET`: forget the message in progress.
    Rset,
    /// `NOOP`: nothing; the server answers `250`.
    Noop,
    /// `QUIT`: the server answers `221` and closes.
    Quit,
    /// `HELP`: the commands, for a person.
    Help,
    /// `VRFY name`: does this mailbox exist? (Answered `252`: we never say.)
    Vrfy,
    /// A command in RFC 5321 or a common extension that this server does
    /// not implement (`EXPN`, `STARTTLS`, `AUTH`...): `502`.
    NotImplemented(&'static str),
}

/// Why a line is not a command we can carry out. Each maps to one reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    /// No such verb: `500`.
    Unrecognized,
    /// The right verb with a bad argument: `501` and why.
    Syntax(&'static str),
    /// A `MAIL` or `RCPT` parameter we do not know: `555` (RFC 5321
    /// section 4.1.1.11).
    UnknownParameter,
}

impl CommandError {
    /// The reply that says what was wrong.
    pub fn reply(&self) -> Reply {
        match self {
            CommandError::Unrecognized => Reply::new(500, "5.5.2 command not recognized"),
            CommandError::Syntax(why) => Reply::new(501, format!("5.5.4 syntax: {why}")),
            CommandError::UnknownParameter => {
                Reply::new(555, "5.5.4 parameter not recognized or not implemented")
            }
        }
    }
}

/// Commands this server knows of and does not carry out.
const NOT_IMPLEMENTED: [&str; 7] = ["EXPN", "TURN", "ETRN", "STARTTLS", "AUTH", "BDAT", "ATRN"];

// ANCHOR: parse_command
/// Parses one command line (without its CRLF).
pub fn parse_command(line: &[u8]) -> Result<Command<'_>, CommandError> {
    // Commands are ASCII (RFC 5321 section 2.4); non-UTF-8 is no command.
    let line = std::str::from_utf8(line).map_err(|_| CommandError::Unrecognized)?;
    let (verb, argument) = match line.split_once(' ') {
        Some((verb, argument)) => (verb, argument.trim()),
        None => (line, ""),
    };
    let is = |name: &str| verb.eq_ignore_ascii_case(name);
    let no_argument = |command| {
        if argument.is_empty() {
            Ok(command)
        } else {
            Err(CommandError::Syntax("this command takes no argument"))
        }
    };
    if is("EHLO") {
        Ok(Command::Ehlo(client_name(argument)?))
    } else if is("HELO") {
        Ok(Command::Helo(client_name(argument)?))
    } else if is("MAIL") {
        parse_mail(argument)
    } else if is("RCPT") {
        parse_rcpt(argument)
    } else if is("DATA") {
        no_argument(Command::Data)
    } else if is("RSET") {
        no_argument(Command::Rset)
    } else if is("QUIT") {
        no_argument(Command::Quit)
    } else if is("NOOP") {
        // NOOP may carry a string, which is ignored (section 4.1.1.9).
        Ok(Command::Noop)
    } else if is("HELP") {
        Ok(Command::Help)
    } else if is("VRFY") {
        Ok(Command::Vrfy)
    } else if let Some(name) = NOT_IMPLEMENTED.iter().find(|name| is(name)) {
        Ok(Command::NotImplemented(name))
    } else {
        Err(CommandError::Unrecognized)
    }
}
// ANCHOR_END: parse_command

/// The name after `EHLO` or `HELO`: a domain or an address literal
/// (`[127.0.0.1]`), visible ASCII.
fn client_name(argument: &str) -> Result<&str, CommandError> {
    if argument.is_empty() {
        return Err(CommandError::Syntax("say who you are: EHLO name"));
    }
    if argument.len() > MAX_DOMAIN || !argument.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Err(CommandError::Syntax(
            "the name must be at most 255 visible ASCII characters",
        ));
    }
    Ok(argument)
}

/// `FROM:<path> [SIZE=n] [BODY=7BIT|8BITMIME]`.
fn parse_mail(argument: &str) -> Result<Command<'_>, CommandError> {
    let rest = strip_prefix_ignore_case(argument, "FROM:")
        .ok_or(CommandError::Syntax("MAIL FROM:<address>"))?;
    let (from, parameters) = path(rest)?;
    let mut size = None;
    for parameter in parameters.split_ascii_whitespace() {
        let (key, value) = parameter.split_once('=').unwrap_or((parameter, ""));
        if key.eq_ignore_ascii_case("SIZE") {
            let declared = value
                .parse::<u64>()
                .map_err(|_| CommandError::Syntax("SIZE=number of bytes"))?;
            size = Some(declared);
        } else if key.eq_ignore_ascii_case("BODY")
            && (value.eq_ignore_ascii_case("7BIT") || value.eq_ignore_ascii_case("8BITMIME"))
        {
            // Bytes are stored as they arrive, so 8-bit bodies need nothing.
        } else {
            return Err(CommandError::UnknownParameter);
        }
    }
    Ok(Command::Mail { from, size })
}

/// `TO:<path>`; RCPT parameters (RFC 3461's delivery notifications) are
/// not implemented.
fn parse_rcpt(argument: &str) -> Result<Command<'_>, CommandError> {
    let rest = strip_prefix_ignore_case(argument, "TO:")
        .ok_or(CommandError::Syntax("RCPT TO:<address>"))?;
    let (to, parameters) = path(rest)?;
    if !parameters.trim().is_empty() {
        return Err(CommandError::UnknownParameter);
    }
    let is_postmaster = to.eq_ignore_ascii_case("postmaster");
    if !to.contains('@') && !is_postmaster {
        // `<postmaster>` without a domain must be accepted (section 4.5.1).
        return Err(CommandError::Syntax("a recipient looks like <name@domain>"));
    }
    Ok(Command::Rcpt { to })
}

/// Splits `<path> rest` into the path (without `<>`) and the rest.
///
/// A shortcut, named: a path is visible ASCII without `<`, `>` or spaces.
/// RFC 5321 also allows quoted local parts (`"john doe"@example.com`);
/// real clients almost never send them.
fn path(text: &str) -> Result<(&str, &str), CommandError> {
    let text = text.trim_start();
    let inner = text.strip_prefix('<').ok_or(CommandError::Syntax(
        "the address goes in angle brackets: <name@domain>",
    ))?;
    let end = inner
        .find('>')
        .ok_or(CommandError::Syntax("the address has no closing >"))?;
    let (path, rest) = (&inner[..end], &inner[end + 1..]);
    // `<` and `>` count towards the limit (RFC 5321 section 4.5.3.1.3).
    if path.len() + 2 > MAX_PATH {
        return Err(CommandError::Syntax(
            "the address is longer than 256 characters",
        ));
    }
    if !path
        .bytes()
        .all(|byte| byte.is_ascii_graphic() && byte != b'<')
    {
        return Err(CommandError::Syntax(
            "the address must be visible ASCII, without spaces",
        ));
    }
    Ok((path, rest))
}

/// `text` without `prefix`, compared without regard to case.
fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_in_any_case() {
        let table: &[(&str, Command)] = &[
            ("EHLO client.test", Command::Ehlo("client.test")),
            ("ehlo [127.0.0.1]", Command::Ehlo("[127.0.0.1]")),
            ("HELO me", Command::Helo("me")),
            (
                "MAIL FROM:<a@b.test>",
                Command::Mail {
                    from: "a@b.test",
                    size: None,
                },
            ),
            (
                "mail from: <a@b.test> SIZE=1000 BODY=8BITMIME",
                Command::Mail {
                    from: "a@b.test",
                    size: Some(1000),
                },
            ),
            (
                "MAIL FROM:<>",
                Command::Mail {
                    from: "",
                    size: None,
                },
            ),
            ("RCPT TO:<c@d.test>", Command::Rcpt { to: "c@d.test" }),
            ("RCPT TO:<Postmaster>", Command::Rcpt { to: "Postmaster" }),
            ("DATA", Command::Data),
            ("rset", Command::Rset),
            ("NOOP anything at all", Command::Noop),
            ("QUIT", Command::Quit),
            ("HELP MAIL", Command::Help),
            ("VRFY bob", Command::Vrfy),
            ("STARTTLS", Command::NotImplemented("STARTTLS")),
            ("expn list", Command::NotImplemented("EXPN")),
        ];
        for (line, command) in table {
            assert_eq!(
                parse_command(line.as_bytes()).as_ref(),
                Ok(command),
                "{line}"
            );
        }
    }

    #[test]
    fn each_kind_of_mistake_has_its_reply_code() {
        let table: &[(&[u8], u16)] = &[
            (b"HELLO", 500),
            (b"GET / HTTP/1.1", 500),
            (b"\xff\xfe", 500),
            (b"EHLO", 501),
            (b"EHLO a\x01b", 501),
            (b"MAIL a@b.test", 501),
            (b"MAIL FROM:a@b.test", 501),
            (b"MAIL FROM:<a@b.test", 501),
            (b"MAIL FROM:<a b@c.test>", 501),
            (b"MAIL FROM:<a@b.test> SIZE=lots", 501),
            (b"MAIL FROM:<a@b.test> AUTH=<>", 555),
            (b"RCPT TO:<nobody>", 501),
            (b"RCPT TO:<a@b.test> NOTIFY=NEVER", 555),
            (b"DATA now", 501),
            (b"QUIT please", 501),
        ];
        for (line, code) in table {
            let error = parse_command(line).expect_err(&String::from_utf8_lossy(line));
            assert_eq!(
                error.reply().code(),
                *code,
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn an_ehlo_name_fits_255_characters_not_256() {
        for (len, fits) in [(254, true), (255, true), (256, false)] {
            let line = format!("EHLO {}", "a".repeat(len));
            assert_eq!(parse_command(line.as_bytes()).is_ok(), fits, "{len}");
        }
    }

    #[test]
    fn a_path_fits_256_characters_with_its_brackets_not_one_more() {
        for (len, fits) in [(253, true), (254, true), (255, false)] {
            let local = "a".repeat(len - "@b.test".len());
            let line = format!("RCPT TO:<{local}@b.test>");
            assert_eq!(
                parse_command(line.as_bytes()).is_ok(),
                fits,
                "path of {len}"
            );
        }
    }
}
