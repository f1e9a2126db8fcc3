//! The solution to `examples/exercise-numbered.rs`: paste this `reply_to` over yours.
//!
//! What to notice: the count lives in a map keyed by the sender's address,
//! the only identity a UDP client has (a client that opens a new socket is
//! a new sender). The map is bounded, because anyone can send us a datagram
//! from any number of ports; forgetting everyone at once is crude but
//! simple and costs nothing per datagram. The reply is cut to fit a
//! datagram, because `N ` plus a 65,507-byte datagram is too big to send.

use std::collections::HashMap;
use std::net::SocketAddr;

/// The largest UDP payload over IPv4.
pub const MAX_DATAGRAM: usize = 65_507;

/// Any address can send us a datagram, so the map of counts needs a bound.
pub const MAX_SENDERS: usize = 1024;

// ANCHOR: reply_to
/// The reply to `datagram`, which came from `sender`: `N ` and the datagram,
/// where N counts the datagrams from `sender`, from 1.
pub fn reply_to(
    senders: &mut HashMap<SocketAddr, u64>,
    sender: SocketAddr,
    datagram: &[u8],
) -> Vec<u8> {
    if senders.len() >= MAX_SENDERS && !senders.contains_key(&sender) {
        senders.clear();
    }
    let count = senders.entry(sender).or_insert(0);
    *count += 1;
    let mut reply = format!("{count} ").into_bytes();
    reply.extend_from_slice(datagram);
    // What does not fit in one datagram is cut off.
    reply.truncate(MAX_DATAGRAM);
    reply
}
// ANCHOR_END: reply_to
