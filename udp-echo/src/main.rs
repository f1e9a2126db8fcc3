//! `cargo run -p udp-echo`: the UDP echo server, ready for `nc -u`.
//!
//! Read config, bind, say where we listen, echo until Ctrl+C or SIGTERM.
//! Everything else lives in the library: `lib.rs` (the settings and the
//! reading order), then `server.rs`, the receive loop.

use std::process::ExitCode;

use tcp_echo::logging;
use tcp_echo::shutdown::shutdown_signal;
use tcp_echo::startup::fail;
use udp_echo::{UdpEchoConfig, listen_udp};

#[tokio::main]
async fn main() -> ExitCode {
    let config = match UdpEchoConfig::from_env() {
        Ok(config) => config,
        Err(error) => return fail("udp-echo", error, 2),
    };
    logging::init_logging();
    // Listen for Ctrl+C and SIGTERM from now on, before anyone knows our port.
    let shutdown = shutdown_signal();
    let try_it = |local: std::net::SocketAddr| format!("nc -u {} {}", local.ip(), local.port());
    let socket = match listen_udp("udp-echo", config.server.addr(), try_it).await {
        Ok(socket) => socket,
        Err(status) => return status,
    };
    tracing::info!(buffer = config.buffer_size, "udp-echo ready");

    match udp_echo::run(socket, &config, shutdown).await {
        Ok(_summary) => ExitCode::SUCCESS,
        Err(error) => fail("udp-echo", error, 1),
    }
}
