//! Lesson 5: a WebSocket chat, for the browser and for websocat.
//!
//! Every lesson so far answered and forgot: a request came, a response went,
//! done. A chat cannot work that way: when Alice says something, the server
//! must tell Bob *now*, without Bob asking. A WebSocket starts as one HTTP
//! request (the upgrade, read by lesson 3's code), and then the same TCP
//! connection stays open and carries messages both ways, whenever either
//! side likes.
//!
//! Reading order: `main.rs`, then `run` below, `routes.rs` (the page and the
//! upgrade), `handshake.rs` (the upgrade, byte by byte), `client.rs` (one
//! connected client), `rooms.rs` (the room registry and the fan-out),
//! `outbox.rs` (a client's queue), `protocol.rs` (the chat's lines, as pure
//! functions), `end.rs` (how a connection ends), `limits.rs`, `rate_limit.rs`.
//!
//! Try it: `cargo run -p ws-chat`, open <http://127.0.0.1:8080> in two
//! browser windows, and `websocat ws://127.0.0.1:8080/ws` in a terminal.

pub mod client;
pub mod end;
pub mod handshake;
pub mod limits;
pub mod outbox;
pub mod protocol;
pub mod rate_limit;
pub mod rooms;
pub mod routes;

use std::sync::Arc;

use http_raw::HttpConfig;
use tcp_echo::config::{ConfigError, number_var, parse_var};
use tokio::net::TcpListener;

pub use limits::ClientSettings;
pub use rooms::RoomRegistry;
pub use routes::Chat;

/// The port chat servers and proxies traditionally use after 80.
pub const DEFAULT_PORT: u16 = 8080;

/// 10,000 clients: an idle one costs about 5.5 KiB of the server's memory
/// (measured), so about 55 MB in all, and a file descriptor each (raise
/// `ulimit -n` to hold that many).
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// Everything ws-chat can be told through its environment.
#[derive(Debug, Clone)]
pub struct ChatConfig {
    /// `HOST`, `PORT`, `SHUTDOWN_GRACE_SECS`, `MAX_CONNECTIONS`, and
    /// http-raw's timeouts for the upgrade request.
    pub http: HttpConfig,
    /// `ALLOWED_ORIGINS`: comma-separated origins (`http://localhost:5173`)
    /// whose pages may connect, besides this server's own.
    pub allowed_origins: Vec<String>,
    /// `RATE_LIMIT` (messages per second per client; 0 turns it off), and
    /// the pings, timeouts and queue length, which are not settings.
    pub clients: ClientSettings,
}

impl ChatConfig {
    /// Reads the configuration from the environment.
    pub fn from_env() -> Result<ChatConfig, ConfigError> {
        let http = HttpConfig::from_env_with(DEFAULT_PORT, DEFAULT_MAX_CONNECTIONS)?;
        let origins: String = parse_var(
            "ALLOWED_ORIGINS",
            String::new(),
            "a comma-separated list of origins",
        )?;
        let messages_per_second: u32 = number_var(
            "RATE_LIMIT",
            rate_limit::PER_SECOND,
            "messages per second (0: no limit)",
            0..=1_000_000,
        )?;
        Ok(ChatConfig {
            http,
            allowed_origins: origins
                .split(',')
                .map(str::trim)
                .filter(|origin| !origin.is_empty())
                .map(str::to_string)
                .collect(),
            clients: ClientSettings {
                messages_per_second,
                ..ClientSettings::default()
            },
        })
    }
}

// ANCHOR: run
/// Serves the chat on `listener` until `shutdown` completes: one empty room
/// registry for everyone, and http-raw's server for the page and the upgrade.
pub async fn run(listener: TcpListener, config: &ChatConfig, shutdown: impl Future) {
    let chat = Chat {
        registry: Arc::new(RoomRegistry::new()),
        allowed_origins: config.allowed_origins.clone(),
        clients: config.clients,
    };
    http_raw::serve_service(listener, &config.http, chat, shutdown).await;
}
// ANCHOR_END: run
