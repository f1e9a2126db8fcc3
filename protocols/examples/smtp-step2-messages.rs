//! Build it yourself, SMTP step 2: the envelope, the message, a file each.
//!
//! What to notice: the session has state now: who the message is from
//! (`MAIL FROM`), whom it is for (`RCPT TO`), and commands out of that
//! order get `503`. After `DATA` and `354`, lines are the message until a
//! line holding only a dot; a line starting with a dot had it doubled by
//! the client ("dot-stuffing"), and one is taken away. Each message becomes
//! a file in `MAIL_DIR`. One thread per client.
//!
//! Shortcuts, on purpose (step 3 removes them): no limit on a line's length
//! or a message's size, no timeout, bare LF taken for CRLF.
//!
//! Checker: passes stages 1-8, then fails stage 9 (no `SIZE`: step 3's limits).
//!
//! Try it: `cargo run -p protocols --example smtp-step2-messages`, then
//! `swaks --server 127.0.0.1:2525 --to you@plants.test`, and look in
//! `/tmp/smtp-step2/`.

// ANCHOR: all
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "2525".to_string());
    let mail_dir =
        PathBuf::from(std::env::var("MAIL_DIR").unwrap_or_else(|_| "/tmp/smtp-step2".to_string()));
    std::fs::create_dir_all(&mail_dir)?;
    let listener = TcpListener::bind(format!("127.0.0.1:{port}"))?;
    println!("listening on smtp://{}", listener.local_addr()?);
    // Numbers the messages of this run: message-1.eml, message-2.eml, ...
    let counter = Arc::new(AtomicU64::new(1));
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let (mail_dir, counter) = (mail_dir.clone(), Arc::clone(&counter));
        std::thread::spawn(move || {
            if let Err(error) = converse(stream, &mail_dir, &counter) {
                eprintln!("connection ended: {error}");
            }
        });
    }
    Ok(())
}

/// Who a message is from and for.
struct Envelope {
    from: String,
    to: Vec<String>,
}

fn converse(stream: TcpStream, mail_dir: &Path, counter: &AtomicU64) -> std::io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    writer.write_all(b"220 localhost ESMTP step 2\r\n")?;
    let mut said_hello = false;
    let mut envelope: Option<Envelope> = None;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end_matches(['\r', '\n']);
        let (verb, argument) = command.split_once(' ').unwrap_or((command, ""));
        let reply = match verb.to_ascii_uppercase().as_str() {
            "EHLO" | "HELO" => {
                said_hello = true;
                envelope = None;
                "250 localhost hello".to_string()
            }
            "MAIL" if !said_hello => "503 send EHLO first".to_string(),
            "MAIL" => match address(argument, "FROM:") {
                Some(from) => {
                    envelope = Some(Envelope {
                        from,
                        to: Vec::new(),
                    });
                    "250 OK".to_string()
                }
                None => "501 MAIL FROM:<address>".to_string(),
            },
            "RCPT" => match (&mut envelope, address(argument, "TO:")) {
                (None, _) => "503 send MAIL FROM first".to_string(),
                (Some(_), None) => "501 RCPT TO:<address>".to_string(),
                (Some(envelope), Some(to)) => {
                    envelope.to.push(to);
                    "250 OK".to_string()
                }
            },
            "DATA" => match envelope.take() {
                Some(envelope) if !envelope.to.is_empty() => {
                    writer.write_all(b"354 end with a line holding only a dot\r\n")?;
                    let message = read_message(&mut reader)?;
                    let number = counter.fetch_add(1, Ordering::Relaxed);
                    let path = mail_dir.join(format!("message-{number}.eml"));
                    let head = format!(
                        "Return-Path: <{}>\r\nDelivered-To: {}\r\n",
                        envelope.from,
                        envelope.to.join(", ")
                    );
                    std::fs::write(&path, [head.as_bytes(), &message].concat())?;
                    eprintln!("stored {}", path.display());
                    format!("250 OK: stored as message-{number}")
                }
                other => {
                    envelope = other;
                    "503 send MAIL FROM and RCPT TO first".to_string()
                }
            },
            "RSET" => {
                envelope = None;
                "250 OK".to_string()
            }
            "NOOP" => "250 OK".to_string(),
            "QUIT" => {
                writer.write_all(b"221 bye\r\n")?;
                return Ok(());
            }
            _ => "500 command not recognized".to_string(),
        };
        writer.write_all(format!("{reply}\r\n").as_bytes())?;
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

/// Reads the message up to the line holding only a dot, undoing dot-stuffing.
fn read_message(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut message = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let text = line.trim_end_matches(['\r', '\n']);
        if text == "." {
            return Ok(message);
        }
        let text = text.strip_prefix('.').unwrap_or(text);
        message.extend_from_slice(text.as_bytes());
        message.extend_from_slice(b"\r\n");
    }
}
// ANCHOR_END: all
