//! The receive loop: one socket, datagrams in, the same datagrams out.
//!
//! What to notice:
//! - `recv_from` gives the bytes *and* who sent them; `send_to` replies to that
//!   address. There is no connection to look up and nothing to clean up.
//! - One datagram in, one datagram out: boundaries are kept. Two 5-byte
//!   datagrams are never read as one 10-byte message, unlike bytes on a TCP
//!   stream.
//! - A datagram bigger than the buffer is *truncated*: the kernel fills the
//!   buffer and silently drops the rest, and `recv_from` just returns the
//!   buffer's length. Many examples (tokio's own echo-udp, Beej's guide) never
//!   mention it. We ask for one byte more than we keep: if that extra byte is
//!   filled, the datagram did not fit, and we say so in the log.
//! - Some datagrams get no echo at all: those from ourselves, from a
//!   well-known service's port, or our own echo coming back from another echo
//!   service. Answering them would start a loop (see `loop_guard.rs`).
//! - Shutdown is checked each time the loop waits for the socket, and at
//!   least every 128 datagrams (when tokio makes a busy task take turns), so
//!   a socket that never runs dry (a flood, or a loop we failed to stop)
//!   cannot keep the server up.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use tokio::net::UdpSocket;
use tracing::{debug, info, warn};

use crate::UdpEchoConfig;
use crate::loop_guard::{LoopGuard, Refused};

/// What the server did, for its last log line and for tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct EchoSummary {
    /// Datagrams echoed.
    pub echoed: u64,
    /// Bytes echoed.
    pub bytes: u64,
    /// Datagrams not answered, because answering could start a loop.
    pub refused: u64,
}

impl fmt::Display for EchoSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "echoed {} datagrams ({} bytes), refused {}",
            self.echoed, self.bytes, self.refused
        )
    }
}

// ANCHOR: run
/// Echoes datagrams on `socket` until `shutdown` completes.
///
/// UDP has nothing in flight to wait for: once a reply is sent it is the
/// network's problem. So shutdown just stops the loop; a reply the kernel
/// has not taken yet is dropped, as the network might have dropped it.
pub async fn run(
    socket: UdpSocket,
    config: &UdpEchoConfig,
    shutdown: impl Future,
) -> io::Result<EchoSummary> {
    let mut guard = LoopGuard::new(socket.local_addr()?, config.loop_window);
    let mut summary = EchoSummary::default();
    tokio::select! {
        // `biased`: shutdown first. It is looked at each time the loop
        // has to wait for the socket, not for every datagram (looking
        // costs more than an echo). A socket that never runs dry still
        // cannot keep the server up: tokio gives a task a budget of 128
        // operations per turn, then the receive answers "not yet", the
        // task yields, and its next turn starts here.
        biased;
        _ = shutdown => {}
        () = echo(&socket, config.buffer_size, &mut guard, &mut summary) => {}
    }
    info!(
        datagrams = summary.echoed,
        bytes = summary.bytes,
        refused = summary.refused,
        "udp-echo stopped"
    );
    Ok(summary)
}

/// The loop itself: receive a datagram, check it, send it back; forever
/// (`run` stops it). Datagrams are kept up to `keep` bytes.
async fn echo(socket: &UdpSocket, keep: usize, guard: &mut LoopGuard, summary: &mut EchoSummary) {
    // One byte more than we keep, to notice truncation (see the module docs).
    let mut buf = vec![0u8; keep + 1];
    loop {
        let (len, peer) = match socket.recv_from(&mut buf).await {
            Ok(received) => received,
            Err(error) => {
                // A failed receive concerns one datagram, never the server.
                debug!(%error, "receive failed");
                continue;
            }
        };
        let len = if len > keep {
            warn!(
                %peer,
                buffer = keep,
                "datagram truncated: it was larger than the {keep}-byte buffer, \
                 and the kernel discarded the rest; echoing the first {keep} bytes"
            );
            keep
        } else {
            len
        };
        let now = Instant::now();
        let fingerprint = match guard.check(peer, &buf[..len], now) {
            Ok(fingerprint) => fingerprint,
            Err(why) => {
                refused(summary, peer, len, why);
                continue;
            }
        };
        debug!(%peer, len, "datagram");
        match socket.send_to(&buf[..len], peer).await {
            Ok(_) => {
                guard.echoed(fingerprint, now);
                summary.echoed += 1;
                summary.bytes += len as u64;
            }
            Err(error) => debug!(%peer, %error, "reply failed"),
        }
    }
}
// ANCHOR_END: run

/// Counts a datagram left unanswered, and says why: the first one at
/// `warn`, the rest at `debug`, so a flood of them cannot flood the log.
fn refused(summary: &mut EchoSummary, peer: SocketAddr, len: usize, why: Refused) {
    summary.refused += 1;
    if summary.refused == 1 {
        warn!(%peer, len, "no echo: {why} (further refusals are logged at debug level)");
    } else {
        debug!(%peer, len, "no echo: {why}");
    }
}
