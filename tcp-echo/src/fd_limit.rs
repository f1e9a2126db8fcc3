//! The file-descriptor limit: every connection is an open file.
//!
//! What to notice: a socket is a file descriptor, and the kernel lets a
//! process hold only so many at once: its soft `RLIMIT_NOFILE`, which a shell
//! shows and sets with `ulimit -n` (1024 on most Linux desktops, 256 on
//! macOS). Past it, `accept` fails with EMFILE, "Too many open files", while
//! clients keep arriving. So a server checks at startup that its connection
//! limit fits under the descriptor limit, and says which knob to turn when it
//! does not. Windows has no such knob: a socket is a handle, and a process
//! may hold millions of them, so there is nothing to check there.

use std::io;
use std::time::Duration;

use tracing::warn;

/// Descriptors a server holds besides its connections: stdin, stdout and
/// stderr, the listening socket, the runtime's epoll and wake-up descriptors,
/// and a few to spare for files a lesson opens (http-server's static files).
pub const SPARE_FDS: u64 = 16;

/// The process's soft limit on open file descriptors (`ulimit -n`), if the
/// OS has one and tells us.
#[cfg(unix)]
pub fn open_files_limit() -> Option<u64> {
    use nix::sys::resource::{Resource, getrlimit};
    getrlimit(Resource::RLIMIT_NOFILE)
        .ok()
        .map(|(soft, _hard)| soft)
}

/// Windows has no `ulimit -n`: sockets are handles, limited only by memory.
#[cfg(not(unix))]
pub fn open_files_limit() -> Option<u64> {
    None
}

/// Where a limit of `limit` most likely comes from: the default a learner
/// gets without ever typing `ulimit`, on the OS this was built for.
fn default_of_this_os(limit: u64) -> Option<&'static str> {
    match limit {
        256 if cfg!(target_os = "macos") => Some("macOS's default"),
        1024 if cfg!(target_os = "linux") => Some("the usual Linux default"),
        _ => None,
    }
}

/// Logs a warning when `max_connections` connections, plus [`SPARE_FDS`],
/// would not fit under the process's descriptor limit.
///
/// A stock Mac (256) or Linux desktop (1024) warns with the lessons'
/// default `MAX_CONNECTIONS`; the warning says so, and that nothing goes
/// wrong before that many clients are connected at once. The default stays
/// the same on every OS, so every learner's logs match the book's.
pub fn warn_if_too_low(max_connections: usize) {
    let Some(limit) = open_files_limit() else {
        return;
    };
    let needed = max_connections as u64 + SPARE_FDS;
    if needed > limit {
        let whose = default_of_this_os(limit).map_or_else(String::new, |os| format!(", {os}"));
        warn!(
            max_connections,
            open_files_limit = limit,
            "MAX_CONNECTIONS={max_connections} does not fit under this process's limit of {limit} \
             open files (`ulimit -n`{whose}): past about {} connections at once, accept fails \
             with \"Too many open files\". To serve that many, raise the limit in this terminal \
             first (`ulimit -n {needed}`) or lower MAX_CONNECTIONS",
            limit.saturating_sub(SPARE_FDS)
        );
    }
}

/// Whether `error` says the process (or the whole system) is out of file
/// descriptors: EMFILE or ENFILE on Unix.
#[cfg(unix)]
fn out_of_descriptors(error: &io::Error) -> bool {
    use nix::errno::Errno;
    matches!(
        error.raw_os_error().map(Errno::from_raw),
        Some(Errno::EMFILE | Errno::ENFILE)
    )
}

/// Windows' version of EMFILE for sockets: `WSAEMFILE`, "too many open
/// sockets" (rare: it takes running out of memory for handles).
#[cfg(windows)]
fn out_of_descriptors(error: &io::Error) -> bool {
    /// `WSAEMFILE` from winsock2.h.
    const WSAEMFILE: i32 = 10024;
    error.raw_os_error() == Some(WSAEMFILE)
}

/// Logs a failed `accept` that will be retried after `retry_in`; when the
/// process is out of descriptors, says so and names `ulimit -n`.
pub fn log_accept_error(error: &io::Error, retry_in: Duration) {
    if out_of_descriptors(error) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_warning_names_the_default_of_the_os_it_runs_on() {
        let (mine, other) = if cfg!(target_os = "macos") {
            (256, 1024)
        } else {
            (1024, 256)
        };
        if cfg!(any(target_os = "macos", target_os = "linux")) {
            assert!(default_of_this_os(mine).is_some());
        }
        assert_eq!(default_of_this_os(other), None);
        assert_eq!(default_of_this_os(64), None);
    }
}
