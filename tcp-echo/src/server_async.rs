//! Server 3 of 3: async. One task per connection, thousands of them on a few threads.
//!
//! What to notice: the echo loop below reads like the blocking one in
//! `server_blocking.rs`, but each `.await` hands the thread back to tokio's
//! scheduler instead of parking it. A waiting connection is a small task
//! (about 2 KiB with its buffer), not a whole thread, so an idle
//! `nc` costs almost nothing and never holds up anyone else.
//!
//! Backpressure: we read at most one buffer (512 bytes, growing to 64 KiB for
//! a client that sends a lot), then write all of it back before reading
//! again. A client that sends but never reads fills the kernel's buffers, our
//! `write_all` waits, we stop reading, and the client's own writes block.
//! Memory stays at one buffer per connection, whatever it sends.
//!
//! Try it: `cargo run -p tcp-echo`, then `nc 127.0.0.1 7007` in two terminals;
//! both echo at once.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tracing::{debug, trace};

use crate::accept_loop::{self, AcceptLimits, Connection};
use crate::idle_timer::IdleTimer;
use crate::summary::{EchoSummary, End};

/// The buffer starts small: 512 bytes is plenty for a line typed into `nc`,
/// and 8 idle connections share one 4 KiB page of memory.
pub const FIRST_BUFFER_SIZE: usize = 512;

/// ...and doubles whenever a read fills it, up to 64 KiB, so a bulk transfer
/// needs few system calls. The largest it gets is the most memory one
/// connection ever holds, whatever the client sends.
pub const MAX_BUFFER_SIZE: usize = 64 * 1024;

/// Runs the async echo server on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    limits: AcceptLimits,
    idle_timeout: Duration,
    shutdown: impl std::future::Future,
) {
    accept_loop::serve(listener, limits, shutdown, move |connection| {
        echo(connection, idle_timeout)
    })
    .await;
}

// ANCHOR: echo
/// Echoes everything the client sends until it closes, goes idle, or fails.
pub async fn echo(connection: Connection, idle_timeout: Duration) -> EchoSummary {
    let mut stream = connection.stream;
    // Send each echo at once instead of waiting to batch small writes
    // (Nagle's algorithm): an interactive `nc` should not wait 40 ms.
    if let Err(error) = stream.set_nodelay(true) {
        debug!(%error, "cannot set TCP_NODELAY");
    }
    let mut buf = vec![0u8; FIRST_BUFFER_SIZE];
    let mut idle = IdleTimer::new(idle_timeout);
    let mut echoed = 0;

    let end = loop {
        let read = tokio::select! {
            // `biased`: poll the socket first; the timer matters only when
            // there is nothing to read.
            biased;
            read = stream.read(&mut buf) => read,
            _ = idle.expired() => break End::Idle(idle_timeout),
        };
        let n = match read {
            // 0 bytes: the client shut down its sending side (EOF). Everything
            // it sent has been echoed, so shut ours down too and close.
            Ok(0) => {
                debug!("client finished sending (half-close); closing our side");
                break match stream.shutdown().await {
                    Ok(()) => End::ClientClosed,
                    Err(error) => End::Failed(error),
                };
            }
            Ok(n) => n,
            Err(error) => break End::Failed(error),
        };
        trace!(bytes = n, "read");
        tokio::select! {
            biased;
            written = stream.write_all(&buf[..n]) => {
                if let Err(error) = written {
                    break End::Failed(error);
                }
            }
            // A client that sends but never reads: our write cannot finish.
            _ = idle.expired() => break End::Idle(idle_timeout),
        }
        trace!(bytes = n, "wrote");
        echoed += n as u64;
        idle.touch();
        // A full buffer means more may be waiting: read bigger next time.
        if n == buf.len() {
            buf.resize(grown(buf.len()), 0);
        }
    };
    EchoSummary { echoed, end }
}

/// The next size for a buffer of `size` bytes that a read filled: twice as
/// big, but never past `MAX_BUFFER_SIZE` (at the cap it stays the same).
fn grown(size: usize) -> usize {
    (size * 2).min(MAX_BUFFER_SIZE)
}
// ANCHOR_END: echo

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_buffer_doubles_up_to_its_cap_and_never_past_it() {
        assert_eq!(grown(FIRST_BUFFER_SIZE), 2 * FIRST_BUFFER_SIZE);
        for size in [MAX_BUFFER_SIZE - 1, MAX_BUFFER_SIZE] {
            assert_eq!(grown(size), MAX_BUFFER_SIZE, "{size}");
        }
        // From the first size, doubling lands on the cap exactly.
        let mut size = FIRST_BUFFER_SIZE;
        while size < MAX_BUFFER_SIZE {
            size = grown(size);
        }
        assert_eq!(size, MAX_BUFFER_SIZE);
    }
}
