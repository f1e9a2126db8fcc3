//! The room registry: who is connected, in which room, under which nick,
//! and the fan-out of every line to a room.
//!
//! What to notice:
//! - **One owner of the state, behind one lock.** Every change (join, leave,
//!   rename, say) is a few steps that must happen together: a `/nick` checks
//!   the name is free *and* takes it. A std `Mutex` makes each change atomic.
//!   It is never held across an `.await` (nothing here is async), so a task
//!   never sleeps while holding it, and the std lock is simpler and faster
//!   than tokio's. (An actor task owning the state would work too; the lock
//!   is fewer moving parts for state this small.)
//! - **Fan-out never waits.** Each client has a *bounded* queue, and a line
//!   goes to every member with `try_send`, which never blocks. A client whose
//!   queue is full is not reading: it is dropped, and nobody else waits for
//!   it. With `send().await` instead, one stalled phone on a bad network
//!   would stall the whole room.
//! - **Lines are shared, not copied.** A line is built once, as `Utf8Bytes`
//!   (reference-counted), and every member's queue gets a cheap clone.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tracing::{info, warn};

use crate::protocol;

/// One line of text, ready to be sent as a text frame to any number of clients.
pub type Line = Utf8Bytes;

/// A connected client's number.
pub type ClientId = u64;

/// The room everyone starts in.
pub const LOBBY: &str = "lobby";

/// Lines replayed to whoever joins a room.
pub const HISTORY_LINES: usize = 50;

/// What the registry knows about one client.
#[derive(Debug)]
struct Member {
    nick: String,
    room: String,
    /// The client's outgoing queue. The registry holds the only sender, so
    /// removing a member closes its queue, which ends its connection.
    queue: mpsc::Sender<Line>,
}

#[derive(Debug, Default)]
struct Room {
    /// In the order they joined.
    members: Vec<ClientId>,
    /// The last `HISTORY_LINES` chat lines.
    history: VecDeque<Line>,
}

#[derive(Debug, Default)]
struct Registry {
    next_client: ClientId,
    next_guest: u64,
    members: HashMap<ClientId, Member>,
    /// Sorted by name, for `/rooms`.
    rooms: BTreeMap<String, Room>,
    nicks: HashMap<String, ClientId>,
}

/// The registry, shared by every connection.
#[derive(Debug, Default)]
pub struct RoomRegistry {
    inner: Mutex<Registry>,
}

impl RoomRegistry {
    /// An empty registry: no clients, just an empty lobby.
    pub fn new() -> RoomRegistry {
        RoomRegistry::default()
    }

    /// Poisoning means a thread panicked while holding the lock; each change
    /// below leaves the registry consistent at every step that could panic
    /// (none are expected), so carry on.
    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    // ANCHOR: join_new
    /// A new client: gives it a `guest-N` nick, puts it in the lobby, welcomes
    /// it, replays the lobby's history to it, and tells the others.
    pub fn join_new(&self, queue: mpsc::Sender<Line>) -> (ClientId, String) {
        let mut registry = self.lock();
        registry.next_client += 1;
        let id = registry.next_client;
        let nick = loop {
            registry.next_guest += 1;
            let nick = format!("guest-{}", registry.next_guest);
            if !registry.nicks.contains_key(&nick) {
                break nick;
            }
        };
        let _ = queue.try_send(protocol::welcome(&nick, LOBBY).into());
        registry.nicks.insert(nick.clone(), id);
        registry.members.insert(
            id,
            Member {
                nick: nick.clone(),
                room: LOBBY.to_string(),
                queue,
            },
        );
        registry.enter(id, LOBBY);
        let slow = registry.send_to_room(LOBBY, protocol::joined(&nick, LOBBY).into(), Some(id));
        registry.drop_slow(slow);
        (id, nick)
    }
    // ANCHOR_END: join_new

    // ANCHOR: say
    /// A chat line from `id` to its room, sender included.
    pub fn say(&self, id: ClientId, text: &str) {
        let mut registry = self.lock();
        let Some(member) = registry.members.get(&id) else {
            return;
        };
        let room = member.room.clone();
        let line: Line = protocol::chat(&member.nick, text).into();
        if let Some(room) = registry.rooms.get_mut(&room) {
            if room.history.len() == HISTORY_LINES {
                room.history.pop_front();
            }
            room.history.push_back(line.clone());
        }
        let slow = registry.send_to_room(&room, line, None);
        registry.drop_slow(slow);
    }
    // ANCHOR_END: say

    /// `/nick NEW`: the room hears `* OLD is now known as NEW`.
    pub fn rename(&self, id: ClientId, new: &str) -> Result<(), String> {
        let mut registry = self.lock();
        let Some(member) = registry.members.get(&id) else {
            return Ok(());
        };
        if member.nick == new {
            return Err(format!("you are already {new}"));
        }
        if registry.nicks.contains_key(new) {
            return Err(format!("the nick {new} is taken"));
        }
        let (old, room) = (member.nick.clone(), member.room.clone());
        registry.nicks.remove(&old);
        registry.nicks.insert(new.to_string(), id);
        if let Some(member) = registry.members.get_mut(&id) {
            member.nick = new.to_string();
        }
        let slow = registry.send_to_room(&room, protocol::renamed(&old, new).into(), None);
        registry.drop_slow(slow);
        Ok(())
    }

    /// `/join ROOM`: the old room hears `* NICK left #OLD`, the new one
    /// (joiner included) `* NICK joined #NEW`, and the joiner gets its history.
    pub fn join_room(&self, id: ClientId, room: &str) -> Result<(), String> {
        let mut registry = self.lock();
        let Some(member) = registry.members.get(&id) else {
            return Ok(());
        };
        if member.room == room {
            return Err(format!("you are already in #{room}"));
        }
        let (nick, old) = (member.nick.clone(), member.room.clone());
        registry.leave_room(id, &old);
        let mut slow = registry.send_to_room(&old, protocol::left(&nick, &old).into(), None);
        if let Some(member) = registry.members.get_mut(&id) {
            member.room = room.to_string();
        }
        registry.enter(id, room);
        slow.extend(registry.send_to_room(room, protocol::joined(&nick, room).into(), None));
        registry.drop_slow(slow);
        Ok(())
    }

    /// The answer to `/who`.
    pub fn who(&self, id: ClientId) -> String {
        let registry = self.lock();
        let Some(room) = registry.members.get(&id).map(|member| member.room.as_str()) else {
            return String::new();
        };
        let mut nicks: Vec<&str> = registry.rooms.get(room).map_or_else(Vec::new, |room| {
            room.members
                .iter()
                .filter_map(|member| registry.members.get(member))
                .map(|member| member.nick.as_str())
                .collect()
        });
        nicks.sort_unstable();
        protocol::who(room, &nicks)
    }

    /// The answer to `/rooms`.
    pub fn rooms(&self) -> String {
        let registry = self.lock();
        let rooms: Vec<(&str, usize)> = registry
            .rooms
            .iter()
            .map(|(name, room)| (name.as_str(), room.members.len()))
            .collect();
        protocol::rooms(&rooms)
    }

    /// A line for `id` alone (answers and errors).
    pub fn tell(&self, id: ClientId, line: String) {
        let mut registry = self.lock();
        let full = registry.members.get(&id).is_some_and(|member| {
            matches!(
                member.queue.try_send(line.into()),
                Err(TrySendError::Full(_))
            )
        });
        if full {
            registry.drop_slow(vec![id]);
        }
    }

    /// The client disconnected: its room hears `* NICK left #ROOM`.
    /// Nothing happens if it was already dropped for being slow.
    pub fn leave(&self, id: ClientId) {
        let mut registry = self.lock();
        let Some(member) = registry.members.remove(&id) else {
            return;
        };
        registry.nicks.remove(&member.nick);
        registry.leave_room(id, &member.room);
        let slow = registry.send_to_room(
            &member.room,
            protocol::left(&member.nick, &member.room).into(),
            None,
        );
        registry.drop_slow(slow);
    }

    /// How many clients are connected.
    pub fn client_count(&self) -> usize {
        self.lock().members.len()
    }

    /// The nick and room of a client, for its log lines.
    pub fn describe(&self, id: ClientId) -> Option<(String, String)> {
        self.lock()
            .members
            .get(&id)
            .map(|member| (member.nick.clone(), member.room.clone()))
    }
}

impl Registry {
    /// Adds `id` to `room` (creating it) and replays the room's history to it.
    fn enter(&mut self, id: ClientId, room: &str) {
        let room = self.rooms.entry(room.to_string()).or_default();
        room.members.push(id);
        if let Some(member) = self.members.get(&id) {
            for line in &room.history {
                let _ = member.queue.try_send(line.clone());
            }
        }
    }

    /// Removes `id` from `room`; an empty room (other than the lobby) goes.
    fn leave_room(&mut self, id: ClientId, room: &str) {
        if let Some(members) = self.rooms.get_mut(room).map(|room| &mut room.members) {
            members.retain(|member| *member != id);
            if members.is_empty() && room != LOBBY {
                self.rooms.remove(room);
            }
        }
    }

    // ANCHOR: send_to_room
    /// Queues `line` for every member of `room` (but `except`), and returns
    /// the members whose queue was full.
    fn send_to_room(&self, room: &str, line: Line, except: Option<ClientId>) -> Vec<ClientId> {
        let Some(room) = self.rooms.get(room) else {
            return Vec::new();
        };
        let mut slow = Vec::new();
        for id in room.members.iter().filter(|id| Some(**id) != except) {
            if let Some(member) = self.members.get(id) {
                if let Err(TrySendError::Full(_)) = member.queue.try_send(line.clone()) {
                    slow.push(*id);
                }
            }
        }
        slow
    }

    /// Drops clients that stopped reading: their queue closes, which closes
    /// their connection (1008), and their room hears that they left. That
    /// announcement may find more slow clients; they go too.
    fn drop_slow(&mut self, mut slow: Vec<ClientId>) {
        if slow.is_empty() {
            return;
        }
        while let Some(id) = slow.pop() {
            let Some(member) = self.members.remove(&id) else {
                continue;
            };
            warn!(nick = %member.nick, room = %member.room, "dropping a client that is not reading: its queue is full");
            self.nicks.remove(&member.nick);
            self.leave_room(id, &member.room);
            slow.extend(self.send_to_room(
                &member.room,
                protocol::left(&member.nick, &member.room).into(),
                None,
            ));
        }
        info!(clients = self.members.len(), "clients still connected");
    }
    // ANCHOR_END: send_to_room
}
