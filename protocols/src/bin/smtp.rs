//! `cargo run -p protocols --bin smtp`: a mail catcher, ready for `nc -C`, curl and swaks.
//!
//! Read config, open the mail folder, bind, say where we listen, serve until
//! Ctrl+C or SIGTERM. Everything else lives in the library (`smtp/mod.rs`).

use std::process::ExitCode;

use protocols::smtp::{self, SmtpConfig};
use tcp_echo::logging;
use tcp_echo::shutdown::shutdown_signal;
use tcp_echo::startup::{fail, listen};

#[tokio::main]
async fn main() -> ExitCode {
    let config = match SmtpConfig::from_env() {
        Ok(config) => config,
        Err(error) => return fail("smtp", error, 2),
    };
    let mailbox = match smtp::open_mailbox(&config) {
        Ok(mailbox) => mailbox,
        Err(error) => return fail("smtp", error, 2),
    };
    logging::init_logging();
    // Listen for Ctrl+C and SIGTERM from now on, before anyone knows our port.
    let shutdown = shutdown_signal();
    let try_it = |local: std::net::SocketAddr| format!("nc -C {} {}", local.ip(), local.port());
    let listener = match listen("smtp", "smtp", config.server.addr(), try_it) {
        Ok(listener) => listener,
        Err(status) => return status,
    };
    tracing::info!(
        mail_dir = %config.mail_dir.display(),
        max_message_bytes = config.max_message_bytes,
        "smtp ready: each message is stored as a file in {}",
        config.mail_dir.display()
    );
    smtp::run(listener, &config, mailbox, shutdown).await;
    ExitCode::SUCCESS
}
