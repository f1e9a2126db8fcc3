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

use std::future::Future;

use tokio::net::UdpSocket;
use tracing::{debug, info, warn};

use crate::UdpEchoConfig;

// ANCHOR: run
/// Echoes datagrams on `socket` until `shutdown` completes.
///
/// UDP has nothing in flight to wait for: once a reply is sent it is the
/// network's problem. So shutdown just finishes the current reply and stops.
pub async fn run(socket: UdpSocket, config: &UdpEchoConfig, shutdown: impl Future) {
    let keep = config.buffer_size;
    // One byte more than we keep, to notice truncation (see the module docs).
    let mut buf = vec![0u8; keep + 1];
    let (mut datagrams, mut bytes) = (0u64, 0u64);
    tokio::pin!(shutdown);

    loop {
        let received = tokio::select! {
            biased;
            received = socket.recv_from(&mut buf) => received,
            _ = &mut shutdown => break,
        };
        let (len, peer) = match received {
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
        debug!(%peer, len, "datagram");
        match socket.send_to(&buf[..len], peer).await {
            Ok(_) => {
                datagrams += 1;
                bytes += len as u64;
            }
            Err(error) => debug!(%peer, %error, "reply failed"),
        }
    }
    info!(datagrams, bytes, "udp-echo stopped");
}
// ANCHOR_END: run
