//! Waiting for the signal to stop: Ctrl+C (SIGINT) or SIGTERM.
//!
//! What to notice: a terminal sends SIGINT when you press Ctrl+C; process
//! managers (systemd, Docker, Kubernetes) send SIGTERM and, if the process is
//! still there after a while, SIGKILL, which cannot be caught. A server that
//! handles both gets to finish its work instead of being cut off mid-reply.
//! This future only *waits*; what "stopping" means is up to each server's
//! accept loop, which `select!`s on it.

use tokio::signal::unix::{SignalKind, signal};

// ANCHOR: shutdown_signal
/// Completes when the process receives SIGINT or SIGTERM, and logs which.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        match tokio::signal::ctrl_c().await {
            Ok(()) => "SIGINT (Ctrl+C)",
            Err(error) => {
                tracing::warn!(%error, "cannot listen for Ctrl+C; only SIGTERM will stop the server");
                std::future::pending().await
            }
        }
    };
    let terminate = async {
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
                "SIGTERM"
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl+C will stop the server");
                std::future::pending().await
            }
        }
    };
    let name = tokio::select! {
        name = ctrl_c => name,
        name = terminate => name,
    };
    tracing::info!("received {name}: shutting down");
}
// ANCHOR_END: shutdown_signal
