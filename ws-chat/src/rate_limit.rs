//! A token bucket: at most 20 messages a second per client, bursts of 40.
//!
//! What to notice: the bucket holds up to a burst of tokens and refills at
//! the rate. Each message takes one; with none left, the message is
//! refused. A person typing never notices; a script flooding the room is
//! held to the rate, and one that keeps flooding is disconnected. Only the
//! first refusal of a run is worth a word to the client: answering each
//! refused message would let a flood make the server write at the flood's
//! own rate, the very thing the limit is there to stop.

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
    /// Refuse this message, the first refused since one was last allowed:
    /// tell the client, once for the whole run of refusals.
    Refuse,
    /// Refuse this message too, without a word: the client was told at the
    /// first refusal of this run.
    RefuseQuietly,
    /// Refused too often in a row: disconnect.
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
        match self.refused_in_a_row {
            1 => Verdict::Refuse,
            refused if refused >= ABUSE_LIMIT => Verdict::Abuse,
            _ => Verdict::RefuseQuietly,
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

    #[tokio::test(start_paused = true)]
    async fn only_the_first_refusal_of_a_run_is_to_be_told() {
        let mut limit = RateLimit::default();
        let verdicts: Vec<Verdict> = (0..40 + ABUSE_LIMIT).map(|_| limit.check()).collect();
        let count = |verdict| verdicts.iter().filter(|&&seen| seen == verdict).count();
        assert_eq!(count(Verdict::Allow), 40);
        assert_eq!(count(Verdict::Refuse), 1);
        assert_eq!(count(Verdict::RefuseQuietly), ABUSE_LIMIT as usize - 2);
        assert_eq!(verdicts[40], Verdict::Refuse);
        // A message allowed again ends the run; the next refusal is told.
        let mut limit = RateLimit::default();
        (0..41).for_each(|_| {
            limit.check();
        });
        tokio::time::advance(Duration::from_millis(50)).await;
        assert_eq!(limit.check(), Verdict::Allow, "50 ms refills 1 token");
        assert_eq!(limit.check(), Verdict::Refuse);
        assert_eq!(limit.check(), Verdict::RefuseQuietly);
    }

    #[tokio::test(start_paused = true)]
    async fn abuse_is_the_hundredth_refusal_in_a_row_not_the_ninety_ninth() {
        let mut limit = RateLimit::default();
        (0..40).for_each(|_| assert_eq!(limit.check(), Verdict::Allow));
        let refusals: Vec<Verdict> = (0..ABUSE_LIMIT + 1).map(|_| limit.check()).collect();
        let first_abuse = refusals
            .iter()
            .position(|&verdict| verdict == Verdict::Abuse);
        assert_eq!(first_abuse, Some(ABUSE_LIMIT as usize - 1));
    }
}
