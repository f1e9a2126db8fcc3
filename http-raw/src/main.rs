//! `cargo run -p http-raw`: HTTP/1.1 by hand, ready for a browser, curl and telnet.
//!
//! Read config, start logging, listen for signals, bind and say where we
//! listen, then `run` the demo routes until Ctrl+C or SIGTERM. Everything
//! else lives in the library (`lib.rs`), where tests start the same `run`.
//! With `TLS_CERT` and `TLS_KEY` set, the same routes over HTTPS
//! (`cargo run -p http-raw --bin dev-cert` makes a certificate).

use std::process::ExitCode;

use http_raw::{DEFAULT_PORT, HttpConfig};
use tcp_echo::logging;
use tcp_echo::shutdown::shutdown_signal;
use tcp_echo::startup::{fail, listen};

#[tokio::main]
async fn main() -> ExitCode {
    // Every setting, TLS_CERT and TLS_KEY included (HTTPS when both are set).
    let config = match HttpConfig::from_env(DEFAULT_PORT) {
        Ok(config) => config,
        Err(error) => return fail("http-raw", error, 2),
    };
    logging::init_logging();
    let shutdown = shutdown_signal();
    let scheme = config.scheme();
    let listener = match listen("http-raw", scheme, config.server.addr(), |local| {
        format!("curl -v {scheme}://{local}/hello")
    }) {
        Ok(listener) => listener,
        Err(status) => return status,
    };
    http_raw::run(listener, &config, shutdown).await;
    ExitCode::SUCCESS
}
