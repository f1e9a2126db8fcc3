//! `cargo run -p protocols --bin ftp`: an anonymous FTP server, ready for curl, lftp and ftplib.
//!
//! Read config, open the served folder, bind, say where we listen, serve
//! until Ctrl+C or SIGTERM. Everything else lives in the library (`ftp/mod.rs`).

use std::process::ExitCode;

use protocols::ftp::{self, FtpConfig};
use tcp_echo::logging;
use tcp_echo::shutdown::shutdown_signal;
use tcp_echo::startup::{fail, listen};

#[tokio::main]
async fn main() -> ExitCode {
    let config = match FtpConfig::from_env() {
        Ok(config) => config,
        Err(error) => return fail("ftp", error, 2),
    };
    let jail = match ftp::open_root(&config) {
        Ok(jail) => jail,
        Err(error) => return fail("ftp", error, 2),
    };
    logging::init_logging();
    // Listen for Ctrl+C and SIGTERM from now on, before anyone knows our port.
    let shutdown = shutdown_signal();
    let try_it = |local: std::net::SocketAddr| format!("curl ftp://{local}/");
    let listener = match listen("ftp", "ftp", config.server.addr(), try_it) {
        Ok(listener) => listener,
        Err(status) => return status,
    };
    tracing::info!(
        root = %jail.root().display(),
        writable = config.writable,
        "ftp ready: serving {}",
        jail.root().display()
    );
    ftp::run(listener, &config, jail, shutdown).await;
    ExitCode::SUCCESS
}
