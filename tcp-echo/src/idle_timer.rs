//! An idle timer: "close the connection if nothing happened for N seconds".
//!
//! What to notice: resetting a timer on every read and write would touch the
//! runtime's timer wheel thousands of times a second on a busy connection.
//! Instead we only *note the time* of the last activity (cheap), and when the
//! alarm rings we look: if there was activity since, we set the alarm again
//! for `last activity + timeout`; otherwise the connection really was idle.

use std::pin::Pin;
use std::time::Duration;

use tokio::time::{Instant, Sleep, sleep};

/// Fires once the connection has been idle for `timeout`.
#[derive(Debug)]
pub struct IdleTimer {
    timeout: Duration,
    last_activity: Instant,
    /// Boxed so that `IdleTimer` can be moved freely; a `Sleep` must stay put
    /// (be pinned) once it has been polled.
    alarm: Pin<Box<Sleep>>,
}

impl IdleTimer {
    /// Starts the timer; the connection counts as active now.
    pub fn new(timeout: Duration) -> IdleTimer {
        IdleTimer {
            timeout,
            last_activity: Instant::now(),
            alarm: Box::pin(sleep(timeout)),
        }
    }

    /// Records activity: the idle time starts again from now.
    pub fn touch(&mut self) {
        self.last_activity = Instant::now();
    }

    // ANCHOR: expired
    /// Completes when nothing has touched the timer for `timeout`.
    /// Safe to use in `select!`: dropping this future loses nothing.
    pub async fn expired(&mut self) {
        loop {
            self.alarm.as_mut().await;
            let deadline = self.last_activity + self.timeout;
            if Instant::now() >= deadline {
                return;
            }
            self.alarm.as_mut().reset(deadline);
        }
    }
    // ANCHOR_END: expired
}
