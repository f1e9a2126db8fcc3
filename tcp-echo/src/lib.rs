//! Lesson 1: a TCP echo server (RFC 862), written three ways.
//!
//! An echo server sends back every byte it receives, unchanged. That is the
//! whole protocol, which leaves room to look at everything around it: binding
//! a port, accepting connections, serving many at once, limits, and stopping
//! cleanly. Choose the server with `ECHO_MODE`:
//!
//! | `ECHO_MODE`       | file                 | clients served at once |
//! |-------------------|----------------------|------------------------|
//! | `blocking`        | `server_blocking.rs` | one                    |
//! | `threads`         | `server_threads.rs`  | one per OS thread      |
//! | `async` (default) | `server_async.rs`    | one per tokio task     |
//!
//! Reading order: `main.rs`, then this file (the settings, and `run`, which
//! picks the server), then the echo servers, then what every lesson uses.
//!
//! Try it: `cargo run -p tcp-echo`, then `nc 127.0.0.1 7007` and type a line:
//! it comes straight back.

// The echo servers, in reading order: the three ways to serve (blocking,
// threads, async), then what they share: the blocking servers' state,
// `accept` and stopping (`std_server.rs`), the async server's idle timeout
// (`idle_timer.rs`), and the "connection closed" summary (`summary.rs`).
pub mod idle_timer;
pub mod server_async;
pub mod server_blocking;
pub mod server_threads;
pub mod std_server;
pub mod summary;

// Used by every lesson, which build on these rather than copy them: settings
// (`config.rs`), binding (`bind.rs`), `main`'s first steps (`startup.rs`),
// logs (`logging.rs`), Ctrl+C and SIGTERM (`shutdown.rs`), the async accept
// loop with its connection limit (`accept_loop.rs`), the open-files limit
// (`fd_limit.rs`).
pub mod accept_loop;
pub mod bind;
pub mod config;
pub mod fd_limit;
pub mod logging;
pub mod shutdown;
pub mod startup;

use std::fmt;
use std::future::Future;
use std::io;
use std::str::FromStr;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::accept_loop::{AcceptLimits, DEFAULT_MAX_CONNECTIONS};
use crate::config::{ConfigError, ServerConfig, max_connections_var, parse_var, seconds_var};

/// RFC 862 gives echo port 7; ports below 1024 need root, hence 7007.
pub const DEFAULT_PORT: u16 = 7007;

/// Five minutes: long enough for a learner typing into `nc`, short enough that
/// abandoned connections do not pile up.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// Which of the three servers to run (`ECHO_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EchoMode {
    /// `server_blocking.rs`: one client at a time.
    Blocking,
    /// `server_threads.rs`: one OS thread per client.
    Threads,
    /// `server_async.rs`: one tokio task per client.
    Async,
}

impl FromStr for EchoMode {
    type Err = ();

    fn from_str(text: &str) -> Result<EchoMode, ()> {
        match text {
            "blocking" => Ok(EchoMode::Blocking),
            "threads" => Ok(EchoMode::Threads),
            "async" => Ok(EchoMode::Async),
            _ => Err(()),
        }
    }
}

impl fmt::Display for EchoMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EchoMode::Blocking => "blocking",
            EchoMode::Threads => "threads",
            EchoMode::Async => "async",
        })
    }
}

// ANCHOR: config
/// Everything `tcp-echo` can be told through its environment.
#[derive(Debug, Clone)]
pub struct EchoConfig {
    /// `HOST`, `PORT`, `SHUTDOWN_GRACE_SECS`, as in every lesson.
    pub server: ServerConfig,
    /// `ECHO_MODE`: `async` (default), `threads` or `blocking`.
    pub mode: EchoMode,
    /// `MAX_CONNECTIONS` (default 1024): beyond this, clients wait in the
    /// kernel's backlog until a connection closes.
    pub max_connections: usize,
    /// `IDLE_TIMEOUT_SECS` (default 300): a connection where nothing moves for
    /// this long is closed.
    pub idle_timeout: Duration,
}

impl EchoConfig {
    /// Reads the configuration from the environment.
    pub fn from_env() -> Result<EchoConfig, ConfigError> {
        Ok(EchoConfig {
            server: ServerConfig::from_env(DEFAULT_PORT)?,
            mode: parse_var(
                "ECHO_MODE",
                EchoMode::Async,
                "one of async, threads, blocking",
            )?,
            max_connections: max_connections_var(DEFAULT_MAX_CONNECTIONS)?,
            idle_timeout: seconds_var("IDLE_TIMEOUT_SECS", DEFAULT_IDLE_TIMEOUT, 1..=86_400)?,
        })
    }
}
// ANCHOR_END: config

/// Serves echo on `listener` with the configured server until `shutdown`
/// completes, then stops as every lesson does: no new connections, open ones
/// get the grace period, the rest are closed.
pub async fn run(
    listener: TcpListener,
    config: &EchoConfig,
    shutdown: impl Future,
) -> io::Result<()> {
    let idle_timeout = config.idle_timeout;
    let grace = config.server.shutdown_grace;
    match config.mode {
        EchoMode::Async => {
            let limits = AcceptLimits::new(config.max_connections, grace);
            server_async::serve(listener, limits, idle_timeout, shutdown).await;
            Ok(())
        }
        EchoMode::Blocking => {
            let listener = into_blocking(listener)?;
            std_server::serve_on_thread(listener, grace, shutdown, move |listener, state| {
                server_blocking::serve(listener, state, idle_timeout)
            })
            .await
        }
        EchoMode::Threads => {
            let listener = into_blocking(listener)?;
            let max = config.max_connections;
            fd_limit::warn_if_too_low(max);
            std_server::serve_on_thread(listener, grace, shutdown, move |listener, state| {
                server_threads::serve(listener, state, max, idle_timeout)
            })
            .await
        }
    }
}

/// A tokio listener is a non-blocking socket; the std servers want a
/// blocking one, where `accept` waits.
fn into_blocking(listener: TcpListener) -> io::Result<std::net::TcpListener> {
    let listener = listener.into_std()?;
    listener.set_nonblocking(false)?;
    Ok(listener)
}
