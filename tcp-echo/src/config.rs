//! Configuration from environment variables, the way servers are configured in production.
//!
//! What to notice: every setting has a default, so `cargo run` just works, and
//! every setting can be changed without recompiling (`PORT=9000 cargo run`).
//! A value that does not parse is not silently replaced by the default: it is a
//! [`ConfigError`] that names the variable and says what is allowed, and `main`
//! prints that one sentence and exits with status 2 (the Unix convention for
//! "you called me wrong").
//!
//! The later lessons read their settings with the same helpers, so every lesson
//! answers `PORT=abc` the same way. The helpers also note each name they
//! read ([`settings_read`]): each lesson's tests check that every one has a
//! row on the book's reference page (`docs/src/reference.md`), so a new
//! setting cannot go undocumented.

use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// The settings every lesson server shares (the book's reference page,
/// `docs/src/reference.md`, lists every lesson's settings).
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// `HOST`: the local IP address to listen on. `127.0.0.1` (the default)
    /// accepts connections from this machine only; `0.0.0.0` from any network
    /// interface, so other machines can reach it too.
    pub host: IpAddr,
    /// `PORT`: the port to listen on. `0` asks the OS to pick a free one; the
    /// `listening on` line then shows which.
    pub port: u16,
    /// `SHUTDOWN_GRACE_SECS`: how long open connections may keep going after
    /// Ctrl+C or SIGTERM before the server closes them.
    pub shutdown_grace: Duration,
}

/// Five seconds: long enough for any request in these lessons to finish,
/// short enough that nobody reaches for `kill -9`.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

impl ServerConfig {
    /// Reads `HOST`, `PORT` and `SHUTDOWN_GRACE_SECS`, with each lesson's own
    /// default port.
    pub fn from_env(default_port: u16) -> Result<ServerConfig, ConfigError> {
        Ok(ServerConfig {
            host: parse_var(
                "HOST",
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                "an IP address such as 127.0.0.1, 0.0.0.0 or ::1 (not a host name)",
            )?,
            port: number_var("PORT", default_port, "a port number", 0..=u16::MAX)?,
            shutdown_grace: seconds_var("SHUTDOWN_GRACE_SECS", DEFAULT_SHUTDOWN_GRACE, 0..=3600)?,
        })
    }

    /// 127.0.0.1, a port the OS picks (`PORT=0`), and the default grace
    /// period: where tests and examples listen, out of everyone's way.
    pub fn localhost_any_port() -> ServerConfig {
        ServerConfig {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
        }
    }

    /// The socket address to bind: IP + port.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }
}

/// A setting whose value cannot be used. Its `Display` is the one sentence
/// the server prints before exiting with status 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    name: &'static str,
    value: String,
    expected: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}={:?} is not valid: expected {}",
            self.name, self.value, self.expected
        )
    }
}

impl std::error::Error for ConfigError {}

/// The name of every setting read through these helpers since the process
/// started. A set, at most one entry per setting: it stays tiny.
static SETTINGS_READ: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());

/// Every setting (environment variable) this process has read through the
/// helpers here, in alphabetical order. Tests compare it with the book's
/// reference page.
pub fn settings_read() -> Vec<&'static str> {
    let read = SETTINGS_READ.lock().unwrap_or_else(PoisonError::into_inner);
    read.iter().copied().collect()
}

/// Adds `name` to [`settings_read`]. A poisoned lock only means another
/// thread panicked while adding a name; the set is still whole.
fn note_read(name: &'static str) {
    SETTINGS_READ
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(name);
}

// ANCHOR: parse_var
/// Reads the variable `name` and parses it as a `T`; an unset (or empty)
/// variable gives `default`. `expected` says in words what is allowed.
pub fn parse_var<T: FromStr>(
    name: &'static str,
    default: T,
    expected: &str,
) -> Result<T, ConfigError> {
    note_read(name);
    let error = |value: String| ConfigError {
        name,
        value,
        expected: expected.to_string(),
    };
    match std::env::var(name) {
        Err(std::env::VarError::NotPresent) => Ok(default),
        Err(std::env::VarError::NotUnicode(raw)) => Err(error(raw.to_string_lossy().into_owned())),
        // `PORT= cargo run` means "not set" to most people, not "bad value".
        Ok(value) if value.trim().is_empty() => Ok(default),
        Ok(value) => value.trim().parse().map_err(|_| error(value)),
    }
}
// ANCHOR_END: parse_var

/// Like [`parse_var`] for a number that must also lie in `range`
/// (`70000` parses as a number but is no port).
pub fn number_var<T>(
    name: &'static str,
    default: T,
    what: &str,
    range: RangeInclusive<T>,
) -> Result<T, ConfigError>
where
    T: FromStr + PartialOrd + fmt::Display,
{
    let expected = format!("{what} from {} to {}", range.start(), range.end());
    let value: T = parse_var(name, default, &expected)?;
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(ConfigError {
            name,
            value: value.to_string(),
            expected,
        })
    }
}

/// `MAX_CONNECTIONS`: how many connections may be open at once.
pub fn max_connections_var(default: usize) -> Result<usize, ConfigError> {
    number_var("MAX_CONNECTIONS", default, "a whole number", 1..=1_000_000)
}

/// A duration given in whole seconds, such as `IDLE_TIMEOUT_SECS=30`.
pub fn seconds_var(
    name: &'static str,
    default: Duration,
    range: RangeInclusive<u64>,
) -> Result<Duration, ConfigError> {
    number_var(name, default.as_secs(), "a whole number of seconds", range).map(Duration::from_secs)
}

/// The longest `INSTANCE_NAME`, in bytes: a host name and a port fit.
pub const MAX_INSTANCE_NAME: usize = 64;

/// A copy's name, as `INSTANCE_NAME` must be: 1 to [`MAX_INSTANCE_NAME`]
/// visible ASCII characters, so no spaces. Like `HOST`, a setting of any
/// server run as several copies behind a load balancer, whatever they share:
/// it goes into a header as it is (http-server's `x-instance`), and into
/// ws-chat's space-separated messages between copies.
struct InstanceName(Option<String>);

impl FromStr for InstanceName {
    type Err = ();

    fn from_str(text: &str) -> Result<InstanceName, ()> {
        let fits = (1..=MAX_INSTANCE_NAME).contains(&text.len())
            && text.bytes().all(|byte| byte.is_ascii_graphic());
        if fits {
            Ok(InstanceName(Some(text.to_string())))
        } else {
            Err(())
        }
    }
}

/// `INSTANCE_NAME`: which copy this is; `None` when unset (each lesson then
/// names the copy by the address it listens on).
pub fn instance_name_var() -> Result<Option<String>, ConfigError> {
    let InstanceName(name) = parse_var(
        "INSTANCE_NAME",
        InstanceName(None),
        "1 to 64 visible ASCII characters, no spaces",
    )?;
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names_the_variable_its_value_and_what_is_allowed() {
        let error = ConfigError {
            name: "PORT",
            value: "abc".into(),
            expected: "a port number from 0 to 65535".into(),
        };
        assert_eq!(
            error.to_string(),
            r#"PORT="abc" is not valid: expected a port number from 0 to 65535"#
        );
    }

    #[test]
    fn an_instance_name_is_1_to_64_visible_ascii_characters() {
        let longest = "n".repeat(MAX_INSTANCE_NAME);
        for fits in ["a", "127.0.0.1:4000", &longest[1..], &longest] {
            assert!(fits.parse::<InstanceName>().is_ok(), "{fits:?}");
        }
        let too_long = "n".repeat(MAX_INSTANCE_NAME + 1);
        for wrong in ["", "has space", "caf\u{e9}", &too_long] {
            assert!(wrong.parse::<InstanceName>().is_err(), "{wrong:?}");
        }
    }
}
