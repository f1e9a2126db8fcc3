//! FTP, two connections (RFC 959): commands on one, every file on another.
//!
//! What to notice: the *control connection* is a conversation of lines
//! like SMTP's (the same line reader and reply writer). What is new is the
//! *data connection*: every listing and every file travels on a TCP
//! connection of its own, opened for it (passive mode: the server opens a
//! port and says which, the client connects) and closed after it. That
//! second connection is the reason FTP needs special rules in every
//! firewall and NAT router, and a large part of why the web moved to HTTP,
//! where the answer comes back on the connection that asked.
//!
//! This server serves one folder (`FTP_ROOT`) to anonymous users, read-only
//! unless `FTP_WRITABLE=1`, and never lets a path out of that folder.
//!
//! Reading order: `src/bin/ftp.rs`, this file (settings and `run`),
//! `connection.rs` (the control loop), `session.rs` (each command),
//! `data_connection.rs` (the second connection), `paths.rs` (the jail),
//! `listing.rs` (`LIST`'s format), `command.rs`, `limits.rs`.
//!
//! Try it: `cargo run -p protocols --bin ftp`, then
//! `curl ftp://127.0.0.1:2121/` (a listing) and
//! `curl ftp://127.0.0.1:2121/README.txt` (a file).

pub mod command;
pub mod connection;
pub mod data_connection;
pub mod limits;
pub mod listing;
pub mod paths;
pub mod session;

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use tcp_echo::accept_loop::{self, AcceptLimits, DEFAULT_MAX_CONNECTIONS};
use tcp_echo::config::{ConfigError, ServerConfig, max_connections_var, parse_var, seconds_var};
use tokio::net::TcpListener;

use crate::ftp::connection::serve_connection;
use crate::ftp::data_connection::DataLimits;
use crate::ftp::limits::DEFAULT_IDLE_TIMEOUT;
use crate::ftp::paths::Jail;
use crate::ftp::session::FtpSettings;

/// FTP's own port is 21, which needs root; 2121 is the usual stand-in.
pub const DEFAULT_PORT: u16 = 2121;

/// What is served unless `FTP_ROOT` says otherwise: the crate's sample
/// folder, `protocols/ftp-root/`.
pub const DEFAULT_ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/ftp-root");

// ANCHOR: config
/// Everything the FTP server can be told through its environment.
#[derive(Debug, Clone)]
pub struct FtpConfig {
    /// `HOST`, `PORT`, `SHUTDOWN_GRACE_SECS`, as in every lesson. Passive
    /// ports open on the same address as the control connection.
    pub server: ServerConfig,
    /// `MAX_CONNECTIONS` (default 1024) control connections; each may also
    /// hold one passive port and one data connection.
    pub max_connections: usize,
    /// `FTP_ROOT`: the folder served (default: the crate's `ftp-root/`).
    pub root: PathBuf,
    /// `FTP_WRITABLE=1`: uploads (`STOR`) allowed; default `0`, read-only.
    pub writable: bool,
    /// `IDLE_TIMEOUT_SECS` (default 300): no command for this long, `421`.
    pub idle_timeout: Duration,
    /// The data connections' deadlines and upload limit (`limits.rs`). Not
    /// environment variables; tests shorten them.
    pub data: DataLimits,
}

impl FtpConfig {
    /// Reads the configuration from the environment.
    pub fn from_env() -> Result<FtpConfig, ConfigError> {
        let Directory(root) = parse_var(
            "FTP_ROOT",
            Directory(PathBuf::from(DEFAULT_ROOT)),
            "an existing folder",
        )?;
        let Switch(writable) = parse_var("FTP_WRITABLE", Switch(false), "0 or 1")?;
        Ok(FtpConfig {
            server: ServerConfig::from_env(DEFAULT_PORT)?,
            max_connections: max_connections_var(DEFAULT_MAX_CONNECTIONS)?,
            root,
            writable,
            idle_timeout: seconds_var("IDLE_TIMEOUT_SECS", DEFAULT_IDLE_TIMEOUT, 1..=86_400)?,
            data: DataLimits::default(),
        })
    }

    /// The defaults, listening on `server`'s address and serving `root`
    /// read-only (for tests and examples).
    pub fn with_defaults(server: ServerConfig, root: PathBuf) -> FtpConfig {
        FtpConfig {
            server,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            root,
            writable: false,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            data: DataLimits::default(),
        }
    }
}
// ANCHOR_END: config

/// A path that names an existing folder (what `FTP_ROOT` must be).
struct Directory(PathBuf);

impl FromStr for Directory {
    type Err = ();

    fn from_str(text: &str) -> Result<Directory, ()> {
        let path = PathBuf::from(text);
        if path.is_dir() {
            Ok(Directory(path))
        } else {
            Err(())
        }
    }
}

/// `0` or `1` (what `FTP_WRITABLE` must be).
struct Switch(bool);

impl FromStr for Switch {
    type Err = ();

    fn from_str(text: &str) -> Result<Switch, ()> {
        match text {
            "0" => Ok(Switch(false)),
            "1" => Ok(Switch(true)),
            _ => Err(()),
        }
    }
}

/// `FTP_ROOT` exists but cannot be served (it vanished, or cannot be read).
#[derive(Debug)]
pub struct RootError {
    root: PathBuf,
    source: std::io::Error,
}

impl fmt::Display for RootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "FTP_ROOT={:?} cannot be served: {}",
            self.root, self.source
        )
    }
}

impl std::error::Error for RootError {}

/// The jail for `FTP_ROOT`; `main` exits with status 2 if it cannot be made.
pub fn open_root(config: &FtpConfig) -> Result<Jail, RootError> {
    Jail::new(&config.root).map_err(|source| RootError {
        root: config.root.clone(),
        source,
    })
}

// ANCHOR: run
/// Serves FTP on `listener`, from `jail`, until `shutdown` completes; then
/// closes idle sessions with `421`, lets transfers in progress finish within
/// the grace period, and returns.
pub async fn run(listener: TcpListener, config: &FtpConfig, jail: Jail, shutdown: impl Future) {
    let settings = Arc::new(FtpSettings {
        jail,
        writable: config.writable,
        data: config.data,
    });
    let idle_timeout = config.idle_timeout;
    // Past the limit, RFC 959's "service not available" instead of a greeting.
    let limits = AcceptLimits::new(config.max_connections, config.server.shutdown_grace)
        .with_refusal(|| b"421 too many connections; try again later\r\n".to_vec());
    accept_loop::serve(listener, limits, shutdown, move |connection| {
        serve_connection(connection, Arc::clone(&settings), idle_timeout)
    })
    .await;
}
// ANCHOR_END: run
