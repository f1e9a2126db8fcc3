//! Lesson 2: a UDP echo server. Datagrams, no connection.
//!
//! Compare with lesson 1: there is no `accept` and no per-client task. One
//! socket receives datagrams from anyone, and each datagram arrives with its
//! sender's address, which is all we need to reply. Nothing tells us a client
//! "connected" or "left"; a datagram may be lost or overtaken by a later one,
//! and nobody will say so. And since anyone can write any sender's address
//! on a datagram, a UDP server must be careful whom it answers.
//!
//! Reading order: `main.rs`, then this file (the configuration and binding),
//! `server.rs` (the receive loop and how a too-small buffer truncates), and
//! `loop_guard.rs` (which datagrams get no echo, and why).
//! Configuration helpers, bind errors, logging and the shutdown signal come
//! from lesson 1 (`tcp_echo::config`, `tcp_echo::bind`, ...).
//!
//! Try it: `cargo run -p udp-echo`, then `nc -u 127.0.0.1 7007` and type a
//! line: it comes straight back, as one datagram.

pub mod loop_guard;
pub mod server;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use tcp_echo::bind::BindError;
use tcp_echo::config::{ConfigError, ServerConfig, number_var};
use tcp_echo::startup::{announce_bound, fail};
use tokio::net::UdpSocket;

pub use server::{EchoSummary, run};

/// The same number as `tcp-echo`: TCP port 7007 and UDP port 7007 are two
/// different ports, so both servers can run at once.
pub const DEFAULT_PORT: u16 = 7007;

/// The largest UDP payload over IPv4: 65,535 bytes (the IP packet's 16-bit
/// length) minus 20 bytes of IP header minus 8 bytes of UDP header.
pub const MAX_DATAGRAM: usize = 65_507;

// ANCHOR: config
/// Everything `udp-echo` can be told through its environment.
#[derive(Debug, Clone)]
pub struct UdpEchoConfig {
    /// `HOST`, `PORT`, `SHUTDOWN_GRACE_SECS`, as in every lesson.
    pub server: ServerConfig,
    /// `UDP_BUFFER_BYTES` (default 65507): the receive buffer. Make it small
    /// (`UDP_BUFFER_BYTES=16`) to watch bigger datagrams get truncated.
    pub buffer_size: usize,
    /// How long an echo is remembered, to recognise it if it comes back
    /// (see `loop_guard.rs`). Not an environment variable: it is
    /// [`LOOP_WINDOW`](loop_guard::LOOP_WINDOW), and only tests change it.
    pub loop_window: Duration,
}

impl UdpEchoConfig {
    /// Reads the configuration from the environment.
    pub fn from_env() -> Result<UdpEchoConfig, ConfigError> {
        Ok(UdpEchoConfig {
            server: ServerConfig::from_env(DEFAULT_PORT)?,
            buffer_size: number_var(
                "UDP_BUFFER_BYTES",
                MAX_DATAGRAM,
                "a size in bytes",
                1..=MAX_DATAGRAM,
            )?,
            loop_window: loop_guard::LOOP_WINDOW,
        })
    }
}
// ANCHOR_END: config

/// Binds the UDP socket, with lesson 1's explanation if that fails.
pub async fn bind_udp(addr: SocketAddr) -> Result<UdpSocket, BindError> {
    UdpSocket::bind(addr)
        .await
        .map_err(|source| BindError::new("udp", addr, source))
}

/// Binds `addr` and announces it, as `tcp_echo::startup::listen` does for
/// TCP: `listening on udp://IP:PORT`, then `try: ` and the `hint`. A bind
/// error is one line on stderr and exit status 1.
pub async fn listen_udp(
    program: &str,
    addr: SocketAddr,
    hint: impl Fn(SocketAddr) -> String,
) -> Result<UdpSocket, ExitCode> {
    let socket = bind_udp(addr)
        .await
        .map_err(|error| fail(program, error, 1))?;
    announce_bound(program, "udp", socket.local_addr(), hint)?;
    Ok(socket)
}
