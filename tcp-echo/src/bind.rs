//! Binding: asking the OS for a port, and explaining why it said no.
//!
//! What to notice: "listening on :7007" means this process owns the pair
//! (IP address, TCP port 7007) until it exits. A second program that asks for
//! the same pair gets `AddrInUse`, the most common error a server author meets,
//! so it gets a sentence a learner can act on instead of "os error 98".
//! TCP and UDP ports are separate: `udp-echo` on UDP 7007 and `tcp-echo` on
//! TCP 7007 do not collide.

use std::fmt;
use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpSocket};

/// How many connections the kernel may complete (the TCP handshake done)
/// before we call `accept`. They wait in this queue, the *backlog*: it is
/// where a second client sits while the blocking server is busy with the
/// first. 1024 is tokio's own default; std's is 128.
pub const LISTEN_BACKLOG: u32 = 1024;

// ANCHOR: bind_tcp
/// Binds a TCP listener on `addr` and starts listening.
///
/// Must be called inside a tokio runtime. The blocking variants turn the
/// result back into a `std::net::TcpListener` with `into_std`.
pub fn bind_tcp(addr: SocketAddr) -> Result<TcpListener, BindError> {
    let bind = || -> io::Result<TcpListener> {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        // SO_REUSEADDR lets a restarted server bind at once, even while the
        // previous run's closed connections linger in TIME_WAIT. On Linux and
        // macOS it does not let two live servers share the port. On Windows
        // it does (a second server silently takes over the port, and the
        // "already in use" error below never comes), and Windows needs it
        // not: it lets a port with only TIME_WAIT sockets be bound again
        // anyway. So Windows keeps its default, as std and mio do.
        #[cfg(not(windows))]
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        socket.listen(LISTEN_BACKLOG)
    };
    bind().map_err(|source| BindError::new("tcp", addr, source))
}
// ANCHOR_END: bind_tcp

/// Why a listener could not be opened, in words a learner can act on.
#[derive(Debug)]
pub struct BindError {
    protocol: &'static str,
    addr: SocketAddr,
    source: io::Error,
}

impl BindError {
    /// Wraps the OS error from binding `addr` (`protocol` is "tcp" or "udp").
    pub fn new(protocol: &'static str, addr: SocketAddr, source: io::Error) -> BindError {
        BindError {
            protocol,
            addr,
            source,
        }
    }
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (protocol, addr) = (self.protocol, self.addr);
        let next_port = addr.port().saturating_add(1);
        match self.source.kind() {
            io::ErrorKind::AddrInUse => write!(
                f,
                "cannot listen on {protocol}://{addr}: the address is already in use \
                 (another program is listening there); stop it, or pick another port \
                 with PORT={next_port} (PORT=0 lets the OS choose a free one)"
            ),
            io::ErrorKind::AddrNotAvailable => write!(
                f,
                "cannot listen on {protocol}://{addr}: this machine has no such address; \
                 use HOST=127.0.0.1 (this machine only) or HOST=0.0.0.0 (every interface)"
            ),
            io::ErrorKind::PermissionDenied => write!(
                f,
                "cannot listen on {protocol}://{addr}: permission denied (ports below 1024 \
                 need root); pick a port above 1023, e.g. PORT=7007"
            ),
            _ => write!(f, "cannot listen on {protocol}://{addr}: {}", self.source),
        }
    }
}

impl std::error::Error for BindError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}
