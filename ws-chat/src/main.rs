//! `cargo run -p ws-chat`: the chat, for browsers at / and websocat at /ws.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use tcp_echo::{bind::bind_tcp, logging, shutdown::shutdown_signal, try_it_ip};
use ws_chat::{Chat, ChatConfig, RoomRegistry, respond};

#[tokio::main]
async fn main() -> ExitCode {
    let config = match ChatConfig::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("ws-chat: {error}");
            return ExitCode::from(2);
        }
    };
    logging::init_logging();
    let shutdown = shutdown_signal();

    let listener = match bind_tcp(config.http.server.addr()) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("ws-chat: {error}");
            return ExitCode::from(1);
        }
    };
    let Ok(addr) = listener.local_addr() else {
        eprintln!("ws-chat: cannot read the bound address");
        return ExitCode::from(1);
    };
    let local = SocketAddr::new(try_it_ip(addr), addr.port());
    println!("listening on http://{addr}");
    println!("try: open http://{local}/ in a browser, or websocat ws://{local}/ws");

    let chat = Arc::new(Chat {
        registry: Arc::new(RoomRegistry::new()),
        allowed_origins: config.allowed_origins.clone(),
        clients: config.clients,
    });
    http_raw::serve(
        listener,
        &config.http,
        move |request| respond(Arc::clone(&chat), request),
        shutdown,
    )
    .await;
    ExitCode::SUCCESS
}
