//! Server 2 of 3: a thread per connection (std::net only).
//!
//! What to notice: the accept loop is the blocking server's, and each
//! connection is served by the blocking server's `handle_connection`, except
//! that it runs on a new OS thread, so `accept` is called again at once. Clients no longer wait for each other. The price is a thread per
//! client: its stack (reserved 2 MiB, of which the kernel backs only the pages
//! touched), a kernel task to schedule, and a context switch whenever it
//! wakes. That is fine for hundreds of clients and heavy for tens of thousands.
//!
//! Try it: `ECHO_MODE=threads cargo run -p tcp-echo`, then `nc 127.0.0.1 7007`
//! in two terminals; both echo at once.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use tracing::warn;

use crate::server_blocking::handle_connection;
use crate::std_server::{StdServerState, accept};

// ANCHOR: serve
/// Accepts connections and serves each on its own thread, at most
/// `max_connections` at once, until the server is stopped.
pub fn serve(
    listener: TcpListener,
    state: Arc<StdServerState>,
    max_connections: usize,
    idle_timeout: Duration,
) {
    loop {
        state.wait_for_slot(max_connections);
        let Some(accepted) = accept(&listener, &state) else {
            break;
        };
        let id = accepted.id;
        let thread_state = Arc::clone(&state);
        // The one change from `server_blocking.rs`: serve on a new thread.
        let spawned = std::thread::Builder::new()
            .name(format!("conn-{id}"))
            .spawn(move || handle_connection(&thread_state, accepted, idle_timeout));
        if let Err(error) = spawned {
            // Out of threads or memory: the closure, and with it the socket,
            // is dropped, which closes this client; the server goes on.
            warn!(%error, id, "cannot start a thread for this connection; closing it");
            state.forget(id);
        }
    }
}
// ANCHOR_END: serve
