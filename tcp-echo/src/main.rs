//! `cargo run -p tcp-echo`: the echo server, ready for `nc` and `telnet`.
//!
//! Read config, bind, say where we listen, serve until Ctrl+C or SIGTERM.
//! Everything else lives in the library (`lib.rs`), where tests can drive it.

use std::process::ExitCode;

use tcp_echo::bind::bind_tcp;
use tcp_echo::shutdown::shutdown_signal;
use tcp_echo::{EchoConfig, logging, try_it_ip};

#[tokio::main]
async fn main() -> ExitCode {
    let config = match EchoConfig::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("tcp-echo: {error}");
            return ExitCode::from(2);
        }
    };
    logging::init_logging();
    // Listen for Ctrl+C and SIGTERM from now on, before anyone knows our port.
    let shutdown = shutdown_signal();

    let listener = match bind_tcp(config.server.addr()) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("tcp-echo: {error}");
            return ExitCode::from(1);
        }
    };
    let addr = match listener.local_addr() {
        Ok(addr) => addr,
        Err(error) => {
            eprintln!("tcp-echo: cannot read the bound address: {error}");
            return ExitCode::from(1);
        }
    };
    // The contract's first line: tests and scripts read the port from it.
    println!("listening on tcp://{addr}");
    println!("try: nc {} {}", try_it_ip(addr), addr.port());
    tracing::info!(
        mode = %config.mode,
        max_connections = config.max_connections,
        idle_timeout = ?config.idle_timeout,
        "tcp-echo ready"
    );

    match tcp_echo::run(listener, &config, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tcp-echo: {error}");
            ExitCode::from(1)
        }
    }
}
