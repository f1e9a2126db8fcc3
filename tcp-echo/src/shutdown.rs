//! Waiting for the signal to stop: Ctrl+C (SIGINT) or SIGTERM.
//!
//! What to notice: a terminal sends SIGINT when you press Ctrl+C; process
//! managers (systemd, Docker, Kubernetes) send SIGTERM and, if the process is
//! still there after a while, SIGKILL, which cannot be caught. A server that
//! handles both gets to finish its work instead of being cut off mid-reply.
//! This future only *waits*; what "stopping" means is up to each server's
//! accept loop, which `select!`s on it.

use std::future::Future;

use tokio::signal::unix::{Signal, SignalKind, signal};

// ANCHOR: shutdown_signal
/// Completes when the process receives SIGINT or SIGTERM, and logs which.
///
/// The handlers are installed when this function is *called*, not when the
/// future is first polled: `main` calls it before printing `listening on`, so
/// a signal sent the moment after is never missed (and never kills us the
/// default way, with no cleanup).
pub fn shutdown_signal() -> impl Future<Output = ()> {
    let interrupt = listen_for(SignalKind::interrupt(), "SIGINT (Ctrl+C)");
    let terminate = listen_for(SignalKind::terminate(), "SIGTERM");
    async move {
        let name = tokio::select! {
            name = received(interrupt) => name,
            name = received(terminate) => name,
        };
        tracing::info!("received {name}: shutting down");
    }
}
// ANCHOR_END: shutdown_signal

fn listen_for(kind: SignalKind, name: &'static str) -> Option<(Signal, &'static str)> {
    match signal(kind) {
        Ok(listener) => Some((listener, name)),
        Err(error) => {
            tracing::warn!(%error, "cannot listen for {name}; it will stop the server without cleanup");
            None
        }
    }
}

async fn received(listener: Option<(Signal, &'static str)>) -> &'static str {
    match listener {
        Some((mut signal, name)) => {
            signal.recv().await;
            name
        }
        None => std::future::pending().await,
    }
}
