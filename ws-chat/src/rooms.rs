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
//!   would stall the whole room. Every line, to a room or to one client,
//!   goes through one method that applies this rule: `State::send`.
//! - **Lines are shared, not copied.** A line is built once, as `Utf8Bytes`
//!   (reference-counted), and every member's queue gets a cheap clone.
//!
//! When several copies share the chat through Redis (`shared/`, after the
//! lesson), each copy still has one of these, made with `for_bus`: it holds
//! that copy's clients, and `deliver` fans out what the bus brings with the
//! same `send`. Those methods sit in their own `impl` block at the end.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};

use tracing::{debug, warn};

use crate::outbox::{self, Line};
use crate::protocol;

/// A connected client's number.
pub type ClientId = u64;

/// The room everyone starts in.
pub const LOBBY: &str = "lobby";

/// Lines replayed to whoever joins a room: enough to pick up a conversation,
/// and at most 50 × 4 KiB = 200 KiB per room, shared with every queue.
pub const HISTORY_LINES: usize = 50;

/// What the registry knows about one client.
#[derive(Debug)]
struct Member {
    nick: String,
    room: String,
    /// The client's outgoing queue. The registry holds the only sender, so
    /// removing a member closes its queue, which ends its connection.
    queue: outbox::Sender,
}

#[derive(Debug, Default)]
struct Room {
    /// In the order they joined.
    members: Vec<ClientId>,
    /// The last `HISTORY_LINES` chat lines.
    history: VecDeque<Line>,
}

/// Everything the registry knows, behind its lock.
#[derive(Debug, Default)]
struct State {
    next_client: ClientId,
    next_guest: u64,
    members: HashMap<ClientId, Member>,
    /// Sorted by name, for `/rooms`.
    rooms: BTreeMap<String, Room>,
    nicks: HashMap<String, ClientId>,
    /// Whether this copy tells a room that a slow client it dropped left.
    /// Not when the rooms are shared through Redis: the dropped client's
    /// task then says so to every copy (`SharedRooms::leave`).
    announce_drops: bool,
}

/// Who a line goes to.
#[derive(Debug, Clone, Copy)]
enum To<'a> {
    /// Every member of a room, but `except`.
    Room(&'a str, Option<ClientId>),
    /// One client.
    Member(ClientId),
}

/// The registry, shared by every connection.
#[derive(Debug)]
pub struct RoomRegistry {
    state: Mutex<State>,
}

impl Default for RoomRegistry {
    fn default() -> Self {
        RoomRegistry::new()
    }
}

impl RoomRegistry {
    /// An empty registry: no clients, just an empty lobby.
    pub fn new() -> RoomRegistry {
        RoomRegistry::announcing_drops(true)
    }

    fn announcing_drops(announce_drops: bool) -> RoomRegistry {
        let state = State {
            announce_drops,
            ..State::default()
        };
        RoomRegistry {
            state: Mutex::new(state),
        }
    }

    /// Poisoning means a thread panicked while holding the lock; each change
    /// below leaves the registry consistent at every step that could panic
    /// (none are expected), so carry on.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new client: gives it a `guest-N` nick, puts it in the lobby, welcomes
    /// it, replays the lobby's history to it, and tells the others.
    pub fn join_new(&self, queue: outbox::Sender) -> (ClientId, String) {
        let mut state = self.lock();
        state.next_client += 1;
        let id = state.next_client;
        let nick = loop {
            state.next_guest += 1;
            let nick = format!("guest-{}", state.next_guest);
            if !state.nicks.contains_key(&nick) {
                break nick;
            }
        };
        state.nicks.insert(nick.clone(), id);
        state.members.insert(
            id,
            Member {
                nick: nick.clone(),
                room: LOBBY.to_string(),
                queue,
            },
        );
        state.send(To::Member(id), protocol::welcome(&nick, LOBBY).into());
        state.enter(id, LOBBY);
        state.send(
            To::Room(LOBBY, Some(id)),
            protocol::joined(&nick, LOBBY).into(),
        );
        (id, nick)
    }

    // ANCHOR: say
    /// A chat line from `id` to its room, sender included.
    pub fn say(&self, id: ClientId, text: &str) {
        let mut state = self.lock();
        let Some(member) = state.members.get(&id) else {
            return;
        };
        let room = member.room.clone();
        let line: Line = protocol::chat(&member.nick, text).into();
        if let Some(room) = state.rooms.get_mut(&room) {
            if room.history.len() == HISTORY_LINES {
                room.history.pop_front();
            }
            room.history.push_back(line.clone());
        }
        state.send(To::Room(&room, None), line);
    }
    // ANCHOR_END: say

    /// `/nick NEW`: the room hears `* OLD is now known as NEW`.
    pub fn rename(&self, id: ClientId, new: &str) -> Result<(), String> {
        let mut state = self.lock();
        let Some(member) = state.members.get(&id) else {
            return Ok(());
        };
        if member.nick == new {
            return Err(format!("you are already {new}"));
        }
        if state.nicks.contains_key(new) {
            return Err(format!("the nick {new} is taken"));
        }
        let (old, room) = (member.nick.clone(), member.room.clone());
        state.nicks.remove(&old);
        state.nicks.insert(new.to_string(), id);
        if let Some(member) = state.members.get_mut(&id) {
            member.nick = new.to_string();
        }
        state.send(To::Room(&room, None), protocol::renamed(&old, new).into());
        Ok(())
    }

    /// `/join ROOM`: the old room hears `* NICK left #OLD`, the new one
    /// (joiner included) `* NICK joined #NEW`, and the joiner gets its history.
    pub fn join_room(&self, id: ClientId, room: &str) -> Result<(), String> {
        let mut state = self.lock();
        let Some(member) = state.members.get(&id) else {
            return Ok(());
        };
        if member.room == room {
            return Err(format!("you are already in #{room}"));
        }
        let (nick, old) = (member.nick.clone(), member.room.clone());
        state.leave_room(id, &old);
        state.send(To::Room(&old, None), protocol::left(&nick, &old).into());
        // The old room's notice may have found this client's queue full.
        let Some(member) = state.members.get_mut(&id) else {
            return Ok(());
        };
        member.room = room.to_string();
        state.enter(id, room);
        state.send(To::Room(room, None), protocol::joined(&nick, room).into());
        Ok(())
    }

    /// The answer to `/who`.
    pub fn who(&self, id: ClientId) -> String {
        let state = self.lock();
        let Some(room) = state.members.get(&id).map(|member| member.room.as_str()) else {
            return String::new();
        };
        let mut nicks: Vec<&str> = state.rooms.get(room).map_or_else(Vec::new, |room| {
            room.members
                .iter()
                .filter_map(|member| state.members.get(member))
                .map(|member| member.nick.as_str())
                .collect()
        });
        nicks.sort_unstable();
        protocol::who(room, &nicks)
    }

    /// The answer to `/rooms`.
    pub fn rooms(&self) -> String {
        let state = self.lock();
        let rooms: Vec<(&str, usize)> = state
            .rooms
            .iter()
            .map(|(name, room)| (name.as_str(), room.members.len()))
            .collect();
        protocol::rooms(&rooms)
    }

    /// A line for `id` alone (answers and errors).
    pub fn tell(&self, id: ClientId, line: String) {
        self.lock().send(To::Member(id), line.into());
    }

    /// The client disconnected: its room hears `* NICK left #ROOM`.
    /// Nothing happens if it was already dropped for being slow.
    pub fn leave(&self, id: ClientId) {
        let mut state = self.lock();
        let Some(member) = state.members.remove(&id) else {
            return;
        };
        state.nicks.remove(&member.nick);
        state.leave_room(id, &member.room);
        let left = protocol::left(&member.nick, &member.room).into();
        state.send(To::Room(&member.room, None), left);
    }

    /// The nick and room of a client, for its log lines.
    pub fn describe(&self, id: ClientId) -> Option<(String, String)> {
        self.lock()
            .members
            .get(&id)
            .map(|member| (member.nick.clone(), member.room.clone()))
    }
}

// The registry as the chat shared through Redis uses it (`shared/`, read
// after the lesson): each copy's registry holds only that copy's clients,
// says nothing itself (`SharedRooms` sends the welcome and the notices, round
// the bus), and fans out what the bus brings.
impl RoomRegistry {
    /// The local half of the rooms shared through Redis: who is connected to
    /// *this* copy and where, for the fan-out of lines that come back from
    /// the bus. Nicks, history and the notices live in `SharedRooms`.
    pub fn for_bus() -> RoomRegistry {
        RoomRegistry::announcing_drops(false)
    }

    /// Adds a client named `nick` (already taken, in Redis) to `room`, and
    /// says nothing: `SharedRooms` sends the welcome and the notices.
    pub fn admit(&self, queue: outbox::Sender, nick: &str, room: &str) -> ClientId {
        let mut state = self.lock();
        state.next_client += 1;
        let id = state.next_client;
        state.nicks.insert(nick.to_string(), id);
        let member = Member {
            nick: nick.to_string(),
            room: room.to_string(),
            queue,
        };
        state.members.insert(id, member);
        state.enter(id, room);
        id
    }

    /// A line from the bus for the members of `room` on this copy, but `skip`.
    pub fn deliver(&self, room: &str, skip: Option<ClientId>, line: Line) {
        self.lock().send(To::Room(room, skip), line);
    }

    /// Renames `id` here, and says nothing.
    pub fn set_nick(&self, id: ClientId, new: &str) {
        let mut state = self.lock();
        let Some(member) = state.members.get_mut(&id) else {
            return;
        };
        let old = std::mem::replace(&mut member.nick, new.to_string());
        state.nicks.remove(&old);
        state.nicks.insert(new.to_string(), id);
    }

    /// Moves `id` to `room` here, and says nothing.
    pub fn move_to(&self, id: ClientId, room: &str) {
        let mut state = self.lock();
        let Some(member) = state.members.get_mut(&id) else {
            return;
        };
        let old = std::mem::replace(&mut member.room, room.to_string());
        state.leave_room(id, &old);
        state.enter(id, room);
    }

    /// Forgets `id` here, and says nothing.
    pub fn remove(&self, id: ClientId) {
        let mut state = self.lock();
        if let Some(member) = state.members.remove(&id) {
            state.nicks.remove(&member.nick);
            state.leave_room(id, &member.room);
        }
    }
}

impl State {
    // ANCHOR: send
    /// Queues `line` for `to`, and never waits. A client whose queue is full
    /// is not reading: it is dropped (its queue closes, which ends its
    /// connection with 1008) and its room hears that it left. That notice may
    /// find more full queues; they go too, one after another, not by
    /// recursion, so a whole room of stalled clients cannot overflow the stack.
    fn send(&mut self, to: To<'_>, line: Line) {
        let mut slow = self.offer(to, &line);
        while let Some(id) = slow.pop() {
            // A client can be found full twice before it is dropped.
            let Some(member) = self.members.remove(&id) else {
                continue;
            };
            warn!(nick = %member.nick, room = %member.room, "dropping a client that is not reading: its queue is full");
            self.nicks.remove(&member.nick);
            self.leave_room(id, &member.room);
            if self.announce_drops {
                let left: Line = protocol::left(&member.nick, &member.room).into();
                slow.extend(self.offer(To::Room(&member.room, None), &left));
            }
            debug!(clients = self.members.len(), "clients still connected");
        }
    }

    /// `try_send` to each recipient (a shared, reference-counted copy of the
    /// line); returns those whose queue was full.
    fn offer(&self, to: To<'_>, line: &Line) -> Vec<ClientId> {
        let (ids, except) = match to {
            To::Member(ref id) => (std::slice::from_ref(id), None),
            To::Room(room, except) => match self.rooms.get(room) {
                Some(room) => (room.members.as_slice(), except),
                None => return Vec::new(),
            },
        };
        ids.iter()
            .filter(|id| Some(**id) != except)
            .filter(|id| {
                self.members
                    .get(id)
                    .is_some_and(|member| member.queue.try_send(line.clone()).is_err())
            })
            .copied()
            .collect()
    }
    // ANCHOR_END: send

    /// Adds `id` to `room` (creating it) and replays the room's history to it.
    fn enter(&mut self, id: ClientId, room: &str) {
        let room = self.rooms.entry(room.to_string()).or_default();
        room.members.push(id);
        if let Some(member) = self.members.get(&id) {
            // History is a courtesy, not fan-out: lines that do not fit the
            // queue are skipped. The newcomer has not had a chance to read
            // yet, so a full queue says nothing about it.
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
}
