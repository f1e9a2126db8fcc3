//! Deliberately broken chat servers: a correct chat (`chat_server.rs`)
//! behind a proxy that makes one classic mistake.
//!
//! What to notice: a chat server can be wrong in many ways, but each of the
//! checker's stages catches one mistake. Rather than seven broken chat
//! servers, the tests put this proxy in front of a correct one: it passes the
//! client's bytes through untouched and, on the way back, changes the
//! handshake or drops the server's frames that one mistake would never send.
//! From the checker's side it *is* a server with that bug.
//!
//! Frames from a server are never masked (RFC 6455 section 5.1), and the
//! chat's are single, unfragmented frames, so the proxy reads each frame's
//! header, its length (7, 16 or 64 bits, section 5.2) and its payload, and
//! forwards or drops it whole.

use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The one mistake a proxied server makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Stage 1: `Sec-WebSocket-Accept` is the client's key, unhashed.
    WrongAcceptKey,
    /// Stage 2: the welcome line is never sent.
    NoWelcome,
    /// Stage 3: a client's own lines are not sent back to it.
    NoEchoToSender,
    /// Stage 4: nobody hears `* NICK joined #ROOM`.
    NoJoinNotices,
    /// Stage 5: renames happen silently.
    NoRenameNotice,
    /// Stage 6: `/who` gets no answer.
    NoWhoAnswer,
    /// Stage 7: a client's close frame is never answered; the TCP
    /// connection just closes.
    CloseNotAnswered,
}

/// The longest frame the proxy forwards: the chat's own lines are shorter.
const MAX_FRAME_BYTES: u64 = 64 * 1024;

/// Starts a proxy to `upstream` with `fault`, for as long as the test's
/// runtime lives; returns its address.
pub async fn start(upstream: SocketAddr, fault: Fault) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    return;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                let upward = pass_through(client_read, server_write);
                let downward = filter(server_read, client_write, fault);
                // Either direction ending ends the connection.
                tokio::select! {
                    _ = upward => {}
                    _ = downward => {}
                }
            });
        }
    });
    addr
}

async fn pass_through(mut from: impl AsyncRead + Unpin, mut to: impl AsyncWrite + Unpin) {
    let _ = tokio::io::copy(&mut from, &mut to).await;
    let _ = to.shutdown().await;
}

/// The server's side: the handshake head, then frame by frame.
async fn filter(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    fault: Fault,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(from.read_u8().await?);
    }
    if fault == Fault::WrongAcceptKey {
        head = break_accept_key(&head);
    }
    to.write_all(&head).await?;
    let mut own_nick: Option<String> = None;
    loop {
        let first = from.read_u8().await?;
        let second = from.read_u8().await?;
        let mut frame = vec![first, second];
        let length = match second & 0x7f {
            126 => {
                let length = from.read_u16().await?;
                frame.extend_from_slice(&length.to_be_bytes());
                u64::from(length)
            }
            127 => {
                let length = from.read_u64().await?;
                frame.extend_from_slice(&length.to_be_bytes());
                length
            }
            short => u64::from(short),
        };
        assert!(
            length <= MAX_FRAME_BYTES,
            "a {length}-byte frame from the chat server"
        );
        let mut payload = vec![0; length as usize];
        from.read_exact(&mut payload).await?;
        let opcode = first & 0x0f;
        let text = (opcode == 1).then(|| String::from_utf8_lossy(&payload).into_owned());
        if let Some(line) = &text {
            if own_nick.is_none() && line.starts_with("* welcome, ") {
                own_nick = line
                    .trim_start_matches("* welcome, ")
                    .split('!')
                    .next()
                    .map(str::to_string);
            }
        }
        if opcode == 8 && fault == Fault::CloseNotAnswered {
            return to.shutdown().await;
        }
        if text
            .as_deref()
            .is_some_and(|line| drops(fault, line, own_nick.as_deref()))
        {
            continue;
        }
        frame.extend_from_slice(&payload);
        to.write_all(&frame).await?;
    }
}

/// Whether a server with `fault` would never have sent `line`.
fn drops(fault: Fault, line: &str, own_nick: Option<&str>) -> bool {
    match fault {
        Fault::NoWelcome => line.starts_with("* welcome, "),
        Fault::NoEchoToSender => {
            own_nick.is_some_and(|nick| line.starts_with(&format!("<{nick}> ")))
        }
        Fault::NoJoinNotices => line.starts_with("* ") && line.contains(" joined #"),
        Fault::NoRenameNotice => line.contains(" is now known as "),
        Fault::NoWhoAnswer => line.starts_with("* users in #"),
        Fault::WrongAcceptKey | Fault::CloseNotAnswered => false,
    }
}

/// Replaces the accept key with a plausible-looking wrong one: the key
/// `dGhlIHNhbXBsZSBub25jZQ==` of RFC 6455's example, as if the server hashed
/// a fixed string instead of the client's key.
fn break_accept_key(head: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(head);
    let broken: Vec<String> = text
        .split("\r\n")
        .map(|line| {
            if line
                .to_ascii_lowercase()
                .starts_with("sec-websocket-accept:")
            {
                "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".to_string()
            } else {
                line.to_string()
            }
        })
        .collect();
    broken.join("\r\n").into_bytes()
}
