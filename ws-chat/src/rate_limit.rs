//! A token bucket: at most 20 messages a second per client, bursts of 40.
//!
//! What to notice: the bucket holds up to a burst of tokens and refills at
//! the rate. Each message takes one; with none left, the message is
//! refused. A person typing never notices; a script flooding the room is
//! held to the rate, and one that keeps flooding is disconnected.

use tokio::time::Instant;

/// 20 messages a second, sustained (`RATE_LIMIT`): a fast typist sends a
/// few lines a second, so a person never meets it, while a script is held
/// to a pace the room can read.
pub const PER_SECOND: u32 = 20;

/// A burst may be two seconds' worth of messages (40 at the default rate):
/// a pasted block of lines goes through at once.
pub const BURST_SECONDS: u32 = 2;

/// Refused messages in a row after which the client is disconnected (1008):
/// it is not a person, and it is not listening to the errors.
pub const ABUSE_LIMIT: u32 = 100;

/// One client's bucket.
#[derive(Debug)]
pub struct RateLimit {
    per_second: f64,
    burst: f64,
    tokens: f64,
    refilled_at: Instant,
    refused_in_a_row: u32,
}

/// The verdict on one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead.
    Allow,
    /// Refuse this message (tell the client).
    Refuse,
    /// Refused too often: disconnect.
    Abuse,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self::new(PER_SECOND)
    }
}

impl RateLimit {
    /// A full bucket of `BURST_SECONDS` worth of tokens, refilled at
    /// `per_second`.
    pub fn new(per_second: u32) -> RateLimit {
        let burst = f64::from(per_second) * f64::from(BURST_SECONDS);
        RateLimit {
            per_second: f64::from(per_second),
            burst,
            tokens: burst,
            refilled_at: Instant::now(),
            refused_in_a_row: 0,
        }
    }

    /// Takes a token for one message, if there is one.
    pub fn check(&mut self) -> Verdict {
        let now = Instant::now();
        let elapsed = now.duration_since(self.refilled_at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        self.refilled_at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.refused_in_a_row = 0;
            return Verdict::Allow;
        }
        self.refused_in_a_row += 1;
        if self.refused_in_a_row >= ABUSE_LIMIT {
            Verdict::Abuse
        } else {
            Verdict::Refuse
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn a_burst_passes_then_the_rate_holds() {
        let mut limit = RateLimit::default();
        for _ in 0..40 {
            assert_eq!(limit.check(), Verdict::Allow);
        }
        assert_eq!(limit.check(), Verdict::Refuse);
        tokio::time::advance(Duration::from_millis(100)).await;
        assert_eq!(limit.check(), Verdict::Allow, "0.1 s refills 2 tokens");
        assert_eq!(limit.check(), Verdict::Allow);
        assert_eq!(limit.check(), Verdict::Refuse);
    }

    #[tokio::test(start_paused = true)]
    async fn flooding_on_and_on_is_abuse() {
        let mut limit = RateLimit::default();
        let verdicts: Vec<Verdict> = (0..40 + ABUSE_LIMIT).map(|_| limit.check()).collect();
        assert_eq!(verdicts.last(), Some(&Verdict::Abuse));
    }
}
