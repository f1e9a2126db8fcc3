//! `cargo run -p ws-chat`: the chat, for browsers at / and websocat at /ws.
//!
//! Read config, start logging, listen for Ctrl+C and SIGTERM, bind, say where
//! we listen, and serve. Everything else lives in the library (`lib.rs`),
//! where tests run the very same `ws_chat::run`.

use std::process::ExitCode;

use tcp_echo::startup::{fail, listen};
use tcp_echo::{logging, shutdown::shutdown_signal};
use ws_chat::ChatConfig;

#[tokio::main]
async fn main() -> ExitCode {
    // Every setting, TLS_CERT and TLS_KEY included (HTTPS and WSS when both are set).
    let config = match ChatConfig::from_env() {
        Ok(config) => config,
        Err(error) => return fail("ws-chat", error, 2),
    };
    logging::init_logging();
    let shutdown = shutdown_signal();
    let (scheme, ws) = match config.http.scheme() {
        "https" => ("https", "wss"),
        _ => ("http", "ws"),
    };
    let listener = match listen("ws-chat", scheme, config.http.server.addr(), |local| {
        format!("open {scheme}://{local}/ in a browser, or websocat {ws}://{local}/ws")
    }) {
        Ok(listener) => listener,
        Err(status) => return status,
    };
    match ws_chat::run(listener, &config, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail("ws-chat", error, 1),
    }
}
