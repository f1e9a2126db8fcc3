//! `serve`: lesson 1's accept loop, with the HTTP connection loop inside.
//!
//! What to notice: almost nothing here is new. Accepting, the connection
//! limit, the accept back-off and the shutdown (tell, wait, give up) are
//! lesson 1's `tcp_echo::accept_loop::serve`. Where the echo server ran
//! `echo` on each connection, we run `serve_connection`, which speaks HTTP.
//! One thing is HTTP's own: a client past the connection limit is told so
//! with a `503` (lesson 1's echo clients just wait).

use std::future::Future;
use std::sync::Arc;

use tcp_echo::accept_loop::{self, AcceptLimits};
use tokio::net::TcpListener;
use tracing::info;

use crate::config::HttpConfig;
use crate::connection::{Timeouts, serve_connection};
use crate::error::HttpError;
use crate::handshake::Handshakes;
use crate::request::Request;
use crate::response::Body;
use crate::response::Response;
use crate::service::{Service, refusal_response};
use crate::write::{ConnectionHeader, ResponseFraming, write_head};

// ANCHOR: serve
/// Serves HTTP on `listener`, answering each request with `handler`, until
/// `shutdown` completes; then stops accepting, lets requests in flight
/// finish (their responses say `Connection: close`), closes idle keep-alive
/// connections at once, and returns within the grace period.
///
/// The handler is any `async fn(Request) -> Response` (or a closure
/// returning such a future); it is shared by every connection, and takes
/// bodies of up to `DEFAULT_BODY_LIMIT` bytes.
pub async fn serve<H, F>(
    listener: TcpListener,
    config: &HttpConfig,
    handler: H,
    shutdown: impl Future,
) where
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    serve_service(listener, config, handler, shutdown).await;
}

/// Like [`serve`], for an application that also decides each request's body
/// limit and shapes the error responses (see `service.rs`).
///
/// Past `MAX_CONNECTIONS`, a client gets `503 Service Unavailable` with
/// `Retry-After` at once (shaped by the application like every refusal) and
/// is closed, rather than waiting in silence for a free slot.
pub async fn serve_service<S: Service>(
    listener: TcpListener,
    config: &HttpConfig,
    service: S,
    shutdown: impl Future,
) {
    let service = Arc::new(service);
    let mut limits = AcceptLimits::new(config.max_connections, config.server.shutdown_grace);
    let tls = config.tls.clone().map(|tls| {
        let timeout = config.handshake_timeout;
        Arc::new(Handshakes::new(tls, timeout, config.max_connections))
    });
    match &tls {
        None => {
            let at_capacity = Arc::clone(&service);
            limits = limits.with_refusal(move || at_capacity_bytes(&*at_capacity));
            info!(
                max_connections = config.max_connections,
                "clients past max_connections get 503 Service Unavailable and are closed"
            );
        }
        Some(handshakes) => {
            // An HTTPS client expects a TLS handshake, not a 503 in clear
            // text, and a handshake is the very work the limit is there to
            // refuse: so over HTTPS, clients past the limit wait for a free
            // slot instead. Handshakes that never finish cannot take every
            // slot: they have a budget of their own.
            let max_handshakes = handshakes.budget.capacity();
            info!(
                max_connections = config.max_connections,
                max_handshakes,
                "HTTPS: clients past max_connections wait for a free slot; \
                 at most {max_handshakes} TLS handshakes in progress, the oldest make room for new ones"
            );
        }
    }
    let timeouts = Timeouts::from(config);
    accept_loop::serve(listener, limits, shutdown, move |connection| {
        serve_connection(connection, Arc::clone(&service), timeouts, tls.clone())
    })
    .await;
}
// ANCHOR_END: serve

/// The bytes of the 503 for a client past the connection limit: written
/// whole, without waiting, by the accept loop. No request was read.
fn at_capacity_bytes<S: Service>(service: &S) -> Vec<u8> {
    let error = HttpError::ServiceUnavailable;
    let mut response = refusal_response(service, &error, None, &[]);
    // Only an in-memory body can be written without waiting.
    let body = match response.take_body() {
        Body::Stream { .. } => error.to_response().take_body(),
        body => body,
    };
    let mut bytes = Vec::new();
    let response = response.with_body(body);
    write_head(
        &mut bytes,
        &response,
        ResponseFraming::of(&response),
        ConnectionHeader::Close,
    );
    if let Some(body) = response.body().as_bytes() {
        bytes.extend_from_slice(body);
    }
    bytes
}
