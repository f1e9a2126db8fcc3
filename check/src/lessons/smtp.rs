//! `cargo run -p check -- smtp ADDR`: lesson 6's SMTP stages: what a server receiving mail must do (RFC 5321).
//!
//! What to notice: the checker is a mail client that says every word it
//! sends, one command at a time, waiting for each reply (no pipelining), so
//! a reply's code is the whole verdict. It cannot see the files a server
//! stores, so it judges by the conversation: a message that ended too early
//! shows as replies to lines that were part of the message, and it sends a
//! probe command after each message to catch them. The stages follow the
//! build-along (`docs/src/smtp-build.md`): the conversation (1-4), a whole
//! message and its order (5-8), then the limits a real server keeps (9-11).

// A stage's `Failure` is its report, four strings: it is made at most once
// per stage, so its size costs nothing, and the helpers that check a part of
// a stage return it as the stages do.
#![allow(clippy::result_large_err)]

use crate::conversation::{Conversation, Reply};
use crate::runner::{Failure, Stage};
use crate::target::Target;

/// The stages, in order.
pub const STAGES: &[Stage<Target>] = &[
    Stage {
        name: "greeting: 220",
        check: |target| Box::pin(greeting(target)),
    },
    Stage {
        name: "EHLO and HELO",
        check: |target| Box::pin(ehlo_and_helo(target)),
    },
    Stage {
        name: "NOOP and QUIT",
        check: |target| Box::pin(noop_and_quit(target)),
    },
    Stage {
        name: "unknown command: 500",
        check: |target| Box::pin(unknown_command(target)),
    },
    Stage {
        name: "a whole message: MAIL, RCPT, DATA, dot-stuffing",
        check: |target| Box::pin(whole_message(target)),
    },
    Stage {
        name: "out of order: 503",
        check: |target| Box::pin(out_of_order(target)),
    },
    Stage {
        name: "RSET",
        check: |target| Box::pin(rset(target)),
    },
    Stage {
        name: "5 clients at once",
        check: |target| Box::pin(clients_at_once(target)),
    },
    Stage {
        name: "EHLO lists SIZE",
        check: |target| Box::pin(lists_size(target)),
    },
    Stage {
        name: "over SIZE: 552",
        check: |target| Box::pin(over_size(target)),
    },
    Stage {
        name: "only CRLF.CRLF ends a message",
        check: |target| Box::pin(only_crlf_dot_crlf(target)),
    },
];

/// The name the checker gives in `EHLO`.
const CLIENT_NAME: &str = "checker.test";

/// The envelope's sender, and its two recipients.
const SENDER: &str = "checker@example.com";
const RECIPIENT: &str = "you@plants.test";
const SECOND_RECIPIENT: &str = "boss@plants.test";

/// Stage 8 opens this many connections before any of them says `EHLO`.
pub const CLIENTS_AT_ONCE: usize = 5;

/// The largest `SIZE` stage 10 will test by sending more than it: 64 MiB.
/// Real servers announce 10 to 50 MiB; sending more would only slow the
/// check.
pub const MAX_CHECKED_SIZE: u64 = 64 * 1024 * 1024;

/// Stage 10's message is made of lines of this many bytes, CRLF included:
/// well under the 1000 a server must take (RFC 5321 section 4.5.3.1.6).
const OVERSIZE_LINE: usize = 500;

/// Stage 10 may take this many step timeouts to send its message: 10 MiB
/// through a debug build on a busy machine takes a while.
const OVERSIZE_STEPS: u32 = 12;

/// Stage 5's message. Two of its lines start with a dot, so the client
/// doubles it (RFC 5321 section 4.5.2), one of them a lone dot that would
/// end the message if the server did not take the doubled dot away; a line
/// `QUIT` follows, which a server that ended the message early would obey.
const MESSAGE: &[u8] = b"From: <checker@example.com>\r\n\
To: <you@plants.test>\r\n\
Subject: a message from the checker\r\n\
\r\n\
A first line.\r\n\
..a line that starts with a dot, sent with the dot doubled\r\n\
..\r\n\
QUIT\r\n\
The two lines above are part of the message.\r\n\
.\r\n";

/// Stage 11's message: a lone dot between bare LFs (`\n.\n`), then what
/// looks like a second message from someone else. Only `\r\n.\r\n` ends a
/// message, so all of it is one message (or one refused message).
const SMUGGLING: &[u8] = b"Subject: one message\r\n\
\r\n\
hello\n.\n\
MAIL FROM:<ceo@bank.test>\r\n\
RCPT TO:<you@plants.test>\r\n\
DATA\r\n\
Subject: a second message, smuggled inside the first\r\n\
\r\n\
Please send money.\r\n\
.\r\n";

const GREETING_HINT: &str = "in SMTP the server speaks first: as soon as a client connects, \
     write `220 NAME ESMTP ready\\r\\n`, before reading anything";

const EHLO_HINT: &str = "answer `EHLO name` with `250` (extensions on more lines: \
     `250-NAME hello\\r\\n` ... `250 SIZE 10485760\\r\\n`)";

const DOT_STUFFING_HINT: &str = "the message ended before its lone dot: a line that starts with a dot \
     comes with the dot doubled (`..`, dot-stuffing, RFC 5321 section 4.5.2), so take one away and read on; \
     only a line holding a single `.` ends the message";

/// Connects and reads the `220` greeting.
async fn greeted(target: &Target) -> Result<(Conversation, Reply), Failure> {
    let mut smtp = Conversation::open(target).await?;
    let greeting = smtp.expect_greeting("SMTP", GREETING_HINT).await?;
    Ok((smtp, greeting))
}

/// Whether a `220` greeting names FTP (`220 ProFTPD`, `220 (vsFTPd 3.0.3)`,
/// `220 pyftpdlib ready`) and not SMTP: FTP servers greet with `220` too,
/// so a learner may have pointed this checker at one.
fn greets_like_ftp(greeting: &Reply) -> bool {
    let text = greeting.text().to_ascii_lowercase();
    text.contains("ftp") && !text.contains("smtp")
}

/// Connects, is greeted, and says `EHLO`; the `250` reply lists the
/// server's extensions.
async fn hello(target: &Target) -> Result<(Conversation, Reply), Failure> {
    let (mut smtp, greeting) = greeted(target).await?;
    let reply = smtp
        .ask(
            &format!("EHLO {CLIENT_NAME}"),
            &[250],
            "a `250` reply",
            EHLO_HINT,
        )
        .await
        .map_err(|mut failure| {
            if greets_like_ftp(&greeting) {
                failure.hint = format!(
                    "this is an FTP server (its greeting says so), not SMTP: check it with \
                     `cargo run -p check -- ftp {}`",
                    target.addr()
                );
            }
            failure
        })?;
    Ok((smtp, reply))
}

/// `MAIL FROM`, one `RCPT TO` per recipient, `DATA`: up to the `354`.
async fn start_message(
    smtp: &mut Conversation,
    sender: &str,
    recipients: &[&str],
) -> Result<(), Failure> {
    smtp.ask(
        &format!("MAIL FROM:<{sender}>"),
        &[250],
        "`250`",
        "`MAIL FROM:<address>` starts a message: answer `250`",
    )
    .await?;
    for recipient in recipients {
        smtp.ask(
            &format!("RCPT TO:<{recipient}>"),
            &[250, 251],
            "`250`",
            "each `RCPT TO:<address>` adds a recipient: answer each with `250`",
        )
        .await?;
    }
    smtp.ask(
        "DATA",
        &[354],
        "`354`: go ahead, end with a lone dot",
        "answer `DATA` (after a recipient) with `354`, then read the message's lines up to \
         a line holding only a dot",
    )
    .await?;
    Ok(())
}

/// Stage 1: the server speaks first, with `220`.
async fn greeting(target: &mut Target) -> Result<(), Failure> {
    greeted(target).await.map(drop)
}

/// Stage 2: `EHLO` and `HELO` both get `250`.
async fn ehlo_and_helo(target: &mut Target) -> Result<(), Failure> {
    let (mut smtp, _) = hello(target).await?;
    smtp.ask(
        &format!("HELO {CLIENT_NAME}"),
        &[250],
        "a `250` reply",
        "HELO is EHLO's older form, still sent by small clients: answer it with one `250` line \
         (RFC 5321 section 4.1.1.1: a server accepts both)",
    )
    .await?;
    Ok(())
}

/// Stage 3: `NOOP` gets `250`; `QUIT` gets `221`, then the server closes.
async fn noop_and_quit(target: &mut Target) -> Result<(), Failure> {
    let (mut smtp, _) = hello(target).await?;
    smtp.ask(
        "NOOP",
        &[250],
        "`250`",
        "NOOP does nothing, and says so: `250 OK`",
    )
    .await?;
    smtp.ask(
        "QUIT",
        &[221],
        "`221`",
        "answer QUIT with `221`, then close the connection",
    )
    .await?;
    smtp.expect_close(
        "the server to close the connection after `221`",
        "after `221`, close the connection (RFC 5321 section 4.1.1.10): the client waits for the close",
    )
    .await
}

/// Stage 4: an unknown command gets `500` (or `502`), and the session goes on.
async fn unknown_command(target: &mut Target) -> Result<(), Failure> {
    let (mut smtp, _) = hello(target).await?;
    smtp.ask(
        "XYZZY plugh",
        &[500, 502],
        "`500` (command not recognized) or `502` (not implemented)",
        "a command you do not know gets `500 command not recognized`, and the session goes on",
    )
    .await?;
    smtp.ask(
        "NOOP",
        &[250],
        "`250`: the session goes on after a `500`",
        "after a `500`, keep reading commands: one bad line is not the end of the session",
    )
    .await?;
    Ok(())
}

/// Stage 5: a message to two recipients, with dot-stuffed lines, ends at
/// its lone dot and gets `250`; the session goes on.
async fn whole_message(target: &mut Target) -> Result<(), Failure> {
    let (mut smtp, _) = hello(target).await?;
    start_message(&mut smtp, SENDER, &[RECIPIENT, SECOND_RECIPIENT]).await?;
    smtp.send(MESSAGE, None).await?;
    smtp.expect(
        &[250],
        "`250`: the message is stored",
        "the message ends at `\\r\\n.\\r\\n`, a line holding only a dot: answer `250` once it is stored",
    )
    .await?;
    smtp.ask(
        "NOOP",
        &[250],
        "`250` for the NOOP, the next command after the message",
        DOT_STUFFING_HINT,
    )
    .await?;
    Ok(())
}

/// Stage 6: `RCPT` before `MAIL`, `DATA` before `RCPT`, and `RCPT` after
/// a message has ended get `503`.
async fn out_of_order(target: &mut Target) -> Result<(), Failure> {
    let (mut smtp, _) = hello(target).await?;
    smtp.ask(
        &format!("RCPT TO:<{RECIPIENT}>"),
        &[503],
        "`503`: bad sequence of commands",
        "`RCPT TO` before `MAIL FROM` is out of order: answer `503 bad sequence of commands`",
    )
    .await?;
    smtp.ask(
        &format!("MAIL FROM:<{SENDER}>"),
        &[250],
        "`250`",
        "`MAIL FROM:<address>` starts a message: answer `250`",
    )
    .await?;
    smtp.ask(
        "DATA",
        &[503, 554],
        "`503` (or `554`, no valid recipients)",
        "`DATA` before any `RCPT TO` is out of order: answer `503`, and do not read a message",
    )
    .await?;
    smtp.ask(
        &format!("RCPT TO:<{RECIPIENT}>"),
        &[250, 251],
        "`250`",
        "the `503` for `DATA` must not end the message being built: `RCPT TO` still adds a recipient",
    )
    .await?;
    smtp.ask(
        "DATA",
        &[354],
        "`354`",
        "answer `DATA` after a recipient with `354`",
    )
    .await?;
    smtp.send(b"Subject: short\r\n\r\nhello\r\n.\r\n", None)
        .await?;
    smtp.expect(&[250], "`250`: the message is stored", DOT_STUFFING_HINT)
        .await?;
    smtp.ask(
        &format!("RCPT TO:<{RECIPIENT}>"),
        &[503],
        "`503`: the message is done, a new one starts with `MAIL FROM`",
        "the `250` after a message ends its transaction (RFC 5321 section 4.1.1.4): forget the \
         sender and recipients, so the next message starts again at `MAIL FROM`",
    )
    .await?;
    Ok(())
}

/// Stage 7: `RSET` forgets the envelope; a new message can start.
async fn rset(target: &mut Target) -> Result<(), Failure> {
    let (mut smtp, _) = hello(target).await?;
    smtp.ask(
        &format!("MAIL FROM:<{SENDER}>"),
        &[250],
        "`250`",
        "`MAIL FROM:<address>` starts a message: answer `250`",
    )
    .await?;
    smtp.ask(
        &format!("RCPT TO:<{RECIPIENT}>"),
        &[250, 251],
        "`250`",
        "each `RCPT TO:<address>` adds a recipient: answer each with `250`",
    )
    .await?;
    smtp.ask(
        "RSET",
        &[250],
        "`250`",
        "`RSET` forgets the message being built, and answers `250`",
    )
    .await?;
    smtp.ask(
        "DATA",
        &[503, 554],
        "`503`: after RSET there is no sender and no recipient",
        "`RSET` must forget the sender and the recipients: `DATA` after it is out of order (`503`)",
    )
    .await?;
    smtp.ask(
        &format!("MAIL FROM:<{SENDER}>"),
        &[250],
        "`250`: a new message may start after RSET",
        "after `RSET`, a new message starts with `MAIL FROM`",
    )
    .await?;
    Ok(())
}

/// Stage 8: five clients connected at once are each greeted, and send a
/// message each, their commands interleaved.
async fn clients_at_once(target: &mut Target) -> Result<(), Failure> {
    let mut clients = Vec::new();
    for n in 1..=CLIENTS_AT_ONCE {
        let mut smtp = Conversation::open(target).await?;
        smtp.expect(
            &[220],
            "a `220` greeting, with the other clients still connected",
            "serve each client on its own (a thread or a task per connection): this client waited \
             for its greeting while the ones before it were connected",
        )
        .await
        .map_err(|failure| as_client(n, failure))?;
        clients.push(smtp);
    }
    let hint = "keep each connection's session its own: one client's MAIL FROM or RCPT TO must \
                not change another's message";
    // Each step on every client, in reverse order, before the next step.
    for (n, smtp) in clients.iter_mut().enumerate().rev() {
        smtp.ask(
            &format!("EHLO client-{}.test", n + 1),
            &[250],
            "`250`",
            EHLO_HINT,
        )
        .await
        .map_err(|failure| as_client(n + 1, failure))?;
    }
    for (n, smtp) in clients.iter_mut().enumerate().rev() {
        smtp.ask(
            &format!("MAIL FROM:<client-{}@example.com>", n + 1),
            &[250],
            "`250`",
            hint,
        )
        .await
        .map_err(|failure| as_client(n + 1, failure))?;
    }
    for (n, smtp) in clients.iter_mut().enumerate() {
        smtp.ask(
            &format!("RCPT TO:<{RECIPIENT}>"),
            &[250, 251],
            "`250`",
            hint,
        )
        .await
        .map_err(|failure| as_client(n + 1, failure))?;
    }
    for (n, smtp) in clients.iter_mut().enumerate().rev() {
        smtp.ask("DATA", &[354], "`354`", hint)
            .await
            .map_err(|failure| as_client(n + 1, failure))?;
    }
    for (n, smtp) in clients.iter_mut().enumerate() {
        let message = format!(
            "Subject: client {}\r\n\r\nfrom client {}\r\n.\r\n",
            n + 1,
            n + 1
        );
        smtp.send(message.as_bytes(), None)
            .await
            .map_err(|failure| as_client(n + 1, failure))?;
        smtp.expect(&[250], "`250`: the message is stored", hint)
            .await
            .map_err(|failure| as_client(n + 1, failure))?;
    }
    Ok(())
}

/// Names the client in a failure of stage 8.
fn as_client(n: usize, mut failure: Failure) -> Failure {
    failure.sent = format!(
        "client {n} of {CLIENTS_AT_ONCE}, all connected at once: {}",
        failure.sent
    );
    failure
}

/// Stage 9: the `EHLO` reply lists `SIZE` with the largest message taken.
async fn lists_size(target: &mut Target) -> Result<(), Failure> {
    let (smtp, ehlo) = hello(target).await?;
    size_limit(&smtp, &ehlo).map(drop)
}

/// The limit the `EHLO` reply's `SIZE` line gives, if it gives one the
/// checker can test.
fn size_limit(smtp: &Conversation, ehlo: &Reply) -> Result<u64, Failure> {
    let expected = format!("a line `SIZE N` in the EHLO reply, N from 1 to {MAX_CHECKED_SIZE}");
    // The first line is the greeting's name; extensions follow (RFC 5321
    // section 4.1.1.1), a keyword and its parameters each.
    let size = ehlo.lines.iter().skip(1).find_map(|line| {
        let mut words = line.split_ascii_whitespace();
        let keyword = words.next()?;
        keyword.eq_ignore_ascii_case("SIZE").then(|| words.next())
    });
    let hint = match size {
        None => {
            "list the SIZE extension in the EHLO reply (`250-SIZE 10485760`, RFC 1870): it tells \
                 clients the largest message you take, so they need not send one you will refuse"
        }
        Some(number) => match number.and_then(|number| number.parse::<u64>().ok()) {
            Some(limit @ 1..=MAX_CHECKED_SIZE) => return Ok(limit),
            Some(0) | None => {
                "give your limit after SIZE, in bytes (`250-SIZE 10485760`): the next \
                                stage sends a message just past it"
            }
            Some(_) => {
                "the checker sends at most 64 MiB to go past a limit: announce a smaller \
                        SIZE (10 MiB, 10485760, is usual)"
            }
        },
    };
    Err(smtp.failure(expected, ehlo.describe(), hint))
}

/// Stage 10: a message declared larger than `SIZE` is refused with `552`
/// at once or after its data; one sent without a declaration is read to
/// its lone dot and refused with `552`; the session goes on.
async fn over_size(target: &mut Target) -> Result<(), Failure> {
    let (mut smtp, ehlo) = hello(target).await?;
    let limit = size_limit(&smtp, &ehlo)?;
    let declared = smtp
        .ask(
            &format!("MAIL FROM:<{SENDER}> SIZE={}", limit + 1),
            &[250, 552],
            "`552` (too big, refused at once), or `250` (refused after the data)",
            "`SIZE=N` on MAIL FROM declares the message's size (RFC 1870): refuse one over your \
             limit with `552`, or accept the parameter and refuse the message after its data",
        )
        .await?;
    if declared.code == 250 {
        smtp.ask(
            "RSET",
            &[250],
            "`250`",
            "`RSET` forgets the message being built, and answers `250`",
        )
        .await?;
    }
    start_message(&mut smtp, SENDER, &[RECIPIENT]).await?;
    let message = oversize_message(limit);
    let label = format!(
        "a message of {} bytes in lines of {OVERSIZE_LINE}, {} more than SIZE, then \".\\r\\n\"",
        message.len() - 3,
        message.len() - 3 - limit as usize
    );
    let within = target.timeout * OVERSIZE_STEPS;
    let hint = "count the message's bytes as they arrive and compare the count with your limit; past \
                it, keep reading (and dropping) up to the lone dot, then answer `552` (RFC 1870): \
                never hold more than the limit, and never stop reading in the middle";
    if let Err(mut failure) = smtp.send_within(&message, Some(&label), within).await {
        failure.hint = hint.to_string();
        return Err(failure);
    }
    smtp.expect(&[552], "`552`: message too big", hint).await?;
    smtp.ask(
        "NOOP",
        &[250],
        "`250`: the session goes on after a `552`",
        "after `552`, keep the session: the client may send a smaller message next",
    )
    .await?;
    Ok(())
}

/// A message of more than `limit` bytes (CRLFs counted, the final dot not,
/// as RFC 1870 counts), by less than one line, then its lone dot.
fn oversize_message(limit: u64) -> Vec<u8> {
    let lines = (limit as usize) / OVERSIZE_LINE + 1;
    let mut line = vec![b'x'; OVERSIZE_LINE - 2];
    line.extend_from_slice(b"\r\n");
    let mut message = Vec::with_capacity(lines * OVERSIZE_LINE + 3);
    for _ in 0..lines {
        message.extend_from_slice(&line);
    }
    message.extend_from_slice(b".\r\n");
    message
}

/// Stage 11: a lone dot between bare LFs does not end a message; what
/// follows it is message text, not commands.
async fn only_crlf_dot_crlf(target: &mut Target) -> Result<(), Failure> {
    let (mut smtp, _) = hello(target).await?;
    start_message(&mut smtp, SENDER, &[RECIPIENT]).await?;
    smtp.send(SMUGGLING, None).await?;
    let end = smtp.read_reply().await.map_err(|no_reply| {
        smtp.failure(
            "one reply for the message: `250`, or a `5xx` refusal",
            no_reply.got,
            "end the message only at `\\r\\n.\\r\\n`, and answer it once",
        )
    })?;
    if !matches!(end.code, 200..=299 | 500..=599) {
        return Err(smtp.failure(
            "one reply for the message: `250`, or a `5xx` refusal",
            end.describe(),
            "end the message only at `\\r\\n.\\r\\n`, and answer it with `250` (or refuse it with `554`)",
        ));
    }
    smtp.ask(
        &format!("RCPT TO:<{RECIPIENT}>"),
        &[503],
        "`503`: one message, done; the lines after `\\n.\\n` were part of it",
        "only `\\r\\n.\\r\\n` ends a message; a bare `\\n.\\n` is message text (refusing a message \
         with bare LFs, `554`, is safer still). A server that ends at `\\n.\\n` lets a client hide \
         a second message, from anyone, inside the first: SMTP smuggling (2023)",
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oversize_message_is_past_the_limit_by_less_than_a_line() {
        for limit in [1, 20, 499, 500, 501, 10 * 1024 * 1024] {
            let message = oversize_message(limit);
            let size = (message.len() - 3) as u64;
            assert!(
                size > limit && size <= limit + OVERSIZE_LINE as u64,
                "{limit}: {size}"
            );
            assert!(message.ends_with(b"\r\n.\r\n"));
        }
    }
}
