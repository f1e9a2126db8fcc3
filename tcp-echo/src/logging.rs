//! Logs on stderr with `tracing`, the level set by `RUST_LOG`.
//!
//! What to notice: stdout is kept for the one `listening on` line (and the
//! "try it" hint) that scripts and tests read; everything else is a log line
//! on stderr. `RUST_LOG=debug cargo run -p tcp-echo` shows every step of a
//! connection's life, `RUST_LOG=trace` every read and write.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the stderr logger. Without `RUST_LOG` the level is `info`: one
/// line per connection (or request) opened and closed.
pub fn init_logging() {
    let filter = match EnvFilter::try_from_default_env() {
        Ok(filter) => filter,
        Err(error) => {
            if std::env::var_os("RUST_LOG").is_some() {
                eprintln!("warning: RUST_LOG is not valid ({error}); logging at info");
            }
            EnvFilter::new("info")
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours for a person at a terminal; plain text for files and tests.
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .init();
}
