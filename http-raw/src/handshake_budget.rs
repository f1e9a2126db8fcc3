//! The TLS handshakes in progress, and the budget they share: so that
//! handshakes nobody finishes cannot lock real clients out.
//!
//! What to notice:
//! - A handshake holds a connection slot (the accept loop took it before
//!   `accept`), and a client can start one for the price of a socket and
//!   half a ClientHello. Without a budget, 2,000 such half-open handshakes
//!   took all 1,024 slots, and a real client waited in the listen backlog
//!   until the first of them timed out: 8 to 10 s.
//! - So handshakes get a budget of their own: at most [`MAX_HANDSHAKES`] in
//!   progress, and never more than half of `MAX_CONNECTIONS`; the other
//!   slots stay for connections that are past their handshake.
//! - When the budget is full, a new handshake makes room by ending the
//!   *oldest* one in progress. A real handshake is over in milliseconds (two
//!   round trips and a signature), so the oldest of a full budget has been
//!   stalled far longer than any real one takes; the newcomer, most likely
//!   a real client, gets its turn. nginx does the same when it runs out of
//!   connections ("reusing connections" in its log).
//! - A full budget is logged once per episode, as the accept loop logs a
//!   full server: a warning when it fills, one line when it has drained,
//!   with how many handshakes were ended meanwhile.
//!
//! Limits of the idea: an attacker who opens new handshakes faster than the
//! budget's size per handshake time (hundreds of thousands a second) can
//! still push a real one out; that is a job for a firewall's rate limit
//! per address, in front of any server.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};
use tracing::{debug, info, warn};

/// At most 256 TLS handshakes in progress at once. A handshake costs the
/// server about a millisecond of CPU (a key exchange and a signature), so
/// 256 is more than a small server completes in a tenth of a second: a
/// budget that is full is full of handshakes that are not progressing.
/// Lower than `MAX_CONNECTIONS` (1,024 by default), so most slots are
/// always there for clients past their handshake.
pub const MAX_HANDSHAKES: usize = 256;

/// The handshakes in progress on one server, oldest first.
#[derive(Debug)]
pub struct HandshakeBudget {
    /// How many may be in progress at once.
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Each handshake in progress, by its connection's number (the accept
    /// loop numbers connections in the order it accepts them, so the first
    /// entry is the oldest), with the token that ends it to make room.
    in_progress: BTreeMap<u64, CancellationToken>,
    /// Whether the budget is full (the warning was logged) and how many
    /// handshakes were ended to make room since it filled.
    full: bool,
    ended: u64,
}

impl HandshakeBudget {
    /// A budget for a server with `max_connections` slots: [`MAX_HANDSHAKES`],
    /// or half the slots if that is fewer (at least one).
    pub fn new(max_connections: usize) -> HandshakeBudget {
        HandshakeBudget {
            capacity: MAX_HANDSHAKES.min(max_connections / 2).max(1),
            state: Mutex::default(),
        }
    }

    /// How many handshakes may be in progress at once.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Counts the handshake of connection number `id` as in progress until
    /// the returned slot is dropped. If that is one more than the budget,
    /// the oldest handshake in progress is told to end (its slot's
    /// [`HandshakeSlot::made_room`] completes). Oldest by `id`, not by when
    /// this is called: connection tasks may start in another order than
    /// they were accepted in.
    pub fn enter(self: &Arc<Self>, id: u64) -> HandshakeSlot {
        let made_room = CancellationToken::new();
        let mut state = self.lock();
        state.in_progress.insert(id, made_room.clone());
        if state.in_progress.len() > self.capacity {
            if !state.full {
                state.full = true;
                state.ended = 0;
                warn!(
                    max_handshakes = self.capacity,
                    "TLS handshake budget full: the oldest handshakes in progress are ended to make room"
                );
            }
            if let Some((_, oldest)) = state.in_progress.pop_first() {
                oldest.cancel();
                state.ended += 1;
            }
        }
        drop(state);
        HandshakeSlot {
            budget: Arc::clone(self),
            id,
            made_room,
        }
    }

    /// The state is consistent at every step, so a poisoned lock (a panic
    /// elsewhere while holding it, which nothing here can do) still guards a
    /// usable map. A std `Mutex`: it is never held across an `.await`.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One handshake's place in the budget, given back when dropped (the
/// handshake is done, failed, or was ended).
#[derive(Debug)]
pub struct HandshakeSlot {
    budget: Arc<HandshakeBudget>,
    id: u64,
    made_room: CancellationToken,
}

impl HandshakeSlot {
    /// Completes when this handshake must end to make room for a newer one.
    pub fn made_room(&self) -> WaitForCancellationFuture<'_> {
        self.made_room.cancelled()
    }
}

impl Drop for HandshakeSlot {
    fn drop(&mut self) {
        let mut state = self.budget.lock();
        // Absent if it was ended to make room: already removed.
        state.in_progress.remove(&self.id);
        // Over once half the budget is free again: a full budget under a
        // flood dips below full each time a real handshake completes, and
        // that is not the end of the flood.
        if state.full && state.in_progress.len() <= self.budget.capacity / 2 {
            state.full = false;
            let ended = state.ended;
            info!(
                ended,
                "TLS handshake budget has room again: {ended} stalled handshakes were ended meanwhile"
            );
        } else if self.made_room.is_cancelled() {
            debug!("TLS handshake ended to make room for a newer one");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_256_or_half_the_connection_slots() {
        assert_eq!(HandshakeBudget::new(1024).capacity(), 256);
        assert_eq!(HandshakeBudget::new(10_000).capacity(), 256);
        assert_eq!(HandshakeBudget::new(8).capacity(), 4);
        assert_eq!(HandshakeBudget::new(1).capacity(), 1);
    }

    #[test]
    fn a_full_budget_ends_the_oldest_handshake_and_only_that_one() {
        let budget = Arc::new(HandshakeBudget::new(6));
        let slots: Vec<HandshakeSlot> = (1..=3).map(|id| budget.enter(id)).collect();
        assert!(slots.iter().all(|slot| !slot.made_room.is_cancelled()));
        // Up to the capacity (3), nobody is ended; one more ends the oldest.
        let newer = budget.enter(4);
        let ended: Vec<bool> = slots
            .iter()
            .map(|slot| slot.made_room.is_cancelled())
            .collect();
        assert_eq!(ended, [true, false, false]);
        assert!(!newer.made_room.is_cancelled());
        // A handshake that finishes gives its place back: the next one
        // fits without ending anybody.
        drop(slots);
        let _fits = budget.enter(5);
        assert!(!newer.made_room.is_cancelled());
    }

    #[test]
    fn the_oldest_is_the_first_accepted_whatever_order_the_tasks_start_in() {
        let budget = Arc::new(HandshakeBudget::new(4));
        let second = budget.enter(2);
        let third = budget.enter(3);
        // Connection 1's task starts last, and it is the oldest: it makes
        // room itself.
        let first = budget.enter(1);
        assert!(first.made_room.is_cancelled());
        assert!(!second.made_room.is_cancelled() && !third.made_room.is_cancelled());
    }

    #[test]
    fn at_the_limit_minus_one_the_limit_and_plus_one() {
        // Capacity 3: the fourth ends the first.
        for (held, expected_ended) in [(2, 0), (3, 0), (4, 1)] {
            let budget = Arc::new(HandshakeBudget::new(6));
            let slots: Vec<HandshakeSlot> = (1..=held).map(|id| budget.enter(id)).collect();
            let ended = slots
                .iter()
                .filter(|slot| slot.made_room.is_cancelled())
                .count();
            assert_eq!(ended, expected_ended, "{held} in progress");
        }
    }
}
