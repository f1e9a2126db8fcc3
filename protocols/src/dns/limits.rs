//! Every limit the DNS server keeps, each with its reason.
//!
//! What to notice: the limits of the wire format itself (a 255-byte name,
//! a 63-byte label) live beside the parser in `name.rs`; here are the
//! answer sizes that decide between UDP and TCP, and the bounds of a TCP
//! connection.

use std::time::Duration;

/// The largest UDP answer to a client that did not say it takes more
/// (RFC 1035 section 4.2.1). Larger: the answer is cut to its question,
/// with the TC bit set, and the client asks again over TCP.
pub const PLAIN_UDP_ANSWER: usize = 512;

/// The largest UDP answer to a client that says, with EDNS, it takes
/// more: 1232 bytes, the size the 2020 "DNS flag day" settled on, because
/// it fits in one packet on almost every path (1280, IPv6's smallest MTU,
/// less 48 bytes of headers). Larger UDP answers are split into IP
/// fragments, and fragments get lost, or forged.
pub const EDNS_UDP_ANSWER: u16 = 1232;

/// The largest DNS message over TCP: its two-byte length prefix (RFC 1035
/// section 4.2.2) cannot say more. So this is also the most a TCP
/// connection's query buffer ever holds.
pub const MAX_TCP_MESSAGE: usize = 65_535;

/// How long a TCP connection may wait for its next query. RFC 7766
/// section 6.2.3 asks servers to keep idle connections for seconds, not
/// minutes: a resolver that needs it again soon will reconnect.
pub const TCP_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// How many CNAMEs in a row an answer follows inside the zone before it
/// gives up with SERVFAIL: a zone with `a CNAME b` and `b CNAME a` must not
/// make the server loop.
pub const MAX_CNAME_CHAIN: usize = 8;
