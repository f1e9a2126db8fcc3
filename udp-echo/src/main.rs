//! `cargo run -p udp-echo`: the UDP echo server, ready for `nc -u`.
//!
//! Read config, bind, say where we listen, echo until Ctrl+C or SIGTERM.

use std::process::ExitCode;

use tcp_echo::shutdown::shutdown_signal;
use tcp_echo::{logging, try_it_ip};
use udp_echo::{UdpEchoConfig, bind_udp};

#[tokio::main]
async fn main() -> ExitCode {
    let config = match UdpEchoConfig::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("udp-echo: {error}");
            return ExitCode::from(2);
        }
    };
    logging::init_logging();
    // Listen for Ctrl+C and SIGTERM from now on, before anyone knows our port.
    let shutdown = shutdown_signal();

    let socket = match bind_udp(config.server.addr()).await {
        Ok(socket) => socket,
        Err(error) => {
            eprintln!("udp-echo: {error}");
            return ExitCode::from(1);
        }
    };
    let addr = match socket.local_addr() {
        Ok(addr) => addr,
        Err(error) => {
            eprintln!("udp-echo: cannot read the bound address: {error}");
            return ExitCode::from(1);
        }
    };
    println!("listening on udp://{addr}");
    println!("try: nc -u {} {}", try_it_ip(addr), addr.port());
    tracing::info!(buffer = config.buffer_size, "udp-echo ready");

    udp_echo::run(socket, &config, shutdown).await;
    ExitCode::SUCCESS
}
