//! ADDR, the server to check: `host:port` or a URL, resolved once.
//!
//! What to notice: the learner may type `127.0.0.1:7007`, `localhost:3000`
//! or a URL copied from a browser (`http://localhost:3000/hello`,
//! `ws://127.0.0.1:8080/ws`); every form comes down to `host:port` and the
//! addresses it resolves to, and the stages try those in order (`localhost`
//! may be `::1` as well as `127.0.0.1`).

use std::net::SocketAddr;
use std::time::Duration;

use crate::runner::STEP_TIMEOUT;

/// Where the server under test is, and how long to wait for it.
#[derive(Debug, Clone)]
pub struct Target {
    /// ADDR as the learner typed it (`127.0.0.1:7007`, `http://localhost:3000/`).
    pub given: String,
    /// `host:port` from ADDR, for a `Host` header.
    pub authority: String,
    /// Every address the host resolved to, never none; `connect` tries
    /// them in order.
    addrs: Vec<SocketAddr>,
    /// The deadline for each network step.
    pub timeout: Duration,
    /// For `https://`: the TLS client settings (the CA to trust), set by
    /// the runner from `--ca FILE` or the dev CA.
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

impl Target {
    /// Reduces ADDR (`host:port`, or a URL such as `http://host:port/path` or
    /// `ws://host:port/ws`) to `host:port` and resolves it.
    pub async fn resolve(given: &str) -> Result<Target, String> {
        let authority = authority_of(given)?;
        let addrs: Vec<SocketAddr> =
            tokio::time::timeout(STEP_TIMEOUT, tokio::net::lookup_host(authority.as_str()))
                .await
                .map_err(|_| {
                    format!("cannot resolve {authority}: no answer within {STEP_TIMEOUT:?}")
                })?
                .map_err(|error| format!("cannot resolve {authority}: {error}"))?
                .collect();
        if addrs.is_empty() {
            return Err(format!("{authority} resolves to no address"));
        }
        Ok(Target {
            given: given.to_string(),
            authority,
            addrs,
            timeout: STEP_TIMEOUT,
            tls: None,
        })
    }

    /// Whether ADDR asks for TLS (`https://`, `wss://`).
    pub fn wants_tls(&self) -> bool {
        self.given.starts_with("https://") || self.given.starts_with("wss://")
    }

    /// The host name to check the certificate against: ADDR's host,
    /// without brackets or port.
    pub fn host(&self) -> &str {
        let host = match self.authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => host,
            _ => self.authority.as_str(),
        };
        host.trim_start_matches('[').trim_end_matches(']')
    }

    /// The address a client tries first.
    pub fn addr(&self) -> SocketAddr {
        self.addrs[0] // `resolve` refuses a host with no address
    }

    /// Every address ADDR resolved to (`localhost` may be `::1` and
    /// `127.0.0.1`), in the order to try them.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }
}

/// `host:port` from ADDR: a URL loses its scheme and path and gets its
/// scheme's default port if it names none.
fn authority_of(given: &str) -> Result<String, String> {
    let (rest, default_port) = match given.split_once("://") {
        None => (given, None),
        Some(("http" | "ws", rest)) => (rest, Some(80)),
        Some(("https" | "wss", rest)) => (rest, Some(443)),
        Some((scheme, _)) => {
            return Err(format!(
                "ADDR {given:?} has scheme {scheme:?}; use host:port, http://, https://, ws:// or wss://"
            ));
        }
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // The port is after the last colon, unless that colon is inside `[::1]`.
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(_, port)| !port.contains(']'));
    match (has_port, default_port) {
        _ if authority.is_empty() => Err(format!("ADDR {given:?} names no host")),
        (true, _) => Ok(authority.to_string()),
        (false, Some(port)) => Ok(format!("{authority}:{port}")),
        (false, None) => Err(format!(
            "ADDR {given:?} has no port; write host:port, e.g. 127.0.0.1:7007"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addr_forms_reduce_to_host_and_port() {
        let table = [
            ("127.0.0.1:7007", "127.0.0.1:7007"),
            ("localhost:3000", "localhost:3000"),
            ("[::1]:8080", "[::1]:8080"),
            ("http://127.0.0.1:3000/hello?x=1", "127.0.0.1:3000"),
            ("http://localhost", "localhost:80"),
            ("https://example.test/", "example.test:443"),
            ("ws://127.0.0.1:8080/ws", "127.0.0.1:8080"),
            ("http://[::1]/", "[::1]:80"),
        ];
        for (given, authority) in table {
            assert_eq!(authority_of(given).as_deref(), Ok(authority), "{given}");
        }
    }

    #[test]
    fn addr_without_port_or_with_odd_scheme_is_refused() {
        for given in ["127.0.0.1", "[::1]", "ftp://127.0.0.1:21", "http://", ""] {
            assert!(authority_of(given).is_err(), "{given}");
        }
    }
}
