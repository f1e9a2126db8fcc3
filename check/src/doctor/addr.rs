//! The doctor's ADDR: a bare `PORT`, `host:port`, or a URL, with its scheme
//! kept, because the scheme says what the server should answer.
//!
//! What to notice: a bare port means `localhost`, the name a learner types,
//! which may resolve to `::1` as well as `127.0.0.1`; trying both is half of
//! the doctor's job.

use std::fmt;

/// What ADDR says the server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `PORT` or `host:port`: any TCP server; a connection is the answer.
    Tcp,
    /// `http://`: a request gets an HTTP response.
    Http,
    /// `https://`: a TLS handshake first.
    Https,
    /// `ws://`: an HTTP request that asks to upgrade gets `101`.
    Ws,
    /// `wss://`: TLS, then the WebSocket upgrade.
    Wss,
}

impl Scheme {
    /// Whether the conversation starts with a TLS handshake.
    pub fn is_tls(self) -> bool {
        matches!(self, Scheme::Https | Scheme::Wss)
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scheme::Tcp => "TCP",
            Scheme::Http => "HTTP",
            Scheme::Https => "HTTPS",
            Scheme::Ws => "WebSocket",
            Scheme::Wss => "WebSocket over TLS",
        })
    }
}

/// ADDR, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addr {
    /// What the server should speak.
    pub scheme: Scheme,
    /// The host as typed, without IPv6 brackets (`localhost`, `::1`).
    pub host: String,
    /// The port, given or the scheme's default.
    pub port: u16,
    /// The path and query for HTTP and WebSocket (`/` when none).
    pub path: String,
}

impl Addr {
    /// Parses `3000`, `127.0.0.1:7007`, `[::1]:8080`, `http://localhost:3000/hello`.
    pub fn parse(given: &str) -> Result<Addr, String> {
        if let Ok(port) = given.parse::<u16>() {
            return Ok(Addr {
                scheme: Scheme::Tcp,
                host: "localhost".to_string(),
                port,
                path: "/".to_string(),
            });
        }
        let (scheme, rest) = match given.split_once("://") {
            None => (Scheme::Tcp, given),
            Some(("http", rest)) => (Scheme::Http, rest),
            Some(("https", rest)) => (Scheme::Https, rest),
            Some(("ws", rest)) => (Scheme::Ws, rest),
            Some(("wss", rest)) => (Scheme::Wss, rest),
            Some((scheme, _)) => {
                return Err(format!(
                    "ADDR {given:?} has scheme {scheme:?}; use PORT, host:port, http://, https://, ws:// or wss://"
                ));
            }
        };
        let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        let path = match path {
            "" => "/".to_string(),
            path if path.starts_with('/') => path.to_string(),
            path => format!("/{path}"),
        };
        let (host, port) =
            split_authority(authority).ok_or_else(|| format!("ADDR {given:?} names no host"))?;
        let port = match (port, scheme) {
            (Some(port), _) => port
                .parse::<u16>()
                .map_err(|_| format!("ADDR {given:?} has port {port:?}, not a number 0-65535"))?,
            (None, Scheme::Http | Scheme::Ws) => 80,
            (None, Scheme::Https | Scheme::Wss) => 443,
            (None, Scheme::Tcp) => {
                return Err(format!(
                    "ADDR {given:?} has no port; write PORT, host:port or a URL"
                ));
            }
        };
        Ok(Addr {
            scheme,
            host: host.to_string(),
            port,
            path,
        })
    }

    /// `host:port`, with brackets around an IPv6 host, for a `Host` header.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let authority = self.authority();
        match self.scheme {
            Scheme::Tcp => f.write_str(&authority),
            Scheme::Http => write!(f, "http://{authority}{}", self.path),
            Scheme::Https => write!(f, "https://{authority}{}", self.path),
            Scheme::Ws => write!(f, "ws://{authority}{}", self.path),
            Scheme::Wss => write!(f, "wss://{authority}{}", self.path),
        }
    }
}

/// `host` and maybe `port` from `host:port`, `[::1]:port`, `host`, `[::1]`.
fn split_authority(authority: &str) -> Option<(&str, Option<&str>)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    (!host.is_empty()).then_some((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_addr_form_keeps_its_scheme_host_port_and_path() {
        let table = [
            ("3000", Scheme::Tcp, "localhost", 3000, "/"),
            ("127.0.0.1:7007", Scheme::Tcp, "127.0.0.1", 7007, "/"),
            ("[::1]:8080", Scheme::Tcp, "::1", 8080, "/"),
            (
                "http://localhost:3000/hello?x=1",
                Scheme::Http,
                "localhost",
                3000,
                "/hello?x=1",
            ),
            ("http://127.0.0.1", Scheme::Http, "127.0.0.1", 80, "/"),
            ("https://[::1]/", Scheme::Https, "::1", 443, "/"),
            (
                "ws://127.0.0.1:8080/ws",
                Scheme::Ws,
                "127.0.0.1",
                8080,
                "/ws",
            ),
            ("wss://localhost:8443", Scheme::Wss, "localhost", 8443, "/"),
        ];
        for (given, scheme, host, port, path) in table {
            let addr = Addr::parse(given).unwrap_or_else(|error| panic!("{given}: {error}"));
            assert_eq!(
                (
                    addr.scheme,
                    addr.host.as_str(),
                    addr.port,
                    addr.path.as_str()
                ),
                (scheme, host, port, path),
                "{given}"
            );
        }
    }

    #[test]
    fn addr_without_host_or_port_or_with_odd_scheme_is_refused() {
        for given in [
            "127.0.0.1",
            "",
            "http://",
            "ftp://127.0.0.1:21",
            "localhost:99999",
            "65536",
        ] {
            assert!(Addr::parse(given).is_err(), "{given}");
        }
    }
}
