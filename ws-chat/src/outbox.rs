//! One client's outgoing queue: bounded, never makes the sender wait, and
//! holds no memory while it is empty.
//!
//! What to notice: this is `tokio::sync::mpsc::channel` cut down to what the
//! chat needs. tokio's bounded channel allocates a block of 32 slots when it
//! is made and keeps it for its whole life: about 1.6 KiB per client
//! (measured with 10,000 idle clients), whether any line is waiting or not.
//! A chat client is idle most of its life. Here the lines wait in a
//! `VecDeque` that allocates when the first line arrives, and the client's
//! task takes the whole batch at once, storage and all, so an idle client's
//! queue is a few dozen bytes.
//!
//! The two halves behave like mpsc's: `try_send` never waits and says
//! `Full` at the bound; the registry holds the only `Sender`, and dropping
//! it (the registry letting the client go) closes the queue, which ends the
//! client's connection.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// One line of text, ready to be sent as a text frame to any number of
/// clients: built once, and every queue gets a cheap, reference-counted
/// clone.
pub type Line = Utf8Bytes;

/// The queue was at its bound: the line was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// What both halves share.
#[derive(Debug)]
struct Shared {
    /// The lines, and whether the sender is gone. A std `Mutex`: it is held
    /// for a push or a swap, never across an `.await`.
    queue: Mutex<Queue>,
    /// Wakes the receiver when a line arrives or the queue closes. Its
    /// `notify_one` keeps a permit when nobody waits, so a line pushed just
    /// before the receiver starts waiting is not missed.
    ready: Notify,
}

#[derive(Debug, Default)]
struct Queue {
    lines: VecDeque<Line>,
    capacity: usize,
    closed: bool,
}

/// The registry's half: queues lines for the client.
#[derive(Debug)]
pub struct Sender {
    shared: Arc<Shared>,
}

/// The client task's half: takes the lines, a batch at a time.
#[derive(Debug)]
pub struct Receiver {
    shared: Arc<Shared>,
}

/// A queue holding at most `capacity` lines.
pub fn channel(capacity: usize) -> (Sender, Receiver) {
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue {
            capacity,
            ..Queue::default()
        }),
        ready: Notify::new(),
    });
    let sender = Sender {
        shared: Arc::clone(&shared),
    };
    (sender, Receiver { shared })
}

impl Shared {
    /// Nothing here can panic while the lock is held, so a poisoned lock
    /// still guards a consistent queue.
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Sender {
    /// Queues `line`, never waiting; `Err(Full)` at the bound.
    pub fn try_send(&self, line: Line) -> Result<(), Full> {
        let mut queue = self.shared.lock();
        if queue.lines.len() >= queue.capacity {
            return Err(Full);
        }
        let was_empty = queue.lines.is_empty();
        queue.lines.push_back(line);
        drop(queue);
        // Only the first line wakes the receiver: it takes everything that
        // is queued when it runs, so later lines ride along for free.
        if was_empty {
            self.shared.ready.notify_one();
        }
        Ok(())
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.ready.notify_one();
    }
}

impl Receiver {
    /// Waits for lines and takes all of them, or `None` once the sender is
    /// gone: lines still queued then are for a client the registry let go,
    /// and are not worth sending. Cancel-safe (it can lose a `select!`):
    /// lines are only taken in the same step that returns them.
    pub async fn next_batch(&mut self) -> Option<VecDeque<Line>> {
        loop {
            {
                let mut queue = self.shared.lock();
                if queue.closed {
                    return None;
                }
                if !queue.lines.is_empty() {
                    // `take` leaves an empty deque, which owns no memory.
                    return Some(std::mem::take(&mut queue.lines));
                }
            }
            self.shared.ready.notified().await;
        }
    }

    /// Completes once the sender is gone, whether lines wait or not: for
    /// the client's task while it is busy writing, and not waiting in
    /// `next_batch` (the two share one wake-up, and only one of them waits
    /// at a time; a wake-up either one takes for a line is harmless, since
    /// both look at the queue before they wait). Cancel-safe.
    pub async fn closed(&self) {
        loop {
            if self.shared.lock().closed {
                return;
            }
            self.shared.ready.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn next(receiver: &mut Receiver) -> Option<Vec<String>> {
        tokio::time::timeout(Duration::from_secs(5), receiver.next_batch())
            .await
            .expect("a batch or the close")
            .map(|batch| batch.iter().map(|line| line.to_string()).collect())
    }

    #[tokio::test]
    async fn lines_come_out_in_order_as_one_batch() {
        let (sender, mut receiver) = channel(4);
        for line in ["a", "b", "c"] {
            assert_eq!(sender.try_send(line.into()), Ok(()));
        }
        assert_eq!(
            next(&mut receiver).await,
            Some(vec!["a".into(), "b".into(), "c".into()])
        );
    }

    #[tokio::test]
    async fn the_bound_holds_and_taking_a_batch_makes_room() {
        let (sender, mut receiver) = channel(2);
        assert_eq!(sender.try_send("1".into()), Ok(()));
        assert_eq!(sender.try_send("2".into()), Ok(()));
        assert_eq!(sender.try_send("3".into()), Err(Full));
        assert_eq!(
            next(&mut receiver).await,
            Some(vec!["1".into(), "2".into()])
        );
        assert_eq!(sender.try_send("4".into()), Ok(()));
    }

    #[tokio::test]
    async fn a_waiting_receiver_wakes_for_a_line() {
        let (sender, mut receiver) = channel(2);
        let waiting = tokio::spawn(async move { next(&mut receiver).await });
        tokio::task::yield_now().await;
        assert_eq!(sender.try_send("hi".into()), Ok(()));
        let batch = waiting.await.expect("receiver task");
        assert_eq!(batch, Some(vec!["hi".into()]));
    }

    #[tokio::test]
    async fn a_waiting_receiver_wakes_when_the_sender_goes() {
        let (sender, mut receiver) = channel(2);
        let waiting = tokio::spawn(async move { next(&mut receiver).await });
        tokio::task::yield_now().await;
        drop(sender);
        assert_eq!(waiting.await.expect("receiver task"), None);
    }

    #[tokio::test]
    async fn closed_completes_when_the_sender_goes_and_not_for_a_line() {
        let (sender, receiver) = channel(2);
        let waiting = tokio::spawn(async move { receiver.closed().await });
        tokio::task::yield_now().await;
        assert_eq!(sender.try_send("hi".into()), Ok(()));
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "a line is not the end");
        drop(sender);
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("closed completes")
            .expect("receiver task");
    }

    #[tokio::test]
    async fn once_the_sender_is_gone_queued_lines_are_dropped() {
        let (sender, mut receiver) = channel(2);
        assert_eq!(sender.try_send("late".into()), Ok(()));
        drop(sender);
        assert_eq!(next(&mut receiver).await, None);
    }
}
