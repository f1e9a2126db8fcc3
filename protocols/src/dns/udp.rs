//! DNS over UDP: lesson 2's receive loop, answering instead of echoing.
//!
//! What to notice: this is `udp_echo::server::run` with `respond` where the
//! echo was. One socket, one datagram in, one datagram out, the reply sent
//! to the address the query came from; no connection, nothing to clean up.
//! That is why DNS chose UDP: a question and its answer in one packet each,
//! with no handshake before and no teardown after, and a server that keeps
//! no state per client. A lost packet is the client's problem: it asks
//! again after a second or so.
//!
//! One task serves every query, one at a time, with one reused buffer for
//! the answer: an answer from a zone in memory takes microseconds, less than
//! handing the query to another task would. For the same reason the `dns`
//! binary runs on one thread (see `src/bin/dns.rs`).

use std::io;

use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};
use udp_echo::MAX_DATAGRAM;

use crate::dns::answer::{Transport, respond};
use crate::dns::compress::MessageWriter;
use crate::dns::zone::Zone;

// ANCHOR: serve_udp
/// Answers queries on `socket` until `stopping` is cancelled; returns how
/// many were answered.
pub async fn serve_udp(
    socket: UdpSocket,
    zone: &Zone,
    stopping: CancellationToken,
) -> io::Result<u64> {
    // One byte more than the largest datagram, as in lesson 2: if it is
    // filled, the datagram was truncated by the kernel.
    let mut buf = vec![0u8; MAX_DATAGRAM + 1];
    let mut out = MessageWriter::new();
    let mut answered = 0;
    loop {
        let received = tokio::select! {
            biased;
            _ = stopping.cancelled() => break,
            received = socket.recv_from(&mut buf) => received,
        };
        let (len, peer) = match received {
            Ok(received) => received,
            Err(error) => {
                // A failed receive concerns one datagram, never the server.
                debug!(%error, "receive failed");
                continue;
            }
        };
        if len > MAX_DATAGRAM {
            debug!(%peer, "datagram larger than {MAX_DATAGRAM} bytes: truncated by the kernel, not answered");
            continue;
        }
        if !respond(zone, &buf[..len], Transport::Udp, peer, &mut out) {
            continue;
        }
        match socket.send_to(out.bytes(), peer).await {
            Ok(_) => answered += 1,
            Err(error) => debug!(%peer, %error, "reply failed"),
        }
    }
    info!(answered, "dns over udp stopped");
    Ok(answered)
}
// ANCHOR_END: serve_udp
