//! One log line per panic, unless you ask for the backtrace.
//!
//! What to notice: Rust's default panic hook writes two lines to stderr
//! ("thread ... panicked at ..." and a note about `RUST_BACKTRACE`), outside
//! the log format, and with `RUST_BACKTRACE=1` a whole backtrace: dozens of
//! lines for every hit of `/panic`. A server whose handler panics on some
//! input can then be made to write megabytes of stderr. This hook writes one
//! `tracing` line instead, at error level, inside the connection's span (the
//! hook runs on the panicking thread, before the unwind reaches `app.rs`).
//! Set `RUST_BACKTRACE=1` and the default hook is kept: backtraces are for
//! when you are debugging, and then you want all of them.

use std::any::Any;
use std::panic::PanicHookInfo;

use tracing::error;

/// Installs the one-line hook, unless `RUST_BACKTRACE` asks for backtraces.
pub fn log_panics_in_one_line() {
    let wants_backtraces =
        std::env::var_os("RUST_BACKTRACE").is_some_and(|value| !value.is_empty() && value != "0");
    if !wants_backtraces {
        std::panic::set_hook(Box::new(log_panic));
    }
}

fn log_panic(info: &PanicHookInfo<'_>) {
    let location = info
        .location()
        .map(|at| format!("{}:{}", at.file(), at.line()))
        .unwrap_or_default();
    error!(at = %location, "panicked: {}", panic_message(info.payload()));
}

/// The text a `panic!` was given (it is a `&str` or a `String` inside).
pub fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("")
}
