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
//! connected client), `chat_rooms.rs` (the rooms a client talks to),
//! `rooms.rs` (the room registry and the fan-out), `outbox.rs` (a client's
//! queue), `protocol.rs` (the chat's lines, as pure functions), `end.rs` (how
//! a connection ends), `limits.rs`, `rate_limit.rs`. After the lesson:
//! `shared/`, several copies sharing one chat through Redis (`REDIS_URL`).
//!
//! Try it: `cargo run -p ws-chat`, open <http://127.0.0.1:8080> in two
//! browser windows, and `websocat ws://127.0.0.1:8080/ws` in a terminal.

pub mod chat_rooms;
pub mod client;
pub mod end;
pub mod handshake;
pub mod limits;
pub mod outbox;
pub mod protocol;
pub mod rate_limit;
pub mod rooms;
pub mod routes;
pub mod shared;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http_raw::HttpConfig;
use http_raw::config::SettingError;
use tcp_echo::config::{instance_name_var, number_var, parse_var};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::info;

use shared::link::RedisUrl;

pub use chat_rooms::Rooms;
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
    /// `REDIS_URL` (`redis://HOST:PORT[/DB]`): share the rooms with every
    /// copy that names the same Redis. Unset: rooms live in this process.
    pub redis_url: Option<String>,
    /// `INSTANCE_NAME`: which copy this is, named in the welcome line when
    /// rooms are shared. Unset: the address it listens on, `HOST:PORT`.
    pub instance_name: Option<String>,
    /// How long a stopped copy's clients stay in `/who`
    /// (`shared::rooms::PRESENCE_TTL`). Not an environment setting; tests
    /// shorten it.
    pub presence_ttl: Duration,
}

impl ChatConfig {
    /// Reads the configuration from the environment.
    pub fn from_env() -> Result<ChatConfig, SettingError> {
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
        let RedisUrl(redis_url) = parse_var(
            "REDIS_URL",
            RedisUrl(None),
            "a Redis URL such as redis://127.0.0.1:6379",
        )?;
        let instance_name = instance_name_var()?;
        Ok(ChatConfig {
            http,
            redis_url,
            instance_name,
            presence_ttl: shared::rooms::PRESENCE_TTL,
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

/// Why the chat could not start. `Display` is the one line `main` prints.
/// Lesson 4's `StartError` (`http-server/src/demo.rs`) has the same two
/// cases, worded the same, plus one for its `PUBLIC_DIR`: repeated here so
/// that this lesson stands alone.
#[derive(Debug)]
pub enum StartError {
    /// `REDIS_URL` is set, and that Redis cannot be used.
    Redis(String, String),
    /// The bound address cannot be read (for the default `INSTANCE_NAME`).
    LocalAddr(std::io::Error),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Redis(url, problem) => write!(f, "REDIS_URL={url:?}: {problem}"),
            StartError::LocalAddr(error) => write!(f, "cannot read the bound address: {error}"),
        }
    }
}

impl std::error::Error for StartError {}

// ANCHOR: run
/// Serves the chat on `listener` until `shutdown` completes: the rooms in
/// this process, or in the Redis `config.redis_url` names (with this copy's
/// bus and heartbeat running beside the server: `shared/`), and http-raw's
/// server for the page and the upgrade.
pub async fn run(
    listener: TcpListener,
    config: &ChatConfig,
    shutdown: impl Future,
) -> Result<(), StartError> {
    let stopping = CancellationToken::new();
    let mut background = Vec::new();
    let registry = match &config.redis_url {
        None => Rooms::Local(RoomRegistry::new()),
        Some(url) => {
            let instance = match &config.instance_name {
                Some(name) => name.clone(),
                None => listener
                    .local_addr()
                    .map_err(StartError::LocalAddr)?
                    .to_string(),
            };
            let (shared, tasks) = shared::start(url, instance, config.presence_ttl, &stopping)
                .await
                .map_err(|problem| StartError::Redis(url.clone(), problem))?;
            info!(%url, "rooms shared through Redis");
            background = tasks;
            Rooms::Shared(shared)
        }
    };
    let chat = Chat {
        registry: Arc::new(registry),
        allowed_origins: config.allowed_origins.clone(),
        clients: config.clients,
    };
    http_raw::serve_service(listener, &config.http, chat, shutdown).await;
    stopping.cancel();
    for task in background {
        let _ = task.await;
    }
    Ok(())
}
// ANCHOR_END: run
