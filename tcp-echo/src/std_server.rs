//! The std servers' machinery: their shared state (open connections, the
//! limit), `accept`, and how to stop.
//!
//! What to notice: without an async runtime there is no `select!` to race a
//! blocking `accept()` or `read()` against "please stop". So stopping takes
//! machinery of its own: a flag the accept loop checks after every `accept`,
//! a throw-away connection to ourselves that wakes the blocked `accept` so it
//! sees the flag, and a table of open sockets so that, when the grace period
//! is over, we can `shutdown()` them and make every blocked `read` return.
//! Compare with the dozen lines the async accept loop needs for the same job.

use std::collections::HashMap;
use std::future::Future;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tracing::{debug, info, info_span, warn};

use crate::accept_loop::{FIRST_ACCEPT_BACKOFF, MAX_ACCEPT_BACKOFF};
use crate::startup::try_it_ip;

/// State shared by the accept loop, the connection threads and the thread
/// that handles shutdown.
#[derive(Debug)]
pub struct StdServerState {
    /// Set once shutdown starts; the accept loop checks it after each accept.
    stopping: AtomicBool,
    /// The open connections by id, each a second handle (`try_clone`) on the
    /// socket, so the shutdown thread can close it under a blocked `read`.
    /// A std `Mutex`: these servers have no async runtime to yield to.
    open: Mutex<HashMap<u64, TcpStream>>,
    /// Signalled whenever a connection closes.
    closed: Condvar,
    /// Where the listener is, so `stop` can connect to it.
    local_addr: SocketAddr,
    /// The next connection's number, for the logs.
    next_id: AtomicU64,
}

impl StdServerState {
    /// State for a server listening on `local_addr`.
    pub fn new(local_addr: SocketAddr) -> Arc<StdServerState> {
        Arc::new(StdServerState {
            stopping: AtomicBool::new(false),
            open: Mutex::new(HashMap::new()),
            closed: Condvar::new(),
            local_addr,
            next_id: AtomicU64::new(1),
        })
    }

    /// Whether shutdown has started.
    fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// A poisoned lock only means another connection's thread panicked; the
    /// table itself is still consistent, so carry on with it.
    fn lock_open(&self) -> MutexGuard<'_, HashMap<u64, TcpStream>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Blocks while `max` connections are open (the thread-per-connection
    /// server's `MAX_CONNECTIONS`).
    pub fn wait_for_slot(&self, max: usize) {
        let open = self.lock_open();
        if open.len() >= max {
            warn!(
                max_connections = max,
                "connection limit reached: not accepting until a connection closes"
            );
        }
        let _open = self
            .closed
            .wait_while(open, |open| open.len() >= max && !self.is_stopping())
            .unwrap_or_else(PoisonError::into_inner);
    }

    /// Enters a new connection in the table of open ones, under a new id.
    /// `None` (and the connection is closed) if its socket cannot be cloned.
    fn track(&self, stream: TcpStream, peer: SocketAddr) -> Option<Accepted> {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let _span = info_span!("conn", id, %peer).entered();
        let handle = match stream.try_clone() {
            Ok(handle) => handle,
            Err(error) => {
                warn!(%error, "cannot track this connection; closing it");
                return None;
            }
        };
        let mut open = self.lock_open();
        open.insert(id, handle);
        debug!("accepted");
        info!(open = open.len(), "connection opened");
        Some(Accepted { stream, peer, id })
    }

    /// Removes a closed connection from the table, wakes whoever waits for
    /// one to close, and returns how many are still open.
    pub fn forget(&self, id: u64) -> usize {
        let mut open = self.lock_open();
        open.remove(&id);
        let still_open = open.len();
        drop(open);
        self.closed.notify_all();
        still_open
    }

    /// Starts shutdown: raises the flag, then wakes the accept loop, which is
    /// probably blocked in `accept()`, by connecting to it.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Take the lock before notifying, so a thread between checking the
        // flag and going to sleep in `wait_for_slot` cannot miss the wake-up.
        drop(self.lock_open());
        self.closed.notify_all();
        // A listener on 0.0.0.0 (every interface) is reachable on 127.0.0.1,
        // as the "try it" hint says.
        let wake_addr = SocketAddr::new(try_it_ip(self.local_addr), self.local_addr.port());
        if let Err(error) = TcpStream::connect_timeout(&wake_addr, Duration::from_secs(1)) {
            debug!(%error, "wake-up connection failed; the accept loop may stop late");
        }
    }

    /// Waits up to `grace` for the open connections to close, then shuts the
    /// rest down (their threads see EOF and finish). Returns how many had to
    /// be closed that way.
    fn close_after(&self, grace: Duration) -> usize {
        let deadline = Instant::now() + grace;
        let mut open = self.lock_open();
        while !open.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            open = self
                .closed
                .wait_timeout(open, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        for stream in open.values() {
            // Errors only mean the socket is already closed.
            let _ = stream.shutdown(Shutdown::Both);
        }
        open.len()
    }
}

/// A connection just accepted and entered in the table of open connections.
#[derive(Debug)]
pub struct Accepted {
    /// The socket.
    pub stream: TcpStream,
    /// The client's address.
    pub peer: SocketAddr,
    /// The connection's number, for the logs.
    pub id: u64,
}

/// Accepts the next connection and enters it in the table of open ones,
/// retrying after a back-off on errors. `None` once the server is stopping.
///
/// The table entry is made here, on the accept thread, so that
/// `wait_for_slot` counts the connection before the next `accept`.
pub fn accept(listener: &TcpListener, state: &StdServerState) -> Option<Accepted> {
    let mut backoff = FIRST_ACCEPT_BACKOFF;
    loop {
        let accepted = listener.accept();
        if state.is_stopping() {
            return None;
        }
        match accepted {
            Ok((stream, peer)) => {
                if let Some(accepted) = state.track(stream, peer) {
                    return Some(accepted);
                }
            }
            Err(error) => {
                crate::fd_limit::log_accept_error(&error, backoff);
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(MAX_ACCEPT_BACKOFF);
            }
        }
    }
}

/// Runs a std server (`serve_forever`) on a thread of its own until `shutdown`
/// completes, then stops it and waits up to `grace` for its connections.
pub async fn serve_on_thread<S>(
    listener: TcpListener,
    grace: Duration,
    shutdown: impl Future,
    serve_forever: S,
) -> std::io::Result<()>
where
    S: FnOnce(TcpListener, Arc<StdServerState>) + Send + 'static,
{
    let state = StdServerState::new(listener.local_addr()?);
    let server_state = Arc::clone(&state);
    let current_span = tracing::Span::current();
    let server = std::thread::Builder::new()
        .name("accept-loop".into())
        .spawn(move || {
            let _span = current_span.entered();
            serve_forever(listener, server_state);
        })?;

    shutdown.await;
    state.stop();
    let forced = tokio::task::spawn_blocking(move || {
        let forced = state.close_after(grace);
        // The accept thread ends once it sees the flag (the blocking server:
        // once its current connection, now shut down, has ended).
        let _ = server.join();
        forced
    })
    .await
    .unwrap_or(0);
    if forced > 0 {
        warn!(
            forced,
            "grace period over: closed the connections still open"
        );
    }
    info!("all connections closed; server stopped");
    Ok(())
}
