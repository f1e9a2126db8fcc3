//! The async accept loop: take connections, give each its own task, stop cleanly.
//!
//! What to notice:
//! - A permit from a semaphore is taken *before* `accept`, so at
//!   `max_connections` the server simply stops accepting. The permit moves
//!   into the connection's task and is given back when the task ends.
//! - What a client past the limit sees is a choice, made with
//!   [`AcceptLimits::refusal`]:
//!   - `None` (tcp-echo): the kernel completes its TCP handshake and keeps it
//!     in the listen backlog, its bytes in the socket buffer, until a
//!     connection closes; then it is accepted and served as if nothing had
//!     happened. Until then it sees silence. (If the backlog fills up too,
//!     the kernel stops answering new handshakes and `connect` retries.)
//!   - `Some(refusal)` (the HTTP lessons: a `503` with `Retry-After`): the
//!     loop accepts it anyway, writes the refusal's bytes without waiting,
//!     and closes it, so the client gets an answer at once.
//! - A full server says so once per episode: one warning when it reaches the
//!   limit, one info line when a slot is free and nobody is waiting any more,
//!   with how many clients waited (or were refused) meanwhile. A flood that
//!   keeps the server at its limit is two lines, not two per connection.
//! - An `accept` error (out of file descriptors, say) is logged and retried
//!   after a back-off; it never ends the server. `accept().await?` in a loop is
//!   the classic way a whole server dies because of one bad moment.
//! - Shutdown is three steps: *tell* (stop accepting, cancel the `stopping`
//!   token each connection can watch), *wait* (a `TaskTracker` knows which
//!   connection tasks are still running), *give up* (after the grace period
//!   the remaining connections are dropped, which closes their sockets).
//!
//! Nothing here knows about echo: `http-raw` serves HTTP with the same loop.
//! Two hooks exist for lesson 3, and tcp-echo does not use them:
//! - [`AcceptLimits::with_refusal`], the bytes a client past the limit gets
//!   before it is closed (HTTP's `503`; `refuse` drains what the client sent
//!   first, so the close does not reset the answer away);
//! - [`Connection::stopping`], the token a handler with a safe point to stop
//!   at watches (HTTP: between two requests on a keep-alive connection).
//!
//! Echo needs neither: a client past the limit waits in the backlog, and
//! after the grace period the loop drops the connection wherever it is.

use std::fmt::{self, Display};
use std::future::Future;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, debug, info, info_span, warn};

use crate::fd_limit;

/// 1024 open connections. Each costs a file descriptor, and many systems
/// start a process with a soft limit of 1024 descriptors (`ulimit -n`).
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// After an `accept` error, wait this long before trying again, doubling up
/// to [`MAX_ACCEPT_BACKOFF`]: errors such as EMFILE (too many open files)
/// last until some connection closes, and retrying at once would spin a core.
pub(crate) const FIRST_ACCEPT_BACKOFF: Duration = Duration::from_millis(10);
pub(crate) const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// How much a refused client may already have sent that we read and throw
/// away before closing (see [`refuse`]): a request head fits.
const REFUSAL_DRAIN_BYTES: usize = 16 * 1024;

// ANCHOR: limits
/// The bytes written to a client turned away at the connection limit, made
/// afresh for each one (an HTTP refusal carries the current `Date`).
pub type Refusal = Arc<dyn Fn() -> Vec<u8> + Send + Sync>;

/// What the accept loop needs to know besides the listener.
#[derive(Clone)]
pub struct AcceptLimits {
    /// At most this many connections are open at once (`MAX_CONNECTIONS`).
    pub max_connections: usize,
    /// After shutdown is asked for, open connections get this long to finish
    /// (`SHUTDOWN_GRACE_SECS`); then they are closed.
    pub shutdown_grace: Duration,
    /// What a client past the limit gets. `None`: it waits, in silence, in
    /// the kernel's backlog until a connection closes. `Some`: it is accepted
    /// at once, sent these bytes (best effort, never waiting) and closed.
    pub refusal: Option<Refusal>,
}

impl AcceptLimits {
    /// Limits under which clients past `max_connections` wait for a slot.
    pub fn new(max_connections: usize, shutdown_grace: Duration) -> AcceptLimits {
        AcceptLimits {
            max_connections,
            shutdown_grace,
            refusal: None,
        }
    }

    /// The same limits, but clients past `max_connections` get `refusal()`'s
    /// bytes and are closed, instead of waiting.
    pub fn with_refusal(
        self,
        refusal: impl Fn() -> Vec<u8> + Send + Sync + 'static,
    ) -> AcceptLimits {
        AcceptLimits {
            refusal: Some(Arc::new(refusal)),
            ..self
        }
    }
}
// ANCHOR_END: limits

impl AcceptLimits {
    /// What a client past the limit gets, in words, for the logs.
    fn past_the_limit(&self) -> &'static str {
        match self.refusal {
            None => "new clients wait in the backlog until a connection closes",
            Some(_) => "new clients are refused until a connection closes",
        }
    }
}

impl fmt::Debug for AcceptLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcceptLimits")
            .field("max_connections", &self.max_connections)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("refusal", &self.refusal.as_ref().map(|_| "Fn() -> Vec<u8>"))
            .finish()
    }
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
    fd_limit::warn_if_too_low(limits.max_connections);
    info!(
        max_connections = limits.max_connections,
        "once max_connections are open, {}",
        limits.past_the_limit()
    );
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let mut at_limit = LimitEpisode::default();
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
            accepted = accept_with_permit(&listener, &permits, &limits, &mut at_limit) => accepted,
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
/// Waits for a free connection slot, then for a connection. Clients that
/// arrive while every slot is taken wait in the backlog or, with a refusal,
/// are refused here. Never fails: accept errors are logged and retried.
async fn accept_with_permit(
    listener: &TcpListener,
    permits: &Arc<Semaphore>,
    limits: &AcceptLimits,
    at_limit: &mut LimitEpisode,
) -> (TcpStream, SocketAddr, OwnedSemaphorePermit) {
    let permit = loop {
        if let Ok(permit) = Arc::clone(permits).try_acquire_owned() {
            break permit;
        }
        at_limit.begin(limits);
        let Some(refusal) = &limits.refusal else {
            break free_slot(permits).await;
        };
        // `biased`: a slot that frees up goes to the next client, rather
        // than refusing one more.
        tokio::select! {
            biased;
            permit = free_slot(permits) => break permit,
            (stream, peer) = accept_retrying(listener) => {
                refuse(stream, peer, refusal);
                at_limit.turned_away += 1;
            }
        }
    };

    if at_limit.active {
        // A slot is free. If a client is already waiting, the episode goes
        // on; if nobody is, the server is below its limit again.
        match waiting_client(listener).await {
            Some(Ok((stream, peer))) => {
                if limits.refusal.is_none() {
                    at_limit.turned_away += 1;
                }
                debug!(%peer, "accepted");
                return (stream, peer, permit);
            }
            // The retrying accept below meets this error again and logs it.
            Some(Err(_)) => {}
            None => at_limit.end(limits),
        }
    }
    let (stream, peer) = accept_retrying(listener).await;
    (stream, peer, permit)
}
// ANCHOR_END: accept_with_permit

/// Waits until a connection closes and its slot is free.
async fn free_slot(permits: &Arc<Semaphore>) -> OwnedSemaphorePermit {
    Arc::clone(permits)
        .acquire_owned()
        .await
        // `acquire_owned` fails only on a closed semaphore, and nothing
        // ever closes this one.
        .expect("the connection semaphore is never closed")
}

/// Waits for the next connection, retrying after a back-off on errors.
async fn accept_retrying(listener: &TcpListener) -> (TcpStream, SocketAddr) {
    let mut backoff = FIRST_ACCEPT_BACKOFF;
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                debug!(%peer, "accepted");
                return (stream, peer);
            }
            Err(error) => {
                fd_limit::log_accept_error(&error, backoff);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_ACCEPT_BACKOFF);
            }
        }
    }
}

/// A client already waiting in the backlog, taken without waiting for one;
/// `None` when nobody is waiting.
async fn waiting_client(listener: &TcpListener) -> Option<io::Result<(TcpStream, SocketAddr)>> {
    // Poll `accept` exactly once: ready means someone was waiting.
    std::future::poll_fn(|cx| {
        Poll::Ready(match listener.poll_accept(cx) {
            Poll::Ready(accepted) => Some(accepted),
            Poll::Pending => None,
        })
    })
    .await
}

// ANCHOR: refuse
/// Sends a client past the limit the refusal's bytes and closes it, without
/// ever waiting: the accept loop must not stall on a client it is refusing.
///
/// Best effort. The write goes straight to the fresh socket's empty send
/// buffer, so a short refusal fits. Before closing we read and discard what
/// the client has already sent: closing a socket with unread data makes the
/// kernel send a reset, which can destroy the refusal before the client reads
/// it (RFC 9112 section 9.6). A request that arrives after the close still
/// meets that reset; waiting for it would cost the very slot we are saving.
fn refuse(stream: TcpStream, peer: SocketAddr, refusal: &Refusal) {
    // Back to a plain (still non-blocking) socket: tokio's `try_write`
    // would report WouldBlock until its reactor had seen the socket once.
    let mut stream = match stream.into_std() {
        Ok(stream) => stream,
        Err(error) => {
            debug!(%peer, %error, "refused (closed without the refusal)");
            return;
        }
    };
    let bytes = refusal();
    match stream.write(&bytes) {
        Ok(written) => debug!(%peer, written, "refused"),
        Err(error) => debug!(%peer, %error, "refused (the refusal could not be written)"),
    }
    let mut scratch = [0u8; 1024];
    let mut drained = 0;
    while drained < REFUSAL_DRAIN_BYTES {
        match stream.read(&mut scratch) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
}
// ANCHOR_END: refuse

/// One stretch of time at the connection limit, for its two log lines.
#[derive(Debug, Default)]
struct LimitEpisode {
    /// Whether the server is at its limit (the warning has been logged).
    active: bool,
    /// Clients that arrived meanwhile: waited in the backlog, or refused.
    turned_away: u64,
}

impl LimitEpisode {
    /// The server found every slot taken: warn, once per episode.
    fn begin(&mut self, limits: &AcceptLimits) {
        if self.active {
            return;
        }
        self.active = true;
        self.turned_away = 0;
        warn!(
            max_connections = limits.max_connections,
            "connection limit reached: {}",
            limits.past_the_limit()
        );
    }

    /// A slot is free and nobody is waiting for it: the episode is over.
    fn end(&mut self, limits: &AcceptLimits) {
        self.active = false;
        let clients = self.turned_away;
        match limits.refusal {
            None => info!(
                waited = clients,
                "below the connection limit again: {clients} clients waited for a slot meanwhile"
            ),
            Some(_) => info!(
                refused = clients,
                "below the connection limit again: {clients} clients were refused meanwhile"
            ),
        }
    }
}
