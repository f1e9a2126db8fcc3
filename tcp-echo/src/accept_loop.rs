//! The async accept loop: take connections, give each its own task, stop cleanly.
//!
//! What to notice:
//! - A permit from a semaphore is taken *before* `accept`, so at
//!   `max_connections` the server simply stops accepting; new clients wait in
//!   the kernel's backlog instead of costing us memory. The permit moves into
//!   the connection's task and is given back when the task ends.
//! - An `accept` error (out of file descriptors, say) is logged and retried
//!   after a back-off; it never ends the server. `accept().await?` in a loop is
//!   the classic way a whole server dies because of one bad moment.
//! - Shutdown is three steps: *tell* (stop accepting, cancel the `stopping`
//!   token each connection can watch), *wait* (a `TaskTracker` knows which
//!   connection tasks are still running), *give up* (after the grace period
//!   the remaining connections are dropped, which closes their sockets).
//!
//! Nothing here knows about echo: `http-raw` serves HTTP with the same loop.

use std::fmt::Display;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, debug, info, info_span, warn};

/// 1024 open connections. Each costs a file descriptor, and many systems
/// start a process with a soft limit of 1024 descriptors (`ulimit -n`).
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// After an `accept` error, wait this long before trying again, doubling up
/// to [`MAX_ACCEPT_BACKOFF`]: errors such as EMFILE (too many open files)
/// last until some connection closes, and retrying at once would spin a core.
pub(crate) const FIRST_ACCEPT_BACKOFF: Duration = Duration::from_millis(10);
pub(crate) const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// What the accept loop needs to know besides the listener.
#[derive(Debug, Clone)]
pub struct AcceptLimits {
    /// At most this many connections are open at once (`MAX_CONNECTIONS`).
    pub max_connections: usize,
    /// After shutdown is asked for, open connections get this long to finish
    /// (`SHUTDOWN_GRACE_SECS`); then they are closed.
    pub shutdown_grace: Duration,
}

/// One accepted connection, handed to the connection handler.
#[derive(Debug)]
pub struct Connection {
    /// The socket, ours to read, write and drop (dropping it closes it).
    pub stream: TcpStream,
    /// The client's IP address and port.
    pub peer: SocketAddr,
    /// A number for the logs: the 1st, 2nd, ... connection since start.
    pub id: u64,
    /// Cancelled when the server starts shutting down. A handler with a safe
    /// point to stop at (HTTP between requests) watches it; echo need not,
    /// since after the grace period the loop drops the connection anyway.
    pub stopping: CancellationToken,
}

// ANCHOR: serve
/// Accepts connections on `listener` until `shutdown` completes, running
/// `handle` for each on its own task, then shuts down as described above.
///
/// `handle` returns a summary for the connection's "closed" log line, such as
/// "echoed 42 bytes, client closed".
pub async fn serve<H, F>(
    listener: TcpListener,
    limits: AcceptLimits,
    shutdown: impl Future,
    handle: H,
) where
    H: Fn(Connection) -> F,
    F: Future + Send + 'static,
    F::Output: Display,
{
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let stopping = CancellationToken::new();
    let grace_over = CancellationToken::new();
    let tracker = TaskTracker::new();
    let mut next_id = 1;
    tokio::pin!(shutdown);

    loop {
        let accepted = tokio::select! {
            // `biased`: check for shutdown first, so that a flood of clients
            // cannot keep the server from stopping.
            biased;
            _ = &mut shutdown => break,
            accepted = accept_with_permit(&listener, &permits, limits.max_connections) => accepted,
        };
        let (stream, peer, permit) = accepted;
        let id = next_id;
        next_id += 1;

        let connection = Connection {
            stream,
            peer,
            id,
            stopping: stopping.clone(),
        };
        let task = handle(connection);
        let grace_over = grace_over.clone();
        // The tracker counts the connection tasks still running: the
        // "open" figure in the logs.
        let open = tracker.clone();
        let span = info_span!("conn", id, %peer);
        tracker.spawn(
            async move {
                let started = Instant::now();
                info!(open = open.len(), "connection opened");
                let summary = tokio::select! {
                    summary = task => summary.to_string(),
                    _ = grace_over.cancelled() => "closed by the server: shutdown grace period over".to_string(),
                };
                drop(permit);
                info!(
                    // Not counting this one, which is about to end.
                    open = open.len() - 1,
                    duration = ?started.elapsed(),
                    "connection closed: {summary}"
                );
            }
            .instrument(span),
        );
    }

    // Tell: no new connections (dropping the listener closes the port), and
    // every connection's `stopping` token fires.
    drop(listener);
    stopping.cancel();
    tracker.close();
    let open = tracker.len();
    if open > 0 {
        info!(open, grace = ?limits.shutdown_grace, "shutting down: waiting for open connections to finish");
    }
    // Wait, then give up.
    if tokio::time::timeout(limits.shutdown_grace, tracker.wait())
        .await
        .is_err()
    {
        warn!(
            open = tracker.len(),
            "grace period over: closing the connections still open"
        );
        grace_over.cancel();
        tracker.wait().await;
    }
    info!("all connections closed; server stopped");
}
// ANCHOR_END: serve

// ANCHOR: accept_with_permit
/// Waits for a free connection slot, then for a connection. Never fails:
/// accept errors are logged and retried after a back-off.
async fn accept_with_permit(
    listener: &TcpListener,
    permits: &Arc<Semaphore>,
    max_connections: usize,
) -> (TcpStream, SocketAddr, OwnedSemaphorePermit) {
    let permit = match Arc::clone(permits).try_acquire_owned() {
        Ok(permit) => permit,
        Err(_) => {
            warn!(
                max_connections,
                "connection limit reached: not accepting until a connection closes"
            );
            let permit = Arc::clone(permits)
                .acquire_owned()
                .await
                // `acquire_owned` fails only on a closed semaphore, and
                // nothing ever closes this one.
                .expect("the connection semaphore is never closed");
            info!("a connection closed: accepting again");
            permit
        }
    };

    let mut backoff = FIRST_ACCEPT_BACKOFF;
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                debug!(%peer, "accepted");
                return (stream, peer, permit);
            }
            Err(error) => {
                warn!(%error, retry_in = ?backoff, "accept failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_ACCEPT_BACKOFF);
            }
        }
    }
}
// ANCHOR_END: accept_with_permit
