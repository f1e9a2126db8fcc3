//! `serve`: lesson 1's accept loop, with the HTTP connection loop inside.
//!
//! What to notice: nothing here is new. Accepting, the connection limit, the
//! accept back-off and the shutdown (tell, wait, give up) are lesson 1's
//! `tcp_echo::accept_loop::serve`. Where the echo server ran `echo` on each
//! connection, we run `serve_connection`, which speaks HTTP.

use std::future::Future;
use std::sync::Arc;

use tcp_echo::accept_loop::{self, AcceptLimits};
use tokio::net::TcpListener;

use crate::config::HttpConfig;
use crate::connection::{Timeouts, serve_connection};
use crate::request::Request;
use crate::response::Response;

// ANCHOR: serve
/// Serves HTTP on `listener`, answering each request with `handler`, until
/// `shutdown` completes; then stops accepting, lets requests in flight
/// finish (their responses say `Connection: close`), closes idle keep-alive
/// connections at once, and returns within the grace period.
///
/// The handler is any `async fn(Request) -> Response` (or a closure
/// returning such a future); it is shared by every connection.
pub async fn serve<H, F>(
    listener: TcpListener,
    config: &HttpConfig,
    handler: H,
    shutdown: impl Future,
) where
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    let limits = AcceptLimits {
        max_connections: config.max_connections,
        shutdown_grace: config.server.shutdown_grace,
    };
    let timeouts = Timeouts::from(config);
    let handler = Arc::new(handler);
    let tls = config.tls.clone();
    accept_loop::serve(listener, limits, shutdown, move |connection| {
        serve_connection(connection, Arc::clone(&handler), timeouts, tls.clone())
    })
    .await;
}
// ANCHOR_END: serve
