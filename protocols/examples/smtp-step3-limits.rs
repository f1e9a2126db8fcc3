//! Build it yourself, SMTP step 3: tokio, and a limit on everything a client controls.
//!
//! What to notice: step 2's session, on tokio (a task per client), with
//! the limits of RFC 5321 section 4.5.3 and the reply for each: a command
//! line of at most 512 bytes (`500`), a message of at most `MAX_MESSAGE_BYTES`
//! (`SIZE` in `EHLO`, then `552`), a message line of at most 1000 bytes; an
//! idle client hears `421` and is closed. Every line is read through
//! `take(limit)`, so no client can make a line buffer grow past its limit.
//! Only CRLF ends a line: a bare LF gets `500` (SMTP smuggling hides in the
//! difference). The lesson's server (`protocols/src/smtp/`) is this, split
//! into files, with the rest of RFC 5321's replies and a graceful shutdown.
//!
//! Checker: passes every stage.
//!
//! Try it: `cargo run -p protocols --example smtp-step3-limits`, then
//! `swaks --server 127.0.0.1:2525 --to you@plants.test`, or `curl smtp://`.

// ANCHOR: all
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

/// RFC 5321 section 4.5.3.1.4: a command line, CRLF included.
const MAX_COMMAND_LINE: u64 = 512;
/// Section 4.5.3.1.6: a line of a message, CRLF included.
const MAX_TEXT_LINE: u64 = 1000;
/// The largest message; `EHLO` says so with `SIZE`.
const MAX_MESSAGE_BYTES: usize = 10 * 1024 * 1024;
/// Section 4.5.3.2.7: wait at least 5 minutes for the next command.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "2525".to_string());
    let mail_dir =
        PathBuf::from(std::env::var("MAIL_DIR").unwrap_or_else(|_| "/tmp/smtp-step3".to_string()));
    std::fs::create_dir_all(&mail_dir)?;
    let listener = TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("listening on smtp://{}", listener.local_addr()?);
    let mail_dir = Arc::new(mail_dir);
    let counter = Arc::new(AtomicU64::new(1));
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    eprintln!("accept failed: {error}");
                    continue;
                }
            },
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let (mail_dir, counter) = (Arc::clone(&mail_dir), Arc::clone(&counter));
        tokio::spawn(async move {
            if let Err(error) = converse(stream, &mail_dir, &counter).await {
                eprintln!("{peer}: {error}");
            }
        });
    }
}

/// One line as read: its text without CRLF, or what went wrong.
enum Line {
    /// A line that ended with CRLF.
    Text(String),
    /// A line that ended with a bare LF.
    BareLf,
    /// A line longer than the limit (read to its end and dropped).
    TooLong,
    /// The client closed the connection.
    Closed,
}

/// Reads one line of at most `limit` bytes: `take` stops `read_until`
/// there, whatever the client sends.
async fn read_line<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    limit: u64,
) -> std::io::Result<Line> {
    let mut buf = Vec::new();
    (&mut *reader)
        .take(limit)
        .read_until(b'\n', &mut buf)
        .await?;
    if !buf.ends_with(b"\n") {
        if buf.len() as u64 == limit {
            // Too long: read the rest of the line, a little at a time.
            loop {
                buf.clear();
                let n = (&mut *reader)
                    .take(4096)
                    .read_until(b'\n', &mut buf)
                    .await?;
                if n == 0 || buf.ends_with(b"\n") {
                    return Ok(Line::TooLong);
                }
            }
        }
        return Ok(Line::Closed); // closed, at a line's start or in its middle
    }
    match buf.strip_suffix(b"\r\n") {
        Some(text) => Ok(Line::Text(String::from_utf8_lossy(text).into_owned())),
        None => Ok(Line::BareLf),
    }
}

async fn converse(stream: TcpStream, mail_dir: &Path, counter: &AtomicU64) -> std::io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    writer.write_all(b"220 localhost ESMTP step 3\r\n").await?;
    let mut said_hello = false;
    let mut from: Option<String> = None;
    let mut to: Vec<String> = Vec::new();
    loop {
        let line = match timeout(IDLE_TIMEOUT, read_line(&mut reader, MAX_COMMAND_LINE)).await {
            Err(_) => {
                writer.write_all(b"421 timed out\r\n").await?;
                return Ok(());
            }
            Ok(line) => line?,
        };
        let command = match line {
            Line::Text(command) => command,
            Line::BareLf => {
                writer
                    .write_all(b"500 lines end with CRLF; with nc, use nc -C\r\n")
                    .await?;
                continue;
            }
            Line::TooLong => {
                writer.write_all(b"500 line too long\r\n").await?;
                continue;
            }
            Line::Closed => return Ok(()),
        };
        let (verb, argument) = command.split_once(' ').unwrap_or((&command, ""));
        let reply = match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                (said_hello, from) = (true, None);
                format!("250-localhost hello\r\n250 SIZE {MAX_MESSAGE_BYTES}")
            }
            "HELO" => {
                (said_hello, from) = (true, None);
                "250 localhost".to_string()
            }
            "MAIL" if !said_hello => "503 send EHLO first".to_string(),
            "MAIL" => match address(argument, "FROM:") {
                Some(sender) => {
                    (from, to) = (Some(sender), Vec::new());
                    "250 OK".to_string()
                }
                None => "501 MAIL FROM:<address>".to_string(),
            },
            "RCPT" if from.is_none() => "503 send MAIL FROM first".to_string(),
            "RCPT" if to.len() >= 100 => "452 too many recipients".to_string(),
            "RCPT" => match address(argument, "TO:") {
                Some(recipient) => {
                    to.push(recipient);
                    "250 OK".to_string()
                }
                None => "501 RCPT TO:<address>".to_string(),
            },
            "DATA" if from.is_none() || to.is_empty() => {
                "503 send MAIL FROM and RCPT TO first".to_string()
            }
            "DATA" => {
                writer
                    .write_all(b"354 end with a line holding only a dot\r\n")
                    .await?;
                let Some(message) = read_message(&mut reader).await? else {
                    return Ok(()); // closed before the dot: nothing to store
                };
                let sender = from.take().unwrap_or_default();
                match message {
                    Ok(message) => {
                        let number = counter.fetch_add(1, Ordering::Relaxed);
                        let path = mail_dir.join(format!("message-{number}.eml"));
                        let head = format!(
                            "Return-Path: <{sender}>\r\nDelivered-To: {}\r\n",
                            to.join(", ")
                        );
                        tokio::fs::write(&path, [head.as_bytes(), &message].concat()).await?;
                        format!("250 OK: stored as message-{number}")
                    }
                    Err(reply) => reply.to_string(),
                }
            }
            "RSET" => {
                from = None;
                "250 OK".to_string()
            }
            "NOOP" => "250 OK".to_string(),
            "QUIT" => {
                writer.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => "500 command not recognized".to_string(),
        };
        writer.write_all(format!("{reply}\r\n").as_bytes()).await?;
    }
}

/// The address in `FROM:<a@b>` (after `prefix`), without its brackets.
fn address(argument: &str, prefix: &str) -> Option<String> {
    let rest = argument
        .get(..prefix.len())?
        .eq_ignore_ascii_case(prefix)
        .then(|| &argument[prefix.len()..])?;
    let inner = rest.trim_start().strip_prefix('<')?;
    let (address, _) = inner.split_once('>')?;
    Some(address.to_string())
}

/// Reads a message up to its lone dot. `None`: the client left first;
/// `Some(Err(reply))`: the message ended, and is refused with `reply`.
async fn read_message<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
) -> std::io::Result<Option<Result<Vec<u8>, &'static str>>> {
    let mut message = Vec::new();
    let mut refusal = None;
    loop {
        let text = match read_line(reader, MAX_TEXT_LINE).await? {
            Line::Closed => return Ok(None),
            Line::Text(text) if text == "." => break,
            Line::Text(text) => text,
            Line::TooLong => {
                refusal.get_or_insert("500 line too long; message not stored");
                continue;
            }
            Line::BareLf => {
                refusal.get_or_insert("554 a line ended with a bare LF; message not stored");
                continue;
            }
        };
        let text = text.strip_prefix('.').unwrap_or(&text);
        // Compare what we would hold with the limit; past it, read on to
        // the dot (the client will not listen before) but keep nothing.
        if message.len() + text.len() + 2 > MAX_MESSAGE_BYTES {
            refusal.get_or_insert("552 message too big");
            message = Vec::new();
        }
        if refusal.is_none() {
            message.extend_from_slice(text.as_bytes());
            message.extend_from_slice(b"\r\n");
        }
    }
    Ok(Some(match refusal {
        None => Ok(message),
        Some(reply) => Err(reply),
    }))
}
// ANCHOR_END: all
