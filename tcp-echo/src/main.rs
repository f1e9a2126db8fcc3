//! `cargo run -p tcp-echo`: the echo server, ready for `nc` and `telnet`.
//!
//! Read config, bind, say where we listen, serve until Ctrl+C or SIGTERM.
//! Everything else lives in the library (`lib.rs`), where tests can drive it.

use std::process::ExitCode;

use tcp_echo::shutdown::shutdown_signal;
use tcp_echo::startup::{fail, listen};
use tcp_echo::{EchoConfig, logging};

#[tokio::main]
async fn main() -> ExitCode {
    let config = match EchoConfig::from_env() {
        Ok(config) => config,
        Err(error) => return fail("tcp-echo", error, 2),
    };
    logging::init_logging();
    // Listen for Ctrl+C and SIGTERM from now on, before anyone knows our port.
    let shutdown = shutdown_signal();
    let try_it = |local: std::net::SocketAddr| format!("nc {} {}", local.ip(), local.port());
    let listener = match listen("tcp-echo", "tcp", config.server.addr(), try_it) {
        Ok(listener) => listener,
        Err(status) => return status,
    };
    tracing::info!(
        mode = %config.mode,
        max_connections = config.max_connections,
        idle_timeout = ?config.idle_timeout,
        "tcp-echo ready"
    );

    match tcp_echo::run(listener, &config, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail("tcp-echo", error, 1),
    }
}
