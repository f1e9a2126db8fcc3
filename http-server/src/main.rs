//! `cargo run -p http-server`: a small site and a JSON API, one process.
//!
//! Try it: open <http://127.0.0.1:4000>, or
//! `curl -d '{"name":"Mint"}' http://127.0.0.1:4000/api/plants`, then
//! `curl -i http://127.0.0.1:4000/api/plants`.
//!
//! Everything else lives in the library: `demo.rs` builds the app that
//! `run` serves (start reading there), `lib.rs` lists the rest.

use std::process::ExitCode;

use http_server::HttpServerConfig;
use http_server::panic_log::log_panics_in_one_line;
use tcp_echo::startup::{fail, listen};
use tcp_echo::{logging, shutdown::shutdown_signal};

#[tokio::main]
async fn main() -> ExitCode {
    // Every setting, TLS_CERT and TLS_KEY included (HTTPS when both are set).
    let config = match HttpServerConfig::from_env() {
        Ok(config) => config,
        Err(error) => return fail("http-server", error, 2),
    };
    logging::init_logging();
    log_panics_in_one_line();
    let shutdown = shutdown_signal();
    let scheme = config.http.scheme();
    let listener = match listen("http-server", scheme, config.http.server.addr(), |local| {
        format!("open {scheme}://{local}/ in a browser")
    }) {
        Ok(listener) => listener,
        Err(status) => return status,
    };
    match http_server::run(listener, &config, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail("http-server", error, 1),
    }
}
