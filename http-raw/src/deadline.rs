//! A deadline that can be moved cheaply, for the connection's timeouts.
//!
//! What to notice: a keep-alive connection moves its deadline on every
//! request (wait 5 s for the next one; once it starts, 10 s for the whole
//! head; ...). Resetting a timer is a trip into the runtime's timer wheel, so
//! we only *record* the new deadline, and move the real alarm only when it
//! must ring earlier. When a late-set alarm rings early, `expired` looks at
//! the recorded deadline and, if it is still ahead, sets the alarm again.
//! The same trick as lesson 1's `idle_timer.rs`.

use std::pin::Pin;

use tokio::time::{Instant, Sleep, sleep_until};

/// A moveable deadline.
#[derive(Debug)]
pub struct Deadline {
    /// When it really expires.
    at: Instant,
    /// The runtime timer; may ring before `at`, never after.
    alarm: Pin<Box<Sleep>>,
}

impl Deadline {
    /// A deadline at `at`.
    pub fn new(at: Instant) -> Deadline {
        Deadline {
            at,
            alarm: Box::pin(sleep_until(at)),
        }
    }

    /// Moves the deadline to `at`, earlier or later.
    pub fn set(&mut self, at: Instant) {
        self.at = at;
        if at < self.alarm.deadline() {
            self.alarm.as_mut().reset(at);
        }
    }

    /// Completes once the deadline has passed. Safe to drop and call again
    /// (as `select!` does).
    pub async fn expired(&mut self) {
        loop {
            self.alarm.as_mut().await;
            if Instant::now() >= self.at {
                return;
            }
            self.alarm.as_mut().reset(self.at);
        }
    }
}
