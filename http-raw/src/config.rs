//! http-raw's settings, from the environment (with lesson 1's helpers).
//!
//! What to notice: [`HttpConfig::from_env`] reads every setting, `TLS_CERT`
//! and `TLS_KEY` included, so the configuration `main` gets is the whole
//! configuration. A setting that cannot be used is a [`SettingError`]: one
//! sentence naming it, and `main` exits with status 2.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tcp_echo::accept_loop::DEFAULT_MAX_CONNECTIONS;
use tcp_echo::config::{ConfigError, ServerConfig, max_connections_var, seconds_var};

use crate::handshake::HANDSHAKE_TIMEOUT;
use crate::tls::{self, TlsSettingError};

/// Port 3000: the one every web tutorial uses.
pub const DEFAULT_PORT: u16 = 3000;

/// The head must be complete this long after the connection opened (first
/// request) or after its first byte arrived (later requests). Slowloris
/// attacks send a head a byte at a time to hold connections open forever.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an idle keep-alive connection waits for its next request.
/// Browsers reuse connections within a few seconds, or not at all.
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(5);

/// A request body must arrive whole this long after its head; one write of a
/// response may wait this long for the client to take it. A total for the
/// body, not a time per read: a body sent a byte a second would otherwise
/// hold its connection for as long as the client likes.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything http-raw can be told through its environment.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// `HOST`, `PORT`, `SHUTDOWN_GRACE_SECS`, as in every lesson.
    pub server: ServerConfig,
    /// `MAX_CONNECTIONS` (default 1024), as in lesson 1.
    pub max_connections: usize,
    /// `HEADER_TIMEOUT_SECS` (default 10): a head not complete by then gets 408.
    pub header_timeout: Duration,
    /// `KEEP_ALIVE_SECS` (default 5): idle keep-alive connections close after this.
    pub keep_alive: Duration,
    /// `BODY_TIMEOUT_SECS` (default 10): a request body not complete this
    /// long after its head gets 408; also the longest wait for the client to
    /// take the next piece of a response.
    pub body_timeout: Duration,
    /// `TLS_CERT` and `TLS_KEY`: when both are set, HTTPS instead of HTTP
    /// (read by [`crate::tls::from_env`], whose errors are its own).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// A TLS handshake must be done this long after accept (or by the
    /// header timeout, if sooner). Always `HANDSHAKE_TIMEOUT` (3 s), which no
    /// variable changes; a field so that tests can shorten or lengthen it.
    pub handshake_timeout: Duration,
}

/// A setting that cannot be used. `Display` is the one line `main` prints
/// before it exits with status 2.
#[derive(Debug)]
pub enum SettingError {
    /// A value that does not parse (`PORT=abc`), as in every lesson.
    Config(ConfigError),
    /// `TLS_CERT` / `TLS_KEY` that cannot be used (`tls.rs`).
    Tls(TlsSettingError),
}

impl From<ConfigError> for SettingError {
    fn from(error: ConfigError) -> SettingError {
        SettingError::Config(error)
    }
}

impl From<TlsSettingError> for SettingError {
    fn from(error: TlsSettingError) -> SettingError {
        SettingError::Tls(error)
    }
}

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingError::Config(error) => error.fmt(f),
            SettingError::Tls(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for SettingError {}

impl HttpConfig {
    /// Reads the configuration from the environment, with `default_port`:
    /// every setting, TLS included.
    pub fn from_env(default_port: u16) -> Result<HttpConfig, SettingError> {
        HttpConfig::from_env_with(default_port, DEFAULT_MAX_CONNECTIONS)
    }

    /// Like `from_env`, for a server whose connections are long-lived and
    /// need a different default `MAX_CONNECTIONS` (the chat's).
    pub fn from_env_with(
        default_port: u16,
        default_max_connections: usize,
    ) -> Result<HttpConfig, SettingError> {
        Ok(HttpConfig {
            server: ServerConfig::from_env(default_port)?,
            max_connections: max_connections_var(default_max_connections)?,
            header_timeout: seconds_var("HEADER_TIMEOUT_SECS", DEFAULT_HEADER_TIMEOUT, 1..=3600)?,
            keep_alive: seconds_var("KEEP_ALIVE_SECS", DEFAULT_KEEP_ALIVE, 1..=3600)?,
            body_timeout: seconds_var("BODY_TIMEOUT_SECS", DEFAULT_BODY_TIMEOUT, 1..=3600)?,
            // HTTPS when TLS_CERT and TLS_KEY are set.
            tls: tls::from_env()?,
            handshake_timeout: HANDSHAKE_TIMEOUT,
        })
    }

    /// `"https"` when TLS is on, else `"http"`: the scheme of the
    /// `listening on` line and of the URLs to try.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    /// The defaults, listening on `server`'s address (for tests and examples).
    pub fn with_defaults(server: ServerConfig) -> HttpConfig {
        HttpConfig {
            server,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            keep_alive: DEFAULT_KEEP_ALIVE,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            tls: None,
            handshake_timeout: HANDSHAKE_TIMEOUT,
        }
    }
}
