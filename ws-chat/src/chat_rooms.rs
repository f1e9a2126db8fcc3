//! The rooms a client talks to: this process's own, or shared with other
//! copies through Redis. A client's task (`client.rs`) does not know which.
//!
//! What to notice: one enum, two versions, the same steps. The local
//! version never waits and never fails, so its arms just call
//! `RoomRegistry` and answer `Ok`. The shared version asks Redis, so every
//! step is `async` and can fail; the failure is the reason for the client's
//! `* error:` line. An enum rather than a trait object: there are exactly
//! two versions, `match` shows both at each step, and `async fn` in a trait
//! used through `dyn` would need boxing.

use std::sync::Arc;

use crate::outbox;
use crate::rooms::{ClientId, RoomRegistry};
use crate::shared::SharedRooms;

/// Where rooms live.
#[derive(Debug)]
pub enum Rooms {
    /// In this process (no `REDIS_URL`).
    Local(RoomRegistry),
    /// In the Redis that `REDIS_URL` names, shared by every copy
    /// (`shared/`, read after the lesson).
    Shared(Arc<SharedRooms>),
}

impl Rooms {
    /// A new client: its `guest-N` nick, in the lobby, welcomed.
    pub async fn join_new(&self, queue: outbox::Sender) -> Result<(ClientId, String), String> {
        match self {
            Rooms::Local(registry) => Ok(registry.join_new(queue)),
            Rooms::Shared(shared) => shared.join_new(queue).await,
        }
    }

    /// A chat line from `id` to its room, sender included.
    pub async fn say(&self, id: ClientId, text: &str) -> Result<(), String> {
        match self {
            Rooms::Local(registry) => {
                registry.say(id, text);
                Ok(())
            }
            Rooms::Shared(shared) => shared.say(id, text),
        }
    }

    /// `/nick NEW`.
    pub async fn rename(&self, id: ClientId, new: &str) -> Result<(), String> {
        match self {
            Rooms::Local(registry) => registry.rename(id, new),
            Rooms::Shared(shared) => shared.rename(id, new).await,
        }
    }

    /// `/join ROOM`.
    pub async fn join_room(&self, id: ClientId, room: &str) -> Result<(), String> {
        match self {
            Rooms::Local(registry) => registry.join_room(id, room),
            Rooms::Shared(shared) => shared.join_room(id, room).await,
        }
    }

    /// The answer to `/who`.
    pub async fn who(&self, id: ClientId) -> Result<String, String> {
        match self {
            Rooms::Local(registry) => Ok(registry.who(id)),
            Rooms::Shared(shared) => shared.who(id).await,
        }
    }

    /// The answer to `/rooms`.
    pub async fn rooms(&self) -> Result<String, String> {
        match self {
            Rooms::Local(registry) => Ok(registry.rooms()),
            Rooms::Shared(shared) => shared.rooms().await,
        }
    }

    /// A line for `id` alone (answers and errors).
    pub fn tell(&self, id: ClientId, line: String) {
        match self {
            Rooms::Local(registry) => registry.tell(id, line),
            Rooms::Shared(shared) => shared.tell(id, line),
        }
    }

    /// The client disconnected: its room hears that it left.
    pub async fn leave(&self, id: ClientId) {
        match self {
            Rooms::Local(registry) => registry.leave(id),
            Rooms::Shared(shared) => shared.leave(id).await,
        }
    }

    /// The nick and room of a client, for its log lines.
    pub fn describe(&self, id: ClientId) -> Option<(String, String)> {
        match self {
            Rooms::Local(registry) => registry.describe(id),
            Rooms::Shared(shared) => shared.describe(id),
        }
    }
}
