//! Who an echo server must not answer: itself, other services, and a loop.
//!
//! What to notice: a UDP server answers whatever source address a datagram
//! carries, and anyone can forge that address. Forge it as the server's own,
//! and the server echoes to itself, receives its own echo, echoes it again,
//! forever. Forge it as another echo server's, and the two play ping-pong
//! until one is killed. RFC 862 says nothing about this; the "UDP port
//! denial-of-service" of 1996 (CERT CA-1996-01: echo and chargen looped into
//! each other) is why echo services are off on real machines, and why the
//! ones that stayed, such as the BSD `inetd`'s, refuse datagrams that come
//! from the port of an echo-like service ("loop request REFUSED").
//!
//! [`LoopGuard`] refuses three kinds of datagram:
//! - **From our own port** (on any address): ourselves, or another echo
//!   server started the same way (two default udp-echos on two machines).
//! - **From a port below 1024**: the well-known services (echo 7, chargen 19,
//!   DNS 53, NTP 123, ...) answer, so answering them can start a loop between
//!   two services. Real clients send from high, "ephemeral" ports that their
//!   OS picks (32768-60999 on Linux).
//! - **A loop in progress**: a datagram identical to one we echoed to the
//!   same address less than [`LOOP_WINDOW`] ago. Whoever is there sent our
//!   own echo back: it is an echo service too. Dropping one datagram ends a
//!   ping-pong, because a loop is one chain of replies.
//!
//! The price of the last rule: a client that sends the very same datagram
//! twice within half a second gets one echo. It cannot be told from a loop.

use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use foldhash::SharedSeed;
use foldhash::fast::FoldHasher;

/// How recent an echo must be for the same datagram coming back from the
/// same address to count as a loop: longer than a round trip across the
/// world (about 300 ms), shorter than a person takes to type a line again.
pub const LOOP_WINDOW: Duration = Duration::from_millis(500);

/// How many recent echoes are remembered: a fixed table, so memory stays the
/// same whatever arrives. A loop needs only its own last echo remembered, so
/// this many datagrams bouncing at once are all caught.
pub const RECENT_ECHOES: usize = 1024;

/// The lowest port an ordinary client sends from: below it are the
/// well-known services (RFC 6335 section 6: "System Ports", 0-1023).
pub const FIRST_CLIENT_PORT: u16 = 1024;

/// Why a datagram gets no echo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// It came from our own port number: ourselves, or an echo server like us.
    OwnPort,
    /// It came from a well-known service's port (below 1024).
    ServicePort,
    /// It is our own recent echo, sent back: a loop with another echo service.
    Loop,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refused::OwnPort => "it comes from our own port (ourselves, or an echo server like us)",
            Refused::ServicePort => "it comes from a well-known service's port (below 1024)",
            Refused::Loop => "it is our own echo sent back: a loop with another echo service",
        })
    }
}

/// A datagram's identity for loop detection: a hash of its sender and bytes.
///
/// Every datagram is hashed, so the hash is foldhash (what `hashbrown` uses
/// by default) rather than std's SipHash: about 40 instructions for a 64-byte
/// datagram instead of about 550, a quarter of the whole echo's cost. SipHash
/// is built so that nobody can find two inputs with the same hash without the
/// key; foldhash only keeps its keys random, and its author says an attacker
/// who watches it long enough could work them out. Here that would buy an
/// attacker nothing they lack without it:
/// - **Keeping a loop alive** by overwriting its slot before its echo comes
///   back takes one datagram per bounce with the keys known, and about
///   [`RECENT_ECHOES`] per bounce at random. Either way they send at least
///   as much as the loop does, which they could send at its victim directly:
///   the loop no longer multiplies anything.
/// - **Getting a client's datagram refused** takes a recent echo with the same
///   64-bit fingerprint. Whoever knows a client's next bytes can already do
///   that with no hash trick: send the same bytes from the client's forged
///   address first. And UDP promises nothing about delivery anyway.
///
/// So the guard needs a hash that spreads datagrams over the table and has a
/// key nobody guesses at start-up, and foldhash with random keys is that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint(u64);

/// Decides which datagrams not to answer, remembering recent echoes.
#[derive(Debug)]
pub struct LoopGuard {
    /// The port the server is bound to.
    local_port: u16,
    /// How long an echo is remembered ([`LOOP_WINDOW`] but in tests).
    window: Duration,
    /// Random keys, so nobody can aim two datagrams at one fingerprint
    /// without first working them out (see [`Fingerprint`]).
    seed: u64,
    /// foldhash's other keys, made from one more random number.
    shared_seed: SharedSeed,
    /// Recent echoes, each in the slot its fingerprint picks; a newer echo
    /// overwrites an older one in the same slot.
    recent: Vec<Option<(Fingerprint, Instant)>>,
}

impl LoopGuard {
    /// A guard for a server bound to `local`, remembering echoes for
    /// `window`.
    pub fn new(local: SocketAddr, window: Duration) -> LoopGuard {
        LoopGuard {
            local_port: local.port(),
            window,
            seed: random_u64(),
            shared_seed: SharedSeed::from_u64(random_u64()),
            recent: vec![None; RECENT_ECHOES],
        }
    }

    // ANCHOR: check
    /// Checks a datagram from `peer`: its fingerprint if it may be echoed
    /// (pass it to [`LoopGuard::echoed`] once it is), else why not.
    pub fn check(
        &self,
        peer: SocketAddr,
        payload: &[u8],
        now: Instant,
    ) -> Result<Fingerprint, Refused> {
        if peer.port() == self.local_port {
            return Err(Refused::OwnPort);
        }
        if peer.port() < FIRST_CLIENT_PORT {
            return Err(Refused::ServicePort);
        }
        let fingerprint = self.fingerprint(peer, payload);
        match self.recent[self.slot(fingerprint)] {
            Some((seen, at)) if seen == fingerprint && now.duration_since(at) < self.window => {
                Err(Refused::Loop)
            }
            _ => Ok(fingerprint),
        }
    }
    // ANCHOR_END: check

    /// Remembers that the datagram with `fingerprint` was echoed at `now`.
    pub fn echoed(&mut self, fingerprint: Fingerprint, now: Instant) {
        let slot = self.slot(fingerprint);
        self.recent[slot] = Some((fingerprint, now));
    }

    fn fingerprint(&self, peer: SocketAddr, payload: &[u8]) -> Fingerprint {
        let mut hasher = FoldHasher::with_seed(self.seed, &self.shared_seed);
        (peer, payload).hash(&mut hasher);
        Fingerprint(hasher.finish())
    }

    fn slot(&self, fingerprint: Fingerprint) -> usize {
        (fingerprint.0 % RECENT_ECHOES as u64) as usize
    }
}

/// A random number from the operating system, once per guard: std's
/// `RandomState` is keyed from the OS's random source, and hashing anything
/// with it turns that key into a number (no random-number crate needed).
fn random_u64() -> u64 {
    RandomState::new().hash_one(0u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER: &str = "127.0.0.1:7007";
    const CLIENT: &str = "127.0.0.1:40000";

    fn addr(text: &str) -> SocketAddr {
        text.parse().expect("a socket address")
    }

    #[test]
    fn refuses_our_own_port_on_any_address_and_service_ports() {
        let guard = LoopGuard::new(addr(SERVER), LOOP_WINDOW);
        let now = Instant::now();
        for (peer, verdict) in [
            (SERVER, Err(Refused::OwnPort)),
            ("10.1.2.3:7007", Err(Refused::OwnPort)),
            ("[::1]:7007", Err(Refused::OwnPort)),
            ("127.0.0.1:7", Err(Refused::ServicePort)),
            ("127.0.0.1:19", Err(Refused::ServicePort)),
            ("127.0.0.1:0", Err(Refused::ServicePort)),
            ("127.0.0.1:1023", Err(Refused::ServicePort)),
        ] {
            assert_eq!(guard.check(addr(peer), b"x", now), verdict, "{peer}");
        }
        assert!(guard.check(addr("127.0.0.1:1024"), b"x", now).is_ok());
    }

    #[test]
    fn the_same_datagram_back_from_the_same_peer_soon_is_a_loop() {
        let mut guard = LoopGuard::new(addr(SERVER), LOOP_WINDOW);
        let start = Instant::now();
        let fingerprint = guard.check(addr(CLIENT), b"ping", start).expect("first");
        guard.echoed(fingerprint, start);

        let soon = start + LOOP_WINDOW / 2;
        assert_eq!(guard.check(addr(CLIENT), b"ping", soon), Err(Refused::Loop));
        // Other bytes, another peer, or much later: not a loop.
        assert!(guard.check(addr(CLIENT), b"pong", soon).is_ok());
        assert!(guard.check(addr("127.0.0.1:40001"), b"ping", soon).is_ok());
        assert!(
            guard
                .check(addr(CLIENT), b"ping", start + LOOP_WINDOW)
                .is_ok()
        );
    }

    #[test]
    fn two_guards_give_the_same_datagram_different_fingerprints() {
        // Random keys per guard: nobody can compute a fingerprint in advance.
        let now = Instant::now();
        let first = LoopGuard::new(addr(SERVER), LOOP_WINDOW).check(addr(CLIENT), b"ping", now);
        let second = LoopGuard::new(addr(SERVER), LOOP_WINDOW).check(addr(CLIENT), b"ping", now);
        assert_ne!(first.expect("first"), second.expect("second"));
    }
}
