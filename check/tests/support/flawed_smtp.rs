//! A deliberately flawed SMTP server, for proving the smtp checker fair.
//!
//! One small server that passes every stage, and a [`Flaw`] for each stage
//! that breaks exactly that stage with a mistake people really make (a bare
//! LF, a `QUIT` that never closes, a message ended at any line starting with
//! a dot, a `SIZE` announced and not kept, a bare `\n.\n` taken for the
//! end). It stores nothing: the checker judges by the conversation alone.

use std::net::SocketAddr;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};

/// One mistake; the comment says which stage catches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flaw {
    /// None: passes every stage.
    None,
    /// Stage 1: greets with a bare LF (`220 ready\n`), as `socket.write("...\n")` does.
    GreetsWithBareLf,
    /// Stage 2: knows `EHLO` only; `HELO` gets 500.
    NoHelo,
    /// Stage 3: answers `QUIT` with 221 and keeps the connection open.
    QuitKeepsConnection,
    /// Stage 4: answers an unknown command with 500, then closes.
    UnknownCloses,
    /// Stage 5: ends the message at any line starting with a dot.
    EndsAtAnyDot,
    /// Stage 6: takes `RCPT` and `DATA` in any order.
    NoOrder,
    /// Stage 7: `RSET` answers 250 and forgets nothing.
    RsetKeepsEnvelope,
    /// Stage 8: serves one connection at a time.
    OneClientAtATime,
    /// Stage 9: no `SIZE` in the `EHLO` reply.
    NoSize,
    /// Stage 10: announces `SIZE` and takes larger messages anyway.
    SizeNotKept,
    /// Stage 11: takes `\n.\n` for the end of a message.
    BareLfEndsMessage,
}

/// Every flaw with the stage that must catch it.
pub const FLAWS: &[(Flaw, usize)] = &[
    (Flaw::GreetsWithBareLf, 1),
    (Flaw::NoHelo, 2),
    (Flaw::QuitKeepsConnection, 3),
    (Flaw::UnknownCloses, 4),
    (Flaw::EndsAtAnyDot, 5),
    (Flaw::NoOrder, 6),
    (Flaw::RsetKeepsEnvelope, 7),
    (Flaw::OneClientAtATime, 8),
    (Flaw::NoSize, 9),
    (Flaw::SizeNotKept, 10),
    (Flaw::BareLfEndsMessage, 11),
];

/// The largest message it takes: small, so stage 10 is quick.
pub const SIZE_LIMIT: usize = 4096;

/// A line of at most this many bytes (a test server, bounded all the same).
const MAX_LINE: u64 = 1024;

/// Starts a server with `flaw` on 127.0.0.1:0, on the current runtime.
pub async fn start(flaw: Flaw) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            if flaw == Flaw::OneClientAtATime {
                let _ = serve(stream, flaw).await;
            } else {
                tokio::spawn(serve(stream, flaw));
            }
        }
    });
    addr
}

/// Reads one line, LF included; `None` when the client closed.
async fn read_line<R: AsyncRead + Unpin>(reader: &mut BufReader<R>) -> Option<Vec<u8>> {
    let mut line = Vec::new();
    let n = (&mut *reader)
        .take(MAX_LINE)
        .read_until(b'\n', &mut line)
        .await
        .ok()?;
    (n > 0).then_some(line)
}

async fn reply(writer: &mut OwnedWriteHalf, text: &str) -> std::io::Result<()> {
    writer.write_all(format!("{text}\r\n").as_bytes()).await
}

/// One client's session, from the greeting to `QUIT`.
async fn serve(stream: TcpStream, flaw: Flaw) -> std::io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    if flaw == Flaw::GreetsWithBareLf {
        writer.write_all(b"220 flawed.test ESMTP\n").await?;
    } else {
        reply(&mut writer, "220 flawed.test ESMTP").await?;
    }
    let mut said_hello = false;
    let mut from: Option<String> = None;
    let mut recipients = 0;
    while let Some(line) = read_line(&mut reader).await {
        let line = String::from_utf8_lossy(&line);
        let command = line.trim_end_matches(['\r', '\n']);
        let (verb, argument) = command.split_once(' ').unwrap_or((command, ""));
        let text = match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                (said_hello, from, recipients) = (true, None, 0);
                if flaw == Flaw::NoSize {
                    "250-flawed.test hello\r\n250 HELP".to_string()
                } else {
                    format!("250-flawed.test hello\r\n250-SIZE {SIZE_LIMIT}\r\n250 HELP")
                }
            }
            "HELO" if flaw == Flaw::NoHelo => "500 command not recognized".into(),
            "HELO" => {
                (said_hello, from, recipients) = (true, None, 0);
                "250 flawed.test".into()
            }
            "NOOP" => "250 OK".into(),
            "QUIT" => {
                reply(&mut writer, "221 bye").await?;
                if flaw == Flaw::QuitKeepsConnection {
                    while read_line(&mut reader).await.is_some() {}
                }
                return Ok(());
            }
            "RSET" => {
                if flaw != Flaw::RsetKeepsEnvelope {
                    (from, recipients) = (None, 0);
                }
                "250 OK".into()
            }
            "MAIL" if !said_hello || from.is_some() => "503 bad sequence of commands".into(),
            "MAIL" => {
                let declared = argument
                    .split_ascii_whitespace()
                    .find_map(|word| word.strip_prefix("SIZE="))
                    .and_then(|size| size.parse::<usize>().ok());
                if declared.is_some_and(|size| size > SIZE_LIMIT) && flaw != Flaw::SizeNotKept {
                    "552 message too big".into()
                } else {
                    from = Some(argument.to_string());
                    "250 OK".into()
                }
            }
            "RCPT" if from.is_none() && flaw != Flaw::NoOrder => {
                "503 bad sequence of commands".into()
            }
            "RCPT" => {
                recipients += 1;
                "250 OK".into()
            }
            "DATA" if (from.is_none() || recipients == 0) && flaw != Flaw::NoOrder => {
                "503 bad sequence of commands".into()
            }
            "DATA" => {
                reply(&mut writer, "354 end with a lone dot").await?;
                let Some(size) = read_message(&mut reader, flaw).await else {
                    return Ok(());
                };
                (from, recipients) = (None, 0);
                if size > SIZE_LIMIT && flaw != Flaw::SizeNotKept {
                    "552 message too big".into()
                } else {
                    "250 OK".into()
                }
            }
            _ => {
                reply(&mut writer, "500 command not recognized").await?;
                if flaw == Flaw::UnknownCloses {
                    return Ok(());
                }
                continue;
            }
        };
        reply(&mut writer, &text).await?;
    }
    Ok(())
}

/// Reads a message to its end and returns its size; `None` when the client
/// left first. The size is counted, never held.
async fn read_message<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    flaw: Flaw,
) -> Option<usize> {
    let mut size = 0;
    loop {
        let line = read_line(reader).await?;
        let ends = match flaw {
            Flaw::EndsAtAnyDot => line.starts_with(b"."),
            Flaw::BareLfEndsMessage => line == b".\r\n" || line == b".\n",
            _ => line == b".\r\n",
        };
        if ends {
            return Some(size);
        }
        let unstuffed = line.strip_prefix(b".").unwrap_or(&line);
        size += unstuffed.len();
    }
}
