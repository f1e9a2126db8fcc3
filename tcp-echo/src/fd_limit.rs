//! The file-descriptor limit: every connection is an open file.
//!
//! What to notice: a socket is a file descriptor, and the kernel lets a
//! process hold only so many at once: its soft `RLIMIT_NOFILE`, which a shell
//! shows and sets with `ulimit -n` (often 1024 on Linux, 256 on macOS). Past
//! it, `accept` fails with EMFILE, "Too many open files", while clients keep
//! arriving. So a server checks at startup that its connection limit fits
//! under the descriptor limit, and says which knob to turn when it does not.

use std::io;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::resource::{Resource, getrlimit};
use tracing::warn;

/// Descriptors a server holds besides its connections: stdin, stdout and
/// stderr, the listening socket, the runtime's epoll and wake-up descriptors,
/// and a few to spare for files a lesson opens (http-server's static files).
pub const SPARE_FDS: u64 = 16;

/// The process's soft limit on open file descriptors (`ulimit -n`), if the
/// OS tells us.
pub fn open_files_limit() -> Option<u64> {
    getrlimit(Resource::RLIMIT_NOFILE)
        .ok()
        .map(|(soft, _hard)| soft)
}

/// Logs a warning when `max_connections` connections, plus [`SPARE_FDS`],
/// would not fit under the process's descriptor limit.
pub fn warn_if_too_low(max_connections: usize) {
    let Some(limit) = open_files_limit() else {
        return;
    };
    let needed = max_connections as u64 + SPARE_FDS;
    if needed > limit {
        warn!(
            max_connections,
            open_files_limit = limit,
            "MAX_CONNECTIONS={max_connections} does not fit under this process's limit of {limit} \
             open files (`ulimit -n`): past about {} connections, accept fails with \
             \"Too many open files\". Raise the limit first (`ulimit -n {needed}`) or lower \
             MAX_CONNECTIONS",
            limit.saturating_sub(SPARE_FDS)
        );
    }
}

/// Logs a failed `accept` that will be retried after `retry_in`; when the
/// process is out of descriptors, says so and names `ulimit -n`.
pub fn log_accept_error(error: &io::Error, retry_in: Duration) {
    // EMFILE: this process is at its limit; ENFILE: the whole system is.
    let out_of_fds = matches!(
        error.raw_os_error().map(Errno::from_raw),
        Some(Errno::EMFILE | Errno::ENFILE)
    );
    if out_of_fds {
        let limit = open_files_limit().map_or_else(|| "unknown".to_string(), |n| n.to_string());
        warn!(
            %error,
            retry_in = ?retry_in,
            "accept failed: out of file descriptors (this process may open {limit}, see \
             `ulimit -n`); the client waits until a connection closes"
        );
    } else {
        warn!(%error, retry_in = ?retry_in, "accept failed");
    }
}
