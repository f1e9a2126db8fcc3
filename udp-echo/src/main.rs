//! `cargo run -p udp-echo`: the UDP echo server, ready for `nc -u`.
//!
//! Read config, bind, say where we listen, echo until Ctrl+C or SIGTERM.

use std::process::ExitCode;

use tcp_echo::logging;
use tcp_echo::shutdown::shutdown_signal;
use tcp_echo::startup::{announce, fail};
use udp_echo::{UdpEchoConfig, bind_udp};

#[tokio::main]
async fn main() -> ExitCode {
    let config = match UdpEchoConfig::from_env() {
        Ok(config) => config,
        Err(error) => return fail("udp-echo", error, 2),
    };
    logging::init_logging();
    let shutdown = shutdown_signal();

    let socket = match bind_udp(config.server.addr()).await {
        Ok(socket) => socket,
        Err(error) => return fail("udp-echo", error, 1),
    };
    let bound = match socket.local_addr() {
        Ok(bound) => bound,
        Err(error) => {
            return fail(
                "udp-echo",
                format!("cannot read the bound address: {error}"),
                1,
            );
        }
    };
    announce("udp", bound, |local| {
        format!("nc -u {} {}", local.ip(), local.port())
    });
    tracing::info!(buffer = config.buffer_size, "udp-echo ready");

    udp_echo::run(socket, &config, shutdown).await;
    ExitCode::SUCCESS
}
