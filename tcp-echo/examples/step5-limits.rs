//! Build it yourself, step 5: limits and a clean stop, the shape of lesson 1.
//!
//! What to notice, each a change from step 4 and each in lesson 1's code:
//! - A semaphore caps the connections: a permit is taken *before* `accept`,
//!   so at the limit we stop accepting and new clients wait in the kernel's
//!   backlog (lesson 1: `accept_loop.rs`).
//! - An accept error (out of file descriptors) is reported and retried after
//!   a pause, instead of spinning or ending the server.
//! - A client that sends nothing for `IDLE_TIMEOUT` is closed
//!   (lesson 1: `idle_timer.rs`).
//! - Ctrl+C stops accepting, tells every connection to stop at its next read
//!   (`CancellationToken`), waits for them (`TaskTracker`), and gives up
//!   after a grace period (lesson 1: `shutdown.rs`, which also handles
//!   SIGTERM).
//!
//! Checker: passes every stage.
//!
//! Try it: `cargo run -p tcp-echo --example step5-limits`, connect with
//! `nc 127.0.0.1 7007`, then press Ctrl+C in the server's terminal.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Each connection costs a file descriptor, and many systems give a process
/// 1024 of them (`ulimit -n`).
const MAX_CONNECTIONS: usize = 1000;
/// Five minutes of silence and a client is assumed gone.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// How long Ctrl+C waits for open connections before closing them anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// An accept error such as "too many open files" lasts until a connection
/// closes: wait a little rather than retry in a tight loop.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// 4 KiB: one page of memory, plenty for what a person types; more
/// simply takes several reads.
const BUFFER_SIZE: usize = 4096;

// ANCHOR: main
#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "7007".to_string());
    let listener = TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("listening on tcp://{}", listener.local_addr()?);

    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let stopping = CancellationToken::new();
    let connections = TaskTracker::new();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        let accepted = tokio::select! {
            _ = &mut ctrl_c => break,
            accepted = accept(&listener, &permits) => accepted,
        };
        let Some((stream, permit)) = accepted else {
            continue;
        };
        let stopping = stopping.clone();
        connections.spawn(async move {
            if let Err(error) = echo(stream, stopping).await {
                eprintln!("connection ended: {error}");
            }
            drop(permit); // the connection is over: one more may be accepted
        });
    }

    eprintln!("stopping: waiting for {} connections", connections.len());
    drop(listener); // new clients are refused from now on
    stopping.cancel();
    connections.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, connections.wait())
        .await
        .is_err()
    {
        eprintln!("closing the connections still open after {SHUTDOWN_GRACE:?}");
    }
    Ok(())
}
// ANCHOR_END: main

// ANCHOR: accept
/// Takes a permit, then a connection. `None` after an accept error, once the
/// back-off has passed.
async fn accept(
    listener: &TcpListener,
    permits: &Arc<Semaphore>,
) -> Option<(TcpStream, tokio::sync::OwnedSemaphorePermit)> {
    // `acquire_owned` fails only if the semaphore is closed, which we never do.
    let permit = permits.clone().acquire_owned().await.ok()?;
    match listener.accept().await {
        Ok((stream, _peer)) => Some((stream, permit)),
        Err(error) => {
            eprintln!("accept failed: {error}; retrying in {ACCEPT_BACKOFF:?}");
            tokio::time::sleep(ACCEPT_BACKOFF).await;
            None
        }
    }
}
// ANCHOR_END: accept

// ANCHOR: echo
/// Echoes every byte until the client finishes, goes idle, or we stop.
async fn echo(mut stream: TcpStream, stopping: CancellationToken) -> std::io::Result<()> {
    let mut buf = vec![0u8; BUFFER_SIZE];
    loop {
        let read = tokio::select! {
            _ = stopping.cancelled() => return Ok(()),
            read = tokio::time::timeout(IDLE_TIMEOUT, stream.read(&mut buf)) => read,
        };
        let n = match read {
            Ok(read) => read?,
            Err(_idle) => return Ok(()),
        };
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}
// ANCHOR_END: echo
