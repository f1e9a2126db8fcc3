//! Waiting for the signal to stop: Ctrl+C everywhere, SIGTERM where it exists.
//!
//! What to notice: a terminal sends SIGINT when you press Ctrl+C; process
//! managers (systemd, Docker, Kubernetes) send SIGTERM and, if the process is
//! still there after a while, SIGKILL, which cannot be caught. A server that
//! handles both gets to finish its work instead of being cut off mid-reply.
//! Windows has no signals: Ctrl+C in a console is a "console control event"
//! (`CTRL_C_EVENT`), which tokio turns into the same kind of future, and
//! there is no SIGTERM to wait for (axum's examples do the same: `ctrl_c()`,
//! plus SIGTERM under `#[cfg(unix)]`). This future only *waits*; what
//! "stopping" means is up to each server's accept loop, which `select!`s on it.

use std::future::Future;

// ANCHOR: shutdown_signal
/// Completes on Ctrl+C (SIGINT on Linux and macOS, the console's Ctrl+C on
/// Windows) or on SIGTERM (Unix only), and logs which.
///
/// The handlers are installed when this function is *called*, not when the
/// future is first polled: `main` calls it before printing `listening on`, so
/// a signal sent the moment after is never missed (and never kills us the
/// default way, with no cleanup).
pub fn shutdown_signal() -> impl Future<Output = ()> {
    let interrupt = os::interrupt();
    let terminate = os::terminate();
    async move {
        let name = tokio::select! {
            name = interrupt => name,
            name = terminate => name,
        };
        tracing::info!("received {name}: shutting down");
    }
}
// ANCHOR_END: shutdown_signal

/// Linux and macOS: two signals, each with its own listener.
#[cfg(unix)]
mod os {
    use std::future::Future;

    use tokio::signal::unix::{SignalKind, signal};

    /// SIGINT, which a terminal sends on Ctrl+C.
    pub fn interrupt() -> impl Future<Output = &'static str> {
        listen_for(SignalKind::interrupt(), "SIGINT (Ctrl+C)")
    }

    /// SIGTERM, which `kill`, systemd and Docker send.
    pub fn terminate() -> impl Future<Output = &'static str> {
        listen_for(SignalKind::terminate(), "SIGTERM")
    }

    /// Installs the handler now; the future completes when the signal comes.
    fn listen_for(kind: SignalKind, name: &'static str) -> impl Future<Output = &'static str> {
        let listener = signal(kind)
            .inspect_err(|error| {
                tracing::warn!(%error, "cannot listen for {name}; it will stop the server without cleanup");
            })
            .ok();
        async move {
            match listener {
                Some(mut listener) => {
                    listener.recv().await;
                    name
                }
                None => std::future::pending().await,
            }
        }
    }
}

/// Windows: Ctrl+C is a console event, and nothing is like SIGTERM.
#[cfg(windows)]
mod os {
    use std::future::Future;

    /// Ctrl+C in the server's console window.
    pub fn interrupt() -> impl Future<Output = &'static str> {
        let name = "Ctrl+C";
        let listener = tokio::signal::windows::ctrl_c()
            .inspect_err(|error| {
                tracing::warn!(%error, "cannot listen for {name}; it will stop the server without cleanup");
            })
            .ok();
        async move {
            match listener {
                Some(mut listener) => {
                    listener.recv().await;
                    name
                }
                None => std::future::pending().await,
            }
        }
    }

    /// Windows has no SIGTERM: `taskkill /F` ends a process with no event to
    /// catch, like SIGKILL, so this never completes.
    pub fn terminate() -> impl Future<Output = &'static str> {
        std::future::pending()
    }
}
