//! SMTP, receiving mail (RFC 5321): a conversation of lines, and a message file.
//!
//! What to notice: an SMTP server is lesson 1's accept loop with a
//! conversation inside. The client says hello, names a sender and its
//! recipients (the *envelope*), sends the message, and the server answers
//! each step with a numbered reply. This one is a mail *catcher*, as
//! developers run to see what their application sends: it accepts mail for
//! any address and stores each message as a file in `MAIL_DIR`. It never
//! sends mail on (that would make it an open relay, which spammers find
//! within hours).
//!
//! Reading order: `src/bin/smtp.rs`, this file (settings and `run`),
//! `connection.rs` (the conversation loop), `session.rs` (which command
//! when), `command.rs` (parsing a command), `data.rs` (the message and its
//! lone dot), `mailbox.rs` (one file per message), `limits.rs`; and the
//! shared `line_reader.rs` and `reply.rs`.
//!
//! Try it: `cargo run -p protocols --bin smtp`, then `nc -C 127.0.0.1 2525`
//! and type `EHLO me`, `MAIL FROM:<me@example.com>`, `RCPT TO:<you@plants.test>`,
//! `DATA`, a line of text, a line with a lone `.`, and `QUIT`.

pub mod command;
pub mod connection;
pub mod data;
pub mod limits;
pub mod mailbox;
pub mod session;

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tcp_echo::accept_loop::{self, AcceptLimits, DEFAULT_MAX_CONNECTIONS};
use tcp_echo::config::{
    ConfigError, ServerConfig, max_connections_var, number_var, parse_var, seconds_var,
};
use tokio::net::TcpListener;

use crate::smtp::connection::{SmtpSettings, serve_connection};
use crate::smtp::limits::{DATA_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_MESSAGE_BYTES};
use crate::smtp::mailbox::Mailbox;
use crate::smtp::session::SERVER_NAME;

/// SMTP's own port is 25 (and 587 for clients sending mail); both need
/// root, and many networks block 25. 2525 is the usual stand-in.
pub const DEFAULT_PORT: u16 = 2525;

// ANCHOR: config
/// Everything the SMTP server can be told through its environment.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// `HOST`, `PORT`, `SHUTDOWN_GRACE_SECS`, as in every lesson.
    pub server: ServerConfig,
    /// `MAX_CONNECTIONS` (default 1024): past it, a client hears `421` and
    /// is closed.
    pub max_connections: usize,
    /// `MAIL_DIR`: where messages are stored, one file each. Default: a
    /// folder in the system's temporary directory, named at startup
    /// ([`default_mail_dir`]).
    pub mail_dir: PathBuf,
    /// `MAX_MESSAGE_BYTES` (default 10 MiB): larger messages get `552`.
    pub max_message_bytes: usize,
    /// `IDLE_TIMEOUT_SECS` (default 300): no command for this long, `421`.
    pub idle_timeout: Duration,
    /// How long a whole message may take ([`DATA_TIMEOUT`]). Not an
    /// environment variable; tests shorten it.
    pub data_timeout: Duration,
}

impl SmtpConfig {
    /// Reads the configuration from the environment.
    pub fn from_env() -> Result<SmtpConfig, ConfigError> {
        Ok(SmtpConfig {
            server: ServerConfig::from_env(DEFAULT_PORT)?,
            max_connections: max_connections_var(DEFAULT_MAX_CONNECTIONS)?,
            mail_dir: parse_var("MAIL_DIR", default_mail_dir(), "a folder path")?,
            max_message_bytes: number_var(
                "MAX_MESSAGE_BYTES",
                DEFAULT_MAX_MESSAGE_BYTES,
                "a size in bytes",
                1..=1 << 30,
            )?,
            idle_timeout: seconds_var("IDLE_TIMEOUT_SECS", DEFAULT_IDLE_TIMEOUT, 1..=86_400)?,
            data_timeout: DATA_TIMEOUT,
        })
    }

    /// The defaults, listening on `server`'s address and storing in
    /// `mail_dir` (for tests and examples).
    pub fn with_defaults(server: ServerConfig, mail_dir: PathBuf) -> SmtpConfig {
        SmtpConfig {
            server,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            mail_dir,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            data_timeout: DATA_TIMEOUT,
        }
    }
}
// ANCHOR_END: config

/// `MAIL_DIR`'s default: `netlessons-mail-PID` in the temporary directory
/// (`/tmp` on Linux), so that each run starts with an empty mailbox.
pub fn default_mail_dir() -> PathBuf {
    std::env::temp_dir().join(format!("netlessons-mail-{}", std::process::id()))
}

/// `MAIL_DIR` names a folder we cannot create or write to.
#[derive(Debug)]
pub struct MailDirError {
    dir: PathBuf,
    source: std::io::Error,
}

impl fmt::Display for MailDirError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MAIL_DIR={:?} cannot be used: {}; expected a folder this program may create and write to",
            self.dir, self.source
        )
    }
}

impl std::error::Error for MailDirError {}

/// Opens the mailbox `MAIL_DIR` names; `main` exits with status 2 if that
/// fails, since it is a setting.
pub fn open_mailbox(config: &SmtpConfig) -> Result<Mailbox, MailDirError> {
    Mailbox::open(&config.mail_dir).map_err(|source| MailDirError {
        dir: config.mail_dir.clone(),
        source,
    })
}

// ANCHOR: run
/// Serves SMTP on `listener`, storing into `mailbox`, until `shutdown`
/// completes; then closes idle sessions with `421`, lets messages being
/// received finish within the grace period, and returns.
pub async fn run(
    listener: TcpListener,
    config: &SmtpConfig,
    mailbox: Mailbox,
    shutdown: impl Future,
) {
    let settings = SmtpSettings {
        mailbox: Arc::new(mailbox),
        max_message_bytes: config.max_message_bytes,
        idle_timeout: config.idle_timeout,
        data_timeout: config.data_timeout,
    };
    // Past the limit a client is told so, the SMTP way (RFC 5321 section
    // 3.1: `421` in place of the greeting), and tries again later.
    let limits = AcceptLimits::new(config.max_connections, config.server.shutdown_grace)
        .with_refusal(|| {
            format!("421 4.7.0 {SERVER_NAME} too many connections; try again later\r\n")
                .into_bytes()
        });
    accept_loop::serve(listener, limits, shutdown, move |connection| {
        serve_connection(connection, settings.clone())
    })
    .await;
}
// ANCHOR_END: run
