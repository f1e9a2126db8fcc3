//! Several copies of the chat acting as one, through Redis (`REDIS_URL`).
//! Read this after the lesson: everything above this folder is the chat on
//! one machine, and works without it.
//!
//! What to notice: one process can only use one machine, and when it stops,
//! its chat stops. Production runs several copies behind a load balancer,
//! and then a line said through one copy must reach the clients of all the
//! others. What the copies must agree on lives in Redis; each copy keeps its
//! own clients and their queues, as on one machine:
//! - `rooms.rs`: what lives in Redis (guest numbers, nicks, presence,
//!   history) and every step a client takes, as `SharedRooms`;
//! - `bus.rs`: this copy's one publisher, its one subscription to the
//!   channel every line comes back through, and the heartbeat;
//! - `link.rs`: the connection to Redis, and what a failed call means (a
//!   copy of lesson 4's, kept in step by a test).
//!
//! The client's task (`client.rs`) talks to `chat_rooms::Rooms`, which is
//! the local `RoomRegistry` or this; the registry's methods used only from
//! here sit in their own `impl` block at the end of `rooms.rs`.

pub mod bus;
pub mod link;
pub mod rooms;

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use rooms::SharedRooms;

// ANCHOR: start
/// Joins this copy to the chat shared through the Redis at `url`: the
/// rooms, the bus's subscription (taken before anyone is served, so no line
/// said through this copy is published before it listens), and the
/// publisher, the listener and the heartbeat, which run until `stopping`.
/// The error is one sentence for the startup log.
pub async fn start(
    url: &str,
    instance: String,
    presence_ttl: Duration,
    stopping: &CancellationToken,
) -> Result<(Arc<SharedRooms>, Vec<JoinHandle<()>>), String> {
    let (shared, queued) = SharedRooms::connect(url, instance, presence_ttl).await?;
    let first = bus::subscribe(shared.client()).await?;
    let shared = Arc::new(shared);
    let tasks = vec![
        tokio::spawn(bus::publish(Arc::clone(&shared), queued, stopping.clone())),
        tokio::spawn(bus::listen(Arc::clone(&shared), first, stopping.clone())),
        tokio::spawn(bus::heartbeat(Arc::clone(&shared), stopping.clone())),
    ];
    Ok((shared, tasks))
}
// ANCHOR_END: start
