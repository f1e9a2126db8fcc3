//! The bus: this copy's one publisher and one subscription to the chat's
//! Redis channel, and the heartbeat that keeps this copy's clients present.
//!
//! What to notice: a subscribed Redis connection can do nothing but receive,
//! so the bus has a connection of its own, one per copy however many clients
//! it has. Everything any copy publishes comes in here, in the order Redis
//! received it, and goes to `SharedRooms::deliver`. When the connection is
//! lost (Redis restarted, the network cut), the loop says so once, tries
//! again with a growing pause (100 ms, doubling, at most
//! `MAX_RECONNECT_DELAY`), subscribes again and says once that it is back.
//! Lines published while this copy was not subscribed are lost to its
//! clients (pub/sub keeps nothing); a sender on this copy then sees no echo,
//! never a false one. The room's history, in Redis, still has them.

use std::sync::Arc;

use futures_util::StreamExt;
use redis::aio::PubSub;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use tokio::sync::mpsc;

use super::link::{FIRST_RECONNECT_DELAY, MAX_RECONNECT_DELAY, REDIS_WAIT};
use super::rooms::{CHANNEL, Outgoing, PUBLISH_BATCH_LINES, SharedRooms};

/// A connection subscribed to the chat's channel, within [`REDIS_WAIT`].
/// `run` takes the first one before it serves anyone, so no line said
/// through this copy can be published before this copy listens.
pub async fn subscribe(client: &redis::Client) -> Result<PubSub, String> {
    let subscribed = tokio::time::timeout(REDIS_WAIT, async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(CHANNEL).await?;
        Ok::<_, redis::RedisError>(pubsub)
    });
    match subscribed.await {
        Ok(Ok(pubsub)) => Ok(pubsub),
        Ok(Err(error)) => Err(format!("cannot subscribe: {error}")),
        Err(_) => Err(format!("no answer from Redis within {REDIS_WAIT:?}")),
    }
}

// ANCHOR: listen
/// Receives the bus on `first` until `stopping` is cancelled, subscribing
/// again whenever the connection is lost.
pub async fn listen(rooms: Arc<SharedRooms>, first: PubSub, stopping: CancellationToken) {
    let mut delay = FIRST_RECONNECT_DELAY;
    let mut lost = false;
    let mut ready = Some(first);
    loop {
        let subscribed = match ready.take() {
            Some(pubsub) => Ok(pubsub),
            None => subscribe(rooms.client()).await,
        };
        match subscribed {
            Ok(pubsub) => {
                if lost {
                    info!("subscribed to the chat's Redis channel again");
                }
                delay = FIRST_RECONNECT_DELAY;
                let mut messages = pubsub.into_on_message();
                loop {
                    tokio::select! {
                        () = stopping.cancelled() => return,
                        message = messages.next() => match message {
                            Some(message) => match message.get_payload::<String>() {
                                Ok(text) => rooms.deliver(text),
                                Err(error) => warn!(%error, "ignoring a message that is not text"),
                            },
                            None => break,
                        },
                    }
                }
                warn!("lost the chat's Redis channel; subscribing again");
                lost = true;
            }
            Err(problem) if !lost => {
                warn!(%problem, "cannot subscribe to the chat's Redis channel; trying again");
                lost = true;
            }
            Err(_) => {}
        }
        tokio::select! {
            () = stopping.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(MAX_RECONNECT_DELAY);
    }
}
// ANCHOR_END: listen

// ANCHOR: publish
/// Publishes what this copy's clients say, in the order they said it, a
/// batch at a time: whatever queued while the last batch was on its way
/// goes in the next, up to `PUBLISH_BATCH_LINES`. A busy room costs one
/// round trip to Redis per batch, not per line, and a sender never waits
/// for Redis. A line that reached no one comes back to its sender as
/// `* error:`; one whose fate Redis left open, as `* warning:`
/// (`SharedRooms::publish_batch`). A batch is sent only once the one before
/// it has been answered or given up on, so lines stay in order.
pub async fn publish(
    rooms: Arc<SharedRooms>,
    mut queued: mpsc::Receiver<Outgoing>,
    stopping: CancellationToken,
) {
    let mut batch = Vec::with_capacity(PUBLISH_BATCH_LINES);
    loop {
        tokio::select! {
            () = stopping.cancelled() => {
                // The clients' last `left` notices, queued as they closed.
                while let Ok(outgoing) = queued.try_recv() {
                    batch.push(outgoing);
                }
                if !batch.is_empty() {
                    rooms.publish_batch(&batch).await;
                }
                return;
            }
            taken = queued.recv_many(&mut batch, PUBLISH_BATCH_LINES) => {
                if taken == 0 {
                    return;
                }
            }
        }
        rooms.publish_batch(&batch).await;
        batch.clear();
    }
}
// ANCHOR_END: publish

/// Renews this copy's presence every `rooms.heartbeat_every()` until
/// `stopping` is cancelled.
pub async fn heartbeat(rooms: Arc<SharedRooms>, stopping: CancellationToken) {
    let mut every = tokio::time::interval(rooms.heartbeat_every());
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stopping.cancelled() => return,
            _ = every.tick() => rooms.heartbeat().await,
        }
    }
}
