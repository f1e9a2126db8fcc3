//! `cargo run -p check -- tcp-echo ADDR`: lesson 1's stages: what an echo server must do (RFC 862).
//!
//! What to notice: each stage catches one classic mistake, and its hint
//! names it. Stage 2 catches servers that read text instead of bytes, stage
//! 3 servers that serve one client at a time, stage 4 servers that never
//! notice the client has finished (a 0-byte read), stage 5 servers that
//! collect or cap what they echo instead of streaming it. The book's "Build
//! it yourself" page (`docs/src/tcp-echo-build.md`) is the same list in
//! prose, for a learner writing a server in any language.

use tokio::io::AsyncWriteExt;

use crate::escape::show;
use crate::runner::{Failure, Stage};
use crate::target::Target;
use crate::tcp::{self, ReplyEnd};

/// The stages, in order.
pub const STAGES: &[Stage<Target>] = &[
    Stage {
        name: "echo",
        check: |target| Box::pin(echo(target)),
    },
    Stage {
        name: "binary-safe",
        check: |target| Box::pin(binary_safe(target)),
    },
    Stage {
        name: "5 clients at once",
        check: |target| Box::pin(five_clients(target)),
    },
    Stage {
        name: "half-close",
        check: |target| Box::pin(half_close(target)),
    },
    Stage {
        name: "large echo while still sending",
        check: |target| Box::pin(large_echo(target)),
    },
];

/// Stage 3 opens this many connections before any of them sends.
pub const CLIENTS_AT_ONCE: usize = 5;

/// Stage 5 sends 4 MiB: more than the kernel buffers between client and
/// server hold on most systems, so the server must echo while the client is
/// still sending, and the client must read while it sends.
pub const LARGE_ECHO_BYTES: usize = 4 * 1024 * 1024;

/// Stage 5 sends in pieces of this size, as a file upload would.
const LARGE_ECHO_PIECE: usize = 64 * 1024;

/// Stage 5 may take this many step timeouts in all: 4 MiB through a debug
/// build on a busy machine takes a while.
const LARGE_ECHO_STEPS: u32 = 4;

/// Sends `bytes` on a new connection and expects them back.
async fn echo_once(
    target: &Target,
    bytes: &[u8],
    hint: &str,
) -> Result<tokio::net::TcpStream, Failure> {
    let mut stream = tcp::connect(target).await?;
    tcp::send(&mut stream, bytes, target.timeout).await?;
    let reply = tcp::read_exactly(&mut stream, bytes.len(), target.timeout).await;
    if reply.bytes == bytes {
        return Ok(stream);
    }
    Err(Failure::new(
        show(bytes),
        format!("the same {} bytes back", bytes.len()),
        reply.describe_against(bytes),
        hint,
    ))
}

/// Stage 1: a line comes back unchanged.
async fn echo(target: &mut Target) -> Result<(), Failure> {
    echo_once(
        target,
        b"hello\n",
        "read from the connection and write the same bytes back, at once (don't wait for the client to finish)",
    )
    .await?;
    Ok(())
}

/// Stage 2: every byte value, including `\0`, `\r\n` and bytes that are
/// not UTF-8, comes back unchanged.
async fn binary_safe(target: &mut Target) -> Result<(), Failure> {
    let every_byte: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
    echo_once(
        target,
        &every_byte,
        "echo bytes, not text: no UTF-8 decoding, no reading by lines, no trimming of \\r\\n or \\x00",
    )
    .await?;
    Ok(())
}

/// Stage 3: five clients connect, then each sends, the last one first.
/// A server that serves one client at a time is still busy with the first.
async fn five_clients(target: &mut Target) -> Result<(), Failure> {
    let mut streams = Vec::with_capacity(CLIENTS_AT_ONCE);
    for _ in 0..CLIENTS_AT_ONCE {
        streams.push(tcp::connect(target).await?);
    }
    for (index, stream) in streams.iter_mut().enumerate().rev() {
        let number = index + 1;
        let line = format!("client {number}\n");
        tcp::send(stream, line.as_bytes(), target.timeout).await?;
        let reply = tcp::read_exactly(stream, line.len(), target.timeout).await;
        if reply.bytes != line.as_bytes() {
            return Err(Failure::new(
                format!(
                    "{} on connection {number} of {CLIENTS_AT_ONCE}, all open at once",
                    show(line.as_bytes())
                ),
                format!("{} back on connection {number}", show(line.as_bytes())),
                reply.describe_against(line.as_bytes()),
                "serve every connection at once (a thread or a task per connection): \
                 a server that serves one client at a time is still waiting for connection 1",
            ));
        }
    }
    Ok(())
}

/// Stage 4: the client sends, then shuts down its sending side (EOF). The
/// server must echo what it got, then close its side.
async fn half_close(target: &mut Target) -> Result<(), Failure> {
    let words = b"last words";
    let mut stream = tcp::connect(target).await?;
    tcp::send(&mut stream, words, target.timeout).await?;
    let sent = format!(
        "{}, then a half-close (the client shuts down its sending side)",
        show(words)
    );
    let problem = match tokio::time::timeout(target.timeout, stream.shutdown()).await {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(format!("the shutdown failed: {error}")),
        Err(_) => Some("the shutdown did not go through in time".to_string()),
    };
    if let Some(problem) = problem {
        return Err(Failure::new(
            sent,
            "the shutdown to go through",
            problem,
            "the server closed the connection too early",
        ));
    }
    let reply = tcp::read_to_close(&mut stream, 1024, target.timeout).await;
    if reply.bytes == words && matches!(reply.end, ReplyEnd::Closed) {
        return Ok(());
    }
    let hint = match reply.end {
        ReplyEnd::TimedOut(_) if reply.bytes == words => {
            "a read of 0 bytes means the client has finished sending: \
             stop reading, finish echoing, and close the connection"
        }
        _ => "echo everything the client sent before closing, even after it has finished sending",
    };
    Err(Failure::new(
        sent,
        format!(
            "{} back, then the server closes the connection",
            show(words)
        ),
        reply.describe_against(words),
        hint,
    ))
}

/// Stage 5: 4 MiB, sent piece by piece while the echo is read at the same
/// time, must come back unchanged before the client stops sending.
async fn large_echo(target: &mut Target) -> Result<(), Failure> {
    let payload: Vec<u8> = (0..LARGE_ECHO_BYTES)
        .map(|i| (i % 251) as u8) // 251 is prime: no period lines up with a buffer size
        .collect();
    let stream = tcp::connect(target).await?;
    let (mut reader, mut writer) = stream.into_split();
    let limit = target.timeout * LARGE_ECHO_STEPS;
    let send_all = async {
        for piece in payload.chunks(LARGE_ECHO_PIECE) {
            tcp::send(&mut writer, piece, limit).await?;
        }
        Ok::<(), Failure>(())
    };
    let read_all = tcp::read_exactly(&mut reader, payload.len(), limit);
    let (sent, reply) = tokio::join!(send_all, read_all);
    if reply.bytes == payload {
        return Ok(());
    }
    let stopped_taking = match sent {
        Err(failure) => format!(" (and the server stopped taking bytes: {})", failure.got),
        Ok(()) => String::new(),
    };
    Err(Failure::new(
        format!(
            "{} in pieces of {} KiB, reading the echo meanwhile, never half-closing",
            show(&payload),
            LARGE_ECHO_PIECE / 1024
        ),
        format!("the same {LARGE_ECHO_BYTES} bytes back"),
        format!("{}{stopped_taking}", reply.describe_against(&payload)),
        "an echo has no message size: stream through a fixed buffer (read, write all of it, repeat), \
         don't collect the whole input or cap the bytes per connection",
    ))
}
