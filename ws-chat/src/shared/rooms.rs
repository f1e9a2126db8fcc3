//! The rooms shared through Redis, so that several copies of the chat act as
//! one: guest numbers, nicks, presence, history, and every room's lines.
//!
//! What to notice:
//! - **What must not interleave runs inside Redis.** A guest number is one
//!   `INCR`, so no two copies give out the same one; a nick is taken by a
//!   script that sets it only if nobody else holds it, so two copies racing
//!   for `alice` cannot both win. `/nick` and `/join` are one script each,
//!   and this copy changes its own state only once Redis has said yes.
//! - **Every line goes round the bus, the sender's copy included.** `say`
//!   only queues the line for this copy's one publisher (`bus::publish`),
//!   which `PUBLISH`es what is queued, in order, a batch at a time; each
//!   copy's subscriber (`bus::listen`) hands what comes back to its own
//!   `RoomRegistry`, whose `State::send` fans it out exactly as on one
//!   machine. So the echo a sender sees *is* the line coming back from
//!   Redis: when it has arrived, Redis has already sent it to every copy.
//!   One sender's lines and notices arrive in the order sent, because they
//!   all go through that one queue, on one connection, and Redis delivers
//!   one channel's messages in order.
//! - **A copy can vanish without saying goodbye** (SIGKILL, a power cut), so
//!   nothing it wrote may last for ever. Presence is a score: a member's
//!   deadline, pushed forward by this copy's heartbeat every third of
//!   `presence_ttl`. `/who` reads only members whose deadline has not
//!   passed; nick keys expire unless the heartbeat renews them. A copy that
//!   was cut off for longer may find a nick it held taken by another copy's
//!   client: the heartbeat renews only what is still its own, and renames
//!   its client who lost a nick to a fresh guest name, with a notice.
//! - **Redis can go away, hang, or fill up** (`link.rs` says which). A
//!   client hears `* error:` only when its line reached no one: it was never
//!   sent, or Redis refused it (and then says so when Redis is full). A line
//!   sent to a Redis that did not answer in time may still be published when
//!   Redis wakes up, so its sender hears `* warning:` that it may still
//!   arrive; its echo, if it comes, confirms it. A command that fails leaves
//!   the client as it was, and says so ("you are still alice").
//!
//! The keys: `netlessons:chat:guests` (the guest counter),
//! `netlessons:chat:nick:NICK` (who holds a nick), `netlessons:chat:room:ROOM`
//! (a sorted set: nick scored by its presence deadline),
//! `netlessons:chat:rooms` (room scored by its latest deadline),
//! `netlessons:chat:history:ROOM` (a list, the last [`HISTORY_LINES`]), and
//! the channel `netlessons:chat:lines`. Every key expires unless renewed, so
//! what Redis holds is bounded by who is connected now.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use redis::{Client, Script};
use tokio::sync::mpsc;
use tracing::{debug, warn};

use super::link::{Effect, Failure, RedisLink};
use crate::outbox::{self, Line};
use crate::protocol;
use crate::rooms::{ClientId, HISTORY_LINES, LOBBY, RoomRegistry};

/// How long a copy's members stay in `/who` after its last heartbeat: a copy
/// that dies drops out within this. The heartbeat runs three times per
/// period, so one late or lost heartbeat does not make anyone vanish.
pub const PRESENCE_TTL: Duration = Duration::from_secs(15);

/// Lines and notices waiting for this copy's publisher: 1024 × 4 KiB is at
/// most 4 MiB. Redis takes tens of thousands a second, so the queue fills
/// only when Redis is slow or away; a line that finds it full is refused
/// with `* error:` at once, and its sender never waits.
pub const PUBLISH_QUEUE_LINES: usize = 1024;

/// Lines the publisher sends in one pipeline: one round trip to Redis for
/// up to 128 lines, and each copy's subscriber then gets them as a burst,
/// which its clients' queues take as one batch.
pub const PUBLISH_BATCH_LINES: usize = 128;

/// Guest numbers tried before giving up: each try that finds `guest-N`
/// taken (someone chose that nick) takes the next number.
const GUEST_TRIES: usize = 100;

/// The channel every copy publishes to and subscribes to. One channel for
/// the whole chat: one subscription per copy, and one order for everything.
pub const CHANNEL: &str = "netlessons:chat:lines";
const GUESTS: &str = "netlessons:chat:guests";
const ROOMS: &str = "netlessons:chat:rooms";
const ROOM_PREFIX: &str = "netlessons:chat:room:";

fn nick_key(nick: &str) -> String {
    format!("netlessons:chat:nick:{nick}")
}

fn room_key(room: &str) -> String {
    format!("{ROOM_PREFIX}{room}")
}

fn history_key(room: &str) -> String {
    format!("netlessons:chat:history:{room}")
}

// ANCHOR: scripts
/// Takes a nick for its owner if nobody else holds it. A nick its owner
/// already holds is taken again: a retry after an unknown outcome finds its
/// own key. KEYS: the nick key. ARGV: owner, ttl (ms). Returns 1 if taken.
const TAKE_NICK: &str = r"
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
";

/// `/nick`, in one step: if nobody else holds the new nick, puts it in
/// `/who`, takes it as `TAKE_NICK` does, and frees the old nick if it is
/// still ours (and its place in `/who` if it is ours or nobody's). The first
/// write is one that needs memory, so a Redis that refuses it (full, or not
/// allowed) has done nothing. KEYS: new nick, old nick, room, rooms,
/// history. ARGV: owner, ttl (ms), deadline (ms), old nick, new nick, room.
/// Returns 1, or 0 if someone else holds the new nick.
const RENAME: &str = r"
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[5])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[6])
local old = redis.call('GET', KEYS[2])
if old == ARGV[1] or not old then redis.call('ZREM', KEYS[3], ARGV[4]) end
redis.call('PEXPIRE', KEYS[3], ARGV[2])
redis.call('PEXPIRE', KEYS[5], ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if old == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
";

/// The heartbeat: renews each member's nick and presence, but only a nick
/// that is still its own (or nobody's: a restarted Redis forgot it). ARGV:
/// ttl (ms), deadline (ms), then per member: nick key, owner, room key,
/// nick. Returns the owners whose nick someone else holds now.
const RENEW: &str = r"
local lost = {}
for i = 3, #ARGV, 4 do
  local holder = redis.call('GET', ARGV[i])
  if holder and holder ~= ARGV[i + 1] then
    lost[#lost + 1] = ARGV[i + 1]
  else
    redis.call('SET', ARGV[i], ARGV[i + 1], 'PX', ARGV[1])
    redis.call('ZADD', ARGV[i + 2], ARGV[2], ARGV[i + 3])
  end
end
return lost
";
// ANCHOR_END: scripts

/// `/join`, in one step: moves a member's presence to another room (out of
/// the old one only while the nick is still its own), and reads the new
/// room's history. The first write needs memory, as in `RENAME`. KEYS: nick, old room, new room, rooms, new history.
/// ARGV: owner, nick, deadline (ms), ttl (ms), new room.
const JOIN: &str = r"
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[5])
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] or not holder then redis.call('ZREM', KEYS[2], ARGV[2]) end
redis.call('PEXPIRE', KEYS[3], ARGV[4])
redis.call('PEXPIRE', KEYS[5], ARGV[4])
return redis.call('LRANGE', KEYS[5], 0, -1)
";

/// A member leaves: its nick is freed and its place in `/who` too, but only
/// if the nick is still its own (else both belong to someone else now).
/// KEYS: nick, room. ARGV: owner, nick.
const LEAVE: &str = r"
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
if holder then redis.call('DEL', KEYS[1]) end
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
";

/// Publishes a batch in one step: its chat lines into their rooms' history
/// first (so a full Redis refuses the batch before anything is published),
/// then the whole batch as one message on the channel. KEYS: the history of
/// each room with chat lines in the batch. ARGV: the channel, the message,
/// history ttl (ms), lines kept; then, for each KEYS[i], how many lines,
/// and the lines.
const PUBLISH: &str = r"
local at = 5
for _, history in ipairs(KEYS) do
  local lines = tonumber(ARGV[at])
  redis.call('RPUSH', history, unpack(ARGV, at + 1, at + lines))
  redis.call('LTRIM', history, -tonumber(ARGV[4]), -1)
  redis.call('PEXPIRE', history, ARGV[3])
  at = at + lines + 1
end
return redis.call('PUBLISH', ARGV[1], ARGV[2])
";

/// `/rooms`: each live room and how many members are present in it.
/// KEYS: the rooms set. ARGV: now (ms), the room key prefix. (It reads keys
/// it was not given, which a single Redis allows; Redis Cluster would not.)
const COUNT_ROOMS: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local counts = {}
for _, room in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local present = redis.call('ZCOUNT', ARGV[2] .. room, ARGV[1], '+inf')
  if present > 0 then
    counts[#counts + 1] = room
    counts[#counts + 1] = present
  end
end
return counts
";

/// What a client is told about a step of its own that failed: what the
/// failure means for it. Each caller adds what stays as it was.
fn trouble(failure: Failure) -> &'static str {
    match failure {
        Failure::NotSent => "the chat cannot reach Redis just now",
        Failure::Refused => "the chat's Redis refused it",
        Failure::OutOfMemory => "the chat's store (Redis) is full",
        Failure::Unknown => "Redis did not answer in time",
    }
}

/// A line or notice on its way to the bus.
#[derive(Debug)]
pub struct Outgoing {
    /// Who caused it: told if it cannot be published.
    from: ClientId,
    room: String,
    /// Its entry in the batch's bus message (`SharedRooms::bus_message`).
    message: String,
    /// What it says, for the room or (if it fails) for `from`.
    text: String,
    /// A chat line, kept in the room's history (notices are not).
    keep: bool,
}

/// What this copy has told Redis about one of its clients.
#[derive(Debug, Clone)]
struct Presence {
    nick: String,
    room: String,
}

/// The rooms of every copy that names the same Redis.
pub struct SharedRooms {
    /// This copy's clients and their queues: the fan-out of what the bus
    /// brings, with the same never-wait rule as on one machine.
    local: RoomRegistry,
    /// The connection every step shares (`link.rs`).
    link: RedisLink,
    /// `INSTANCE_NAME`, for the welcome line.
    instance: String,
    /// The instance name made unique (with the start time), so that two
    /// copies given the same name still tell their clients apart.
    copy: String,
    presence_ttl: Duration,
    /// This copy's clients as Redis knows them: what the heartbeat renews,
    /// and what `leave` takes back (also for a client the local registry
    /// already dropped for being slow). A std `Mutex`, never held across an
    /// `.await`.
    members: Mutex<HashMap<ClientId, Presence>>,
    take_nick: Script,
    rename: Script,
    renew: Script,
    join: Script,
    leave: Script,
    count_rooms: Script,
    publish: Script,
    /// The publisher's queue (`bus::publish` takes from it).
    outgoing: mpsc::Sender<Outgoing>,
}

impl SharedRooms {
    /// Connects to `url`; also returns the publisher's queue, for
    /// `bus::publish`. The error is one sentence for the startup log.
    pub async fn connect(
        url: &str,
        instance: String,
        presence_ttl: Duration,
    ) -> Result<(SharedRooms, mpsc::Receiver<Outgoing>), String> {
        let link = RedisLink::connect(url).await?;
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let (outgoing, queued) = mpsc::channel(PUBLISH_QUEUE_LINES);
        let rooms = SharedRooms {
            local: RoomRegistry::for_bus(),
            link,
            copy: format!("{instance}~{started}"),
            instance,
            presence_ttl,
            members: Mutex::new(HashMap::new()),
            take_nick: Script::new(TAKE_NICK),
            rename: Script::new(RENAME),
            renew: Script::new(RENEW),
            join: Script::new(JOIN),
            leave: Script::new(LEAVE),
            count_rooms: Script::new(COUNT_ROOMS),
            publish: Script::new(PUBLISH),
            outgoing,
        };
        Ok((rooms, queued))
    }

    /// The Redis client, for the bus's own connection (a subscribed
    /// connection can do nothing else).
    pub fn client(&self) -> &Client {
        self.link.client()
    }

    fn members(&self) -> MutexGuard<'_, HashMap<ClientId, Presence>> {
        self.members.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn presence(&self, id: ClientId) -> Option<Presence> {
        self.members().get(&id).cloned()
    }

    /// Who holds a nick taken by client `id` of this copy.
    fn owner(&self, id: ClientId) -> String {
        format!("{}#{id}", self.copy)
    }

    /// The client an owner token names, if it is one of this copy's.
    fn owned_by(&self, owner: &str) -> Option<ClientId> {
        let (copy, id) = owner.rsplit_once('#')?;
        if copy != self.copy {
            return None;
        }
        id.parse().ok()
    }

    fn ttl_ms(&self) -> u64 {
        self.presence_ttl.as_millis() as u64
    }

    /// A presence deadline, in milliseconds since 1970, as the sorted sets
    /// score members. The copies' clocks must agree to well within
    /// `presence_ttl` (NTP keeps them within milliseconds).
    fn deadline(&self) -> u64 {
        now_ms().saturating_add(self.ttl_ms())
    }

    /// An entry of a bus message: `ROOM SKIP LINE`, where SKIP is the client
    /// that must not get it (`COPY#ID`) or `-`. Rooms and copy names hold
    /// no spaces, and no part holds a line break.
    fn bus_message(&self, room: &str, skip: Option<ClientId>, line: &str) -> String {
        match skip {
            Some(id) => format!("{room} {} {line}", self.owner(id)),
            None => format!("{room} - {line}"),
        }
    }

    /// Queues a line or notice for the bus, without waiting.
    fn enqueue(
        &self,
        from: ClientId,
        room: &str,
        skip: Option<ClientId>,
        text: String,
        keep: bool,
    ) -> Result<(), String> {
        let outgoing = Outgoing {
            from,
            room: room.to_string(),
            message: self.bus_message(room, skip, &text),
            text,
            keep,
        };
        self.outgoing.try_send(outgoing).map_err(|_| {
            "too many lines are waiting for Redis, so this one was not sent; try again in a moment"
                .to_string()
        })
    }

    // ANCHOR: publish_batch
    /// Publishes a batch, in order, in one step (one script: Redis runs all
    /// of it or, refusing, none): chat lines go to their room's history,
    /// and the batch goes on the channel as *one* message, its lines one per
    /// line (a chat line never holds a line break), so Redis and each copy
    /// handle one message per batch, not one per line. If it fails, each
    /// sender is told what became of its line: not sent, or (no answer in
    /// time) it may still arrive.
    pub async fn publish_batch(&self, batch: &[Outgoing]) {
        let message: Vec<&str> = batch.iter().map(|out| out.message.as_str()).collect();
        let mut histories: Vec<(&str, Vec<&str>)> = Vec::new();
        for outgoing in batch.iter().filter(|outgoing| outgoing.keep) {
            match histories
                .iter_mut()
                .find(|(room, _)| *room == outgoing.room)
            {
                Some((_, lines)) => lines.push(&outgoing.text),
                None => histories.push((&outgoing.room, vec![&outgoing.text])),
            }
        }
        let mut invocation = self.publish.arg(CHANNEL);
        invocation
            .arg(message.join("\n"))
            .arg(self.ttl_ms())
            .arg(HISTORY_LINES);
        for (room, lines) in &histories {
            invocation
                .key(history_key(room))
                .arg(lines.len())
                .arg(lines);
        }
        let published = self
            .link
            .call(Effect::Stores, |mut redis| async move {
                invocation.invoke_async::<i64>(&mut redis).await
            })
            .await;
        if let Err(failure) = published {
            for outgoing in batch {
                self.local
                    .tell(outgoing.from, unpublished(failure, outgoing));
            }
        }
    }
    // ANCHOR_END: publish_batch

    // ANCHOR: deliver
    /// What the bus brought, one batch: each of its lines to this copy's
    /// members of its room, through the same never-wait fan-out as on one
    /// machine. The lines are slices of the one message (no copy each).
    pub fn deliver(&self, message: String) {
        let message = Line::from(message);
        let bytes: &Bytes = message.as_ref();
        let mut start = 0;
        for entry in message.split('\n') {
            let end = start + entry.len();
            let parts = entry
                .split_once(' ')
                .and_then(|(room, rest)| Some((room, rest.split_once(' ')?)));
            match parts {
                Some((room, (skip, line))) => {
                    let line = Line::try_from(bytes.slice(end - line.len()..end));
                    match line {
                        Ok(line) => self.local.deliver(room, self.owned_by(skip), line),
                        Err(_) => warn!("ignoring a line on the bus that is not UTF-8"),
                    }
                }
                None => warn!(entry, "ignoring a malformed entry on the bus"),
            }
            start = end + 1;
        }
    }
    // ANCHOR_END: deliver

    /// The next free `guest-N` across all copies, taken for `owner`; `None`
    /// if [`GUEST_TRIES`] numbers in a row were taken.
    async fn fresh_guest(&self, owner: &str) -> Result<Option<String>, Failure> {
        for _ in 0..GUEST_TRIES {
            let number: u64 = self
                .link
                .call(Effect::Stores, |mut redis| async move {
                    redis::cmd("INCR").arg(GUESTS).query_async(&mut redis).await
                })
                .await?;
            let candidate = format!("guest-{number}");
            if self.take_nick(&candidate, owner).await? {
                return Ok(Some(candidate));
            }
        }
        Ok(None)
    }

    /// Takes `nick` for `owner` if nobody else holds it.
    async fn take_nick(&self, nick: &str, owner: &str) -> Result<bool, Failure> {
        let mut invocation = self.take_nick.key(nick_key(nick));
        invocation.arg(owner).arg(self.ttl_ms());
        let taken: i64 = self
            .link
            .call(Effect::Stores, |mut redis| async move {
                invocation.invoke_async(&mut redis).await
            })
            .await?;
        Ok(taken == 1)
    }

    /// A new client: takes the next free `guest-N` across all copies, puts
    /// it in the lobby, welcomes it (naming this copy), replays the lobby's
    /// history to it, and tells the others.
    pub async fn join_new(&self, queue: outbox::Sender) -> Result<(ClientId, String), String> {
        // The owner token needs the id, the id needs the registry: reserve
        // the nick under a token for this copy, then admit.
        let holder = format!("{}#new", self.copy);
        let nick = self
            .fresh_guest(&holder)
            .await
            .map_err(|failure| format!("{}; try again in a moment", trouble(failure)))?
            .ok_or("no free guest number; try again")?;
        let id = self.local.admit(queue, &nick, LOBBY);
        self.members().insert(
            id,
            Presence {
                nick: nick.clone(),
                room: LOBBY.to_string(),
            },
        );
        let welcome = protocol::welcome_on(&nick, LOBBY, &self.instance);
        self.local.tell(id, welcome);
        let mut pipe = redis::pipe();
        pipe.atomic();
        pipe.cmd("SET")
            .arg(nick_key(&nick))
            .arg(self.owner(id))
            .arg("PX")
            .arg(self.ttl_ms())
            .ignore();
        self.add_presence(&mut pipe, &nick, LOBBY);
        pipe.cmd("LRANGE").arg(history_key(LOBBY)).arg(0).arg(-1);
        let joined = self
            .link
            .call(Effect::Stores, |mut redis| async move {
                pipe.query_async::<(Vec<String>,)>(&mut redis).await
            })
            .await;
        let (history,) = match joined {
            Ok(history) => history,
            Err(failure) => {
                self.leave(id).await;
                return Err(format!("{}; try again in a moment", trouble(failure)));
            }
        };
        for line in history {
            self.local.tell(id, line);
        }
        let joined = protocol::joined(&nick, LOBBY);
        // Only a full queue refuses a notice; the client is in all the same.
        let _ = self.enqueue(id, LOBBY, Some(id), joined, false);
        Ok((id, nick))
    }

    /// Adds `nick`'s presence in `room` to `pipe`.
    fn add_presence(&self, pipe: &mut redis::Pipeline, nick: &str, room: &str) {
        pipe.cmd("ZADD")
            .arg(room_key(room))
            .arg(self.deadline())
            .arg(nick)
            .ignore();
        self.keep_room(pipe, room);
    }

    /// Adds "`room` is live" to `pipe`: listed by `/rooms`, and its keys
    /// kept for another `presence_ttl`. A room nobody renews (everyone
    /// left, or their copies died) goes with its history, as a room does on
    /// one machine when its last member leaves, so Redis holds only rooms
    /// someone is in.
    fn keep_room(&self, pipe: &mut redis::Pipeline, room: &str) {
        pipe.cmd("ZADD")
            .arg(ROOMS)
            .arg(self.deadline())
            .arg(room)
            .ignore();
        pipe.cmd("PEXPIRE")
            .arg(room_key(room))
            .arg(self.ttl_ms())
            .ignore();
        pipe.cmd("PEXPIRE")
            .arg(history_key(room))
            .arg(self.ttl_ms())
            .ignore();
    }

    // ANCHOR: say
    /// A chat line from `id` to its room, queued for the bus. Nobody sees
    /// it, the sender included, until it comes back from the bus.
    pub fn say(&self, id: ClientId, text: &str) -> Result<(), String> {
        let Some(Presence { nick, room }) = self.presence(id) else {
            return Ok(());
        };
        self.enqueue(id, &room, None, protocol::chat(&nick, text), true)
    }
    // ANCHOR_END: say

    // ANCHOR: rename
    /// `/nick NEW`: one script in Redis (the new nick taken only if nobody
    /// else holds it, the old one freed, the presence moved); this copy's
    /// state changes only after Redis has said yes.
    pub async fn rename(&self, id: ClientId, new: &str) -> Result<(), String> {
        let Some(Presence { nick: old, room }) = self.presence(id) else {
            return Ok(());
        };
        if old == new {
            return Err(format!("you are already {new}"));
        }
        let mut invocation = self.rename.key(nick_key(new));
        invocation
            .key(nick_key(&old))
            .key(room_key(&room))
            .key(ROOMS)
            .key(history_key(&room));
        invocation
            .arg(self.owner(id))
            .arg(self.ttl_ms())
            .arg(self.deadline())
            .arg(&old)
            .arg(new)
            .arg(&room);
        let renamed: i64 = self
            .link
            .call(Effect::Stores, |mut redis| async move {
                invocation.invoke_async(&mut redis).await
            })
            .await
            .map_err(|failure| format!("{}; you are still {old}", trouble(failure)))?;
        if renamed == 0 {
            return Err(format!("the nick {new} is taken"));
        }
        self.local.set_nick(id, new);
        if let Some(presence) = self.members().get_mut(&id) {
            presence.nick = new.to_string();
        }
        let notice = protocol::renamed(&old, new);
        if let Err(why) = self.enqueue(id, &room, None, notice.clone(), false) {
            // Renamed all the same: the client hears it here, the room not.
            debug!(%why, "the rename notice found the publisher's queue full");
            self.local.tell(id, notice);
        }
        Ok(())
    }
    // ANCHOR_END: rename

    /// `/join ROOM`: one script in Redis (the presence moved, the new room's
    /// history read); then the old room hears `* NICK left #OLD`, the joiner
    /// gets the history, and the new room (joiner included) hears
    /// `* NICK joined #NEW`.
    pub async fn join_room(&self, id: ClientId, room: &str) -> Result<(), String> {
        let Some(Presence { nick, room: old }) = self.presence(id) else {
            return Ok(());
        };
        if old == room {
            return Err(format!("you are already in #{room}"));
        }
        let mut invocation = self.join.key(nick_key(&nick));
        invocation
            .key(room_key(&old))
            .key(room_key(room))
            .key(ROOMS)
            .key(history_key(room));
        invocation
            .arg(self.owner(id))
            .arg(&nick)
            .arg(self.deadline())
            .arg(self.ttl_ms())
            .arg(room);
        let history: Vec<String> = self
            .link
            .call(Effect::Stores, |mut redis| async move {
                invocation.invoke_async(&mut redis).await
            })
            .await
            .map_err(|failure| format!("{}; you are still in #{old}", trouble(failure)))?;
        let _ = self.enqueue(id, &old, Some(id), protocol::left(&nick, &old), false);
        self.local.move_to(id, room);
        if let Some(presence) = self.members().get_mut(&id) {
            presence.room = room.to_string();
        }
        for line in history {
            self.local.tell(id, line);
        }
        let notice = protocol::joined(&nick, room);
        if self.enqueue(id, room, None, notice.clone(), false).is_err() {
            self.local.tell(id, notice);
        }
        Ok(())
    }

    /// The answer to `/who`: everyone present in the room, on every copy.
    pub async fn who(&self, id: ClientId) -> Result<String, String> {
        let Some(Presence { room, .. }) = self.presence(id) else {
            return Ok(String::new());
        };
        let key = room_key(&room);
        let mut pipe = redis::pipe();
        pipe.cmd("ZREMRANGEBYSCORE")
            .arg(&key)
            .arg("-inf")
            .arg(now_ms())
            .ignore();
        pipe.cmd("ZRANGE").arg(&key).arg(0).arg(-1);
        let (mut nicks,): (Vec<String>,) = self
            .link
            .call(Effect::ReadsOrFrees, |mut redis| async move {
                pipe.query_async(&mut redis).await
            })
            .await
            .map_err(|failure| format!("{}; try again in a moment", trouble(failure)))?;
        nicks.sort_unstable();
        let nicks: Vec<&str> = nicks.iter().map(String::as_str).collect();
        Ok(protocol::who(&room, &nicks))
    }

    /// The answer to `/rooms`: every room with members, on every copy, and
    /// the lobby even when it is empty (as on one machine).
    pub async fn rooms(&self) -> Result<String, String> {
        let mut invocation = self.count_rooms.key(ROOMS);
        invocation.arg(now_ms()).arg(ROOM_PREFIX);
        let counts: Vec<(String, usize)> = self
            .link
            .call(Effect::ReadsOrFrees, |mut redis| async move {
                invocation.invoke_async(&mut redis).await
            })
            .await
            .map_err(|failure| format!("{}; try again in a moment", trouble(failure)))?;
        let mut rooms: Vec<(&str, usize)> = counts
            .iter()
            .map(|(room, count)| (room.as_str(), *count))
            .collect();
        if !rooms.iter().any(|(room, _)| *room == LOBBY) {
            rooms.push((LOBBY, 0));
        }
        rooms.sort_unstable();
        Ok(protocol::rooms(&rooms))
    }

    /// A line for `id` alone (answers and errors).
    pub fn tell(&self, id: ClientId, line: String) {
        self.local.tell(id, line);
    }

    /// The client disconnected (or was dropped for being slow): its room,
    /// on every copy, hears `* NICK left #ROOM`, and its nick is free. If
    /// Redis is away, its presence and nick expire by themselves.
    pub async fn leave(&self, id: ClientId) {
        self.local.remove(id);
        let Some(Presence { nick, room }) = self.members().remove(&id) else {
            return;
        };
        let _ = self.enqueue(id, &room, None, protocol::left(&nick, &room), false);
        let mut invocation = self.leave.key(nick_key(&nick));
        invocation
            .key(room_key(&room))
            .arg(self.owner(id))
            .arg(&nick);
        let _ = self
            .link
            .call(Effect::ReadsOrFrees, |mut redis| async move {
                invocation.invoke_async::<i64>(&mut redis).await
            })
            .await;
    }

    /// The nick and room of a client, for its log lines.
    pub fn describe(&self, id: ClientId) -> Option<(String, String)> {
        self.presence(id)
            .map(|Presence { nick, room }| (nick, room))
    }

    // ANCHOR: heartbeat
    /// Renews the presence and the nick of every client of this copy, in
    /// one step, but only nicks still their own. Run every third of
    /// `presence_ttl` (`bus.rs`); a copy that stops running it drops out of
    /// `/who` within `presence_ttl`. After a Redis restart (which forgets
    /// everything), this puts them back. A client whose nick someone else
    /// took meanwhile gets a fresh guest name.
    pub async fn heartbeat(&self) {
        let members: Vec<(ClientId, Presence)> = self
            .members()
            .iter()
            .map(|(id, presence)| (*id, presence.clone()))
            .collect();
        if members.is_empty() {
            return;
        }
        let mut invocation = self.renew.arg(self.ttl_ms());
        invocation.arg(self.deadline());
        let mut pipe = redis::pipe();
        let mut rooms = HashSet::new();
        for (id, Presence { nick, room }) in &members {
            invocation
                .arg(nick_key(nick))
                .arg(self.owner(*id))
                .arg(room_key(room))
                .arg(nick);
            if rooms.insert(room.as_str()) {
                self.keep_room(&mut pipe, room);
            }
        }
        let renewed = self
            .link
            .call(Effect::Stores, |mut redis| async move {
                let lost: Vec<String> = invocation.invoke_async(&mut redis).await?;
                pipe.query_async::<()>(&mut redis).await?;
                Ok(lost)
            })
            .await;
        // A failed heartbeat is tried again at the next tick.
        let Ok(lost) = renewed else {
            return;
        };
        for id in lost.iter().filter_map(|owner| self.owned_by(owner)) {
            self.reassign(id).await;
        }
    }
    // ANCHOR_END: heartbeat

    /// Client `id`'s nick belongs to someone else now (it expired while this
    /// copy could not renew it, and a client of another copy took it): a
    /// fresh guest name for it, and a notice to it and to its room. If Redis
    /// fails meanwhile, the next heartbeat tries again.
    async fn reassign(&self, id: ClientId) {
        let Some(Presence { nick: lost, room }) = self.presence(id) else {
            return;
        };
        let Ok(Some(guest)) = self.fresh_guest(&self.owner(id)).await else {
            return;
        };
        warn!(%lost, %guest, "a client's nick was taken by another copy's client; renamed");
        self.local.set_nick(id, &guest);
        if let Some(presence) = self.members().get_mut(&id) {
            presence.nick = guest.clone();
        }
        let mut pipe = redis::pipe();
        self.add_presence(&mut pipe, &guest, &room);
        let _ = self
            .link
            .call(Effect::Stores, |mut redis| async move {
                pipe.query_async::<()>(&mut redis).await
            })
            .await;
        self.local.tell(id, protocol::nick_lost(&lost, &guest));
        let _ = self.enqueue(id, &room, None, protocol::renamed(&lost, &guest), false);
    }

    /// How often [`heartbeat`](SharedRooms::heartbeat) runs.
    pub fn heartbeat_every(&self) -> Duration {
        self.presence_ttl / 3
    }
}

/// What the sender of `outgoing` hears when its batch was not published.
/// A chat line that reached no one is an error; one that may still be
/// published when a hung Redis wakes up is a warning (its echo, if it
/// comes, confirms it). Each quotes the line, so the sender knows which.
fn unpublished(failure: Failure, outgoing: &Outgoing) -> String {
    let text = &outgoing.text;
    let notice = text.strip_prefix("* ").unwrap_or(text);
    match (failure, outgoing.keep) {
        (Failure::Unknown, true) => protocol::warning(&format!(
            "Redis did not answer in time; this line may still arrive (its echo, if it comes, \
             confirms it): {text}"
        )),
        (Failure::Unknown, false) => protocol::warning(&format!(
            "Redis did not answer in time; the room may not hear: {notice}"
        )),
        (failure, true) => protocol::error(&format!(
            "{}, so this line was not sent: {text}",
            trouble(failure)
        )),
        (failure, false) => protocol::error(&format!(
            "{}, so the room was not told: {notice}",
            trouble(failure)
        )),
    }
}

impl std::fmt::Debug for SharedRooms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedRooms")
            .field("instance", &self.instance)
            .field("presence_ttl", &self.presence_ttl)
            .finish_non_exhaustive()
    }
}

/// Milliseconds since 1970 by this machine's clock.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}
