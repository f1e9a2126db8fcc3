//! DNS, names to addresses (RFC 1035): an authoritative server for one zone, on UDP and TCP.
//!
//! What to notice: before a browser can connect to `www.plants.test` it
//! needs an IP address, and it asks DNS: one UDP datagram out, one back.
//! This server is the *authoritative* end of that chain, the one that
//! holds the zone file and has the final word on the names in it. The
//! resolver your OS uses (your router's, your ISP's, 1.1.1.1) asks servers
//! like this one on your behalf, and remembers their answers for their TTL.
//!
//! Queries and answers are binary messages: a header of fixed fields, then
//! names written as labels with compression pointers. The parser
//! (`message.rs`, `name.rs`) is where a careless server breaks, so every
//! length and every pointer is checked, and a fuzz test feeds it random
//! bytes. The same port serves UDP (lesson 2's loop) and TCP (lesson 1's,
//! for answers too large for a datagram).
//!
//! Reading order: `src/bin/dns.rs`, this file (settings, binding both
//! sockets, `run`), `udp.rs`, `answer.rs` (what the zone says), `message.rs`
//! (parsing a query), `name.rs` (names and pointers), `compress.rs` (the
//! writer), `record.rs`, `zone.rs` (the zone file), `tcp.rs`, `limits.rs`.
//!
//! Try it: `cargo run -p protocols --bin dns`, then
//! `dig @127.0.0.1 -p 1053 www.plants.test`.

pub mod answer;
pub mod compress;
pub mod limits;
pub mod message;
pub mod name;
pub mod record;
pub mod tcp;
pub mod udp;
pub mod zone;

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tcp_echo::accept_loop::{AcceptLimits, DEFAULT_MAX_CONNECTIONS};
use tcp_echo::bind::{BindError, bind_tcp};
use tcp_echo::config::{ConfigError, ServerConfig, max_connections_var, parse_var};
use tokio::net::{TcpListener, UdpSocket};
use tokio_util::sync::CancellationToken;
use tracing::info;
use udp_echo::bind_udp;

use crate::dns::limits::TCP_IDLE_TIMEOUT;
use crate::dns::zone::{Zone, ZoneError};

/// DNS's own port is 53, which needs root. 5353 is taken by multicast DNS
/// (your machine's `.local` names), so the lesson uses 1053.
pub const DEFAULT_PORT: u16 = 1053;

/// The zone served unless `ZONE_FILE` says otherwise: the crate's
/// `zones/plants.test.zone`.
pub const DEFAULT_ZONE_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/zones/plants.test.zone");

// ANCHOR: config
/// Everything the DNS server can be told through its environment.
#[derive(Debug, Clone)]
pub struct DnsConfig {
    /// `HOST`, `PORT` (UDP and TCP both), `SHUTDOWN_GRACE_SECS`, as in
    /// every lesson.
    pub server: ServerConfig,
    /// `ZONE_FILE`: the zone to serve (default: the crate's `plants.test`).
    pub zone_file: PathBuf,
    /// `MAX_CONNECTIONS` (default 1024): TCP connections at once; past it,
    /// clients wait for a free slot.
    pub max_connections: usize,
    /// How long a TCP connection may be idle ([`TCP_IDLE_TIMEOUT`]). Not an
    /// environment variable; tests shorten it.
    pub tcp_idle_timeout: Duration,
}

impl DnsConfig {
    /// Reads the configuration from the environment.
    pub fn from_env() -> Result<DnsConfig, ConfigError> {
        Ok(DnsConfig {
            server: ServerConfig::from_env(DEFAULT_PORT)?,
            zone_file: parse_var(
                "ZONE_FILE",
                PathBuf::from(DEFAULT_ZONE_FILE),
                "a zone file's path",
            )?,
            max_connections: max_connections_var(DEFAULT_MAX_CONNECTIONS)?,
            tcp_idle_timeout: TCP_IDLE_TIMEOUT,
        })
    }

    /// The defaults, listening on `server`'s address (for tests and examples).
    pub fn with_defaults(server: ServerConfig) -> DnsConfig {
        DnsConfig {
            server,
            zone_file: PathBuf::from(DEFAULT_ZONE_FILE),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            tcp_idle_timeout: TCP_IDLE_TIMEOUT,
        }
    }
}
// ANCHOR_END: config

/// `ZONE_FILE` cannot be served: unreadable, or a mistake in it.
#[derive(Debug)]
pub struct ZoneFileError {
    path: PathBuf,
    error: ZoneError,
}

impl fmt::Display for ZoneFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ZONE_FILE={:?} cannot be served: {}",
            self.path, self.error
        )
    }
}

impl std::error::Error for ZoneFileError {}

/// Loads the zone `ZONE_FILE` names; `main` exits with status 2 if that fails.
pub fn load_zone(config: &DnsConfig) -> Result<Zone, ZoneFileError> {
    Zone::load(&config.zone_file).map_err(|error| ZoneFileError {
        path: config.zone_file.clone(),
        error,
    })
}

/// The two sockets of one DNS server: UDP and TCP on the same port.
#[derive(Debug)]
pub struct DnsSockets {
    /// Queries in datagrams.
    pub udp: UdpSocket,
    /// Queries on connections.
    pub tcp: TcpListener,
}

// ANCHOR: bind
/// Binds UDP and TCP on `addr`. With port 0, the OS picks the UDP port, and
/// TCP takes the same number; if that is taken for TCP, we try another.
pub async fn bind_dns(addr: SocketAddr) -> Result<DnsSockets, BindError> {
    // UDP port N and TCP port N are separate (lesson 2), so a free UDP port
    // may be a busy TCP one. A few tries find a pair.
    let tries = if addr.port() == 0 { 20 } else { 1 };
    let mut last_error = None;
    for _ in 0..tries {
        let udp = bind_udp(addr).await?;
        let port = udp
            .local_addr()
            .map_err(|error| BindError::new("udp", addr, error))?
            .port();
        match bind_tcp(SocketAddr::new(addr.ip(), port)) {
            Ok(tcp) => return Ok(DnsSockets { udp, tcp }),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| BindError::new("tcp", addr, io::ErrorKind::AddrInUse.into())))
}
// ANCHOR_END: bind

// ANCHOR: run
/// Serves `zone` on both sockets until `shutdown` completes; then UDP stops
/// at once (nothing is in flight), and TCP connections get the grace period.
pub async fn run(sockets: DnsSockets, config: &DnsConfig, zone: Zone, shutdown: impl Future) {
    let zone = Arc::new(zone);
    let stopping = CancellationToken::new();
    let limits = AcceptLimits::new(config.max_connections, config.server.shutdown_grace);
    let udp = udp::serve_udp(sockets.udp, &zone, stopping.clone());
    let tcp = tcp::serve_tcp(
        sockets.tcp,
        Arc::clone(&zone),
        limits,
        config.tcp_idle_timeout,
        stopping.clone(),
    );
    let tell = async {
        shutdown.await;
        stopping.cancel();
    };
    let (udp, (), ()) = tokio::join!(udp, tcp, tell);
    if let Err(error) = udp {
        info!(%error, "dns over udp ended with an error");
    }
}
// ANCHOR_END: run
