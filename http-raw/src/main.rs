//! `cargo run -p http-raw`: HTTP/1.1 by hand, ready for a browser, curl and telnet.
//!
//! Read config, bind, say where we listen, serve the demo routes until
//! Ctrl+C or SIGTERM.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use http_raw::routes::{DemoApp, respond};
use http_raw::{DEFAULT_PORT, HttpConfig};
use tcp_echo::bind::bind_tcp;
use tcp_echo::shutdown::shutdown_signal;
use tcp_echo::{logging, try_it_ip};

#[tokio::main]
async fn main() -> ExitCode {
    let config = match HttpConfig::from_env(DEFAULT_PORT) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("http-raw: {error}");
            return ExitCode::from(2);
        }
    };
    logging::init_logging();
    let shutdown = shutdown_signal();

    let listener = match bind_tcp(config.server.addr()) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("http-raw: {error}");
            return ExitCode::from(1);
        }
    };
    let addr = match listener.local_addr() {
        Ok(addr) => addr,
        Err(error) => {
            eprintln!("http-raw: cannot read the bound address: {error}");
            return ExitCode::from(1);
        }
    };
    println!("listening on http://{addr}");
    let local = SocketAddr::new(try_it_ip(addr), addr.port());
    println!("try: curl -v http://{local}/hello");

    // The app's state, shared by every request for as long as we run.
    let app = DemoApp::new();
    http_raw::serve(
        listener,
        &config,
        move |request| respond(Arc::clone(&app), request),
        shutdown,
    )
    .await;
    ExitCode::SUCCESS
}
