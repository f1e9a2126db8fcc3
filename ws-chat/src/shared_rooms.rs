//! The rooms shared through Redis, so that several copies of the chat act as
//! one: guest numbers, nicks, presence, history, and every room's lines.
//!
//! What to notice:
//! - **What must not interleave runs inside Redis.** A guest number is one
//!   `INCR`, so no two copies give out the same one; a nick is taken with
//!   `SET ... NX` (set only if nobody has it), so two copies racing for
//!   `alice` cannot both win.
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
//!   passed; nick keys expire unless the heartbeat renews them.
//! - **Redis can go away.** Every call waits at most [`REDIS_WAIT`]. Past
//!   that, or on a lost connection, the sender gets `* error: ...` (its line
//!   was not published, so nobody saw it), the log says once that Redis was
//!   lost and once that it is back, and `ConnectionManager` reconnects with
//!   back-off by itself.
//!
//! The keys: `netlessons:chat:guests` (the guest counter),
//! `netlessons:chat:nick:NICK` (who holds a nick), `netlessons:chat:room:ROOM`
//! (a sorted set: nick scored by its presence deadline),
//! `netlessons:chat:rooms` (room scored by its latest deadline),
//! `netlessons:chat:history:ROOM` (a list, the last [`HISTORY_LINES`]), and
//! the channel `netlessons:chat:lines`. Every key expires unless renewed, so
//! what Redis holds is bounded by who is connected now.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::outbox;
use crate::protocol;
use crate::rooms::{ClientId, HISTORY_LINES, LOBBY, Line, RoomRegistry};

/// The longest one step waits for Redis (a command, or a pipeline of them
/// sent at once). Redis answers in well under a millisecond when it is
/// there; two seconds covers a busy machine and keeps a client's task from
/// hanging while it is not. A chat line costs none (it is queued for the
/// publisher), `/nick` two steps, `/join` one, `/who` and `/rooms` one.
pub const REDIS_WAIT: Duration = Duration::from_secs(2);

/// How long a copy's members stay in `/who` after its last heartbeat: a copy
/// that dies drops out within this. The heartbeat runs three times per
/// period, so one late or lost heartbeat does not make anyone vanish.
pub const PRESENCE_TTL: Duration = Duration::from_secs(15);

/// The longest pause between two reconnection attempts. The pauses grow
/// from 100 ms; a second is short enough that a restarted Redis is found
/// again quickly, long enough not to hammer one that is down.
pub const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(1);

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

/// Frees a nick only if we still hold it (it may have expired and been
/// taken by someone else). KEYS: the nick key. ARGV: our owner token.
const RELEASE_NICK: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
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

/// A line or notice on its way to the bus.
#[derive(Debug)]
pub struct Outgoing {
    /// Who caused it: told `* error:` if it cannot be published.
    from: ClientId,
    room: String,
    /// The bus message (`SharedRooms::bus_message`).
    message: String,
    /// A chat line, kept in the room's history (notices are not).
    line: Option<String>,
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
    /// A cloneable handle to one multiplexed connection, which reconnects
    /// by itself after a failure.
    connection: ConnectionManager,
    /// For the bus's own connection (a subscribed connection can do
    /// nothing else).
    pub(crate) client: Client,
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
    /// Whether the last call reached Redis: the log says so when it changes.
    reachable: AtomicBool,
    count_rooms: Script,
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
        let client = Client::open(url).map_err(|error| format!("is not a Redis URL: {error}"))?;
        // One plain attempt first, so a Redis that is not there is reported
        // at once and with its real reason ("connection refused").
        let first = tokio::time::timeout(REDIS_WAIT, client.get_multiplexed_async_connection());
        match first.await {
            Err(_) => return Err(format!("no answer from Redis within {REDIS_WAIT:?}")),
            Ok(Err(error)) => return Err(format!("cannot reach Redis: {error}")),
            Ok(Ok(_)) => {}
        }
        let settings = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_WAIT))
            .set_response_timeout(Some(REDIS_WAIT))
            .set_max_delay(MAX_RECONNECT_DELAY);
        let connection = tokio::time::timeout(
            REDIS_WAIT,
            ConnectionManager::new_with_config(client.clone(), settings),
        )
        .await
        .map_err(|_| format!("no answer from Redis within {REDIS_WAIT:?}"))?
        .map_err(|error| format!("cannot reach Redis: {error}"))?;
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let (outgoing, queued) = mpsc::channel(PUBLISH_QUEUE_LINES);
        let rooms = SharedRooms {
            local: RoomRegistry::for_bus(),
            connection,
            client,
            copy: format!("{instance}~{started}"),
            instance,
            presence_ttl,
            members: Mutex::new(HashMap::new()),
            reachable: AtomicBool::new(true),
            count_rooms: Script::new(COUNT_ROOMS),
            outgoing,
        };
        Ok((rooms, queued))
    }

    /// Runs one Redis step with the [`REDIS_WAIT`] bound; a failure becomes
    /// the `* error:` reason, and a change of reachability is logged.
    async fn call<T>(
        &self,
        step: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, String> {
        let outcome = match tokio::time::timeout(REDIS_WAIT, step).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err(format!("no answer within {REDIS_WAIT:?}")),
        };
        let was_reachable = self.reachable.swap(outcome.is_ok(), Ordering::Relaxed);
        match &outcome {
            Err(reason) if was_reachable => {
                warn!(%reason, "lost Redis; chat lines get an error until it is back");
            }
            Ok(_) if !was_reachable => info!("Redis is back"),
            _ => {}
        }
        outcome.map_err(|reason| {
            debug!(%reason, "a Redis step failed");
            "the chat cannot reach Redis just now; try again in a moment".to_string()
        })
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

    /// A presence deadline, in milliseconds since 1970, as the sorted sets
    /// score members. The copies' clocks must agree to well within
    /// `presence_ttl` (NTP keeps them within milliseconds).
    fn deadline(&self) -> u64 {
        now_ms().saturating_add(self.presence_ttl.as_millis() as u64)
    }

    /// A message for the bus: `ROOM SKIP LINE`, where SKIP is the client
    /// that must not get it (`COPY#ID`) or `-`. Rooms and copy names hold
    /// no spaces.
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
            line: keep.then_some(text),
        };
        self.outgoing
            .try_send(outgoing)
            .map_err(|_| "too many lines are waiting for Redis; try again in a moment".to_string())
    }

    // ANCHOR: publish_batch
    /// Publishes a batch, in order, in one step: chat lines go to their
    /// room's history too. If Redis does not take it, each sender is told.
    pub async fn publish_batch(&self, batch: &[Outgoing]) {
        let mut pipe = redis::pipe();
        pipe.atomic();
        let mut rooms = HashSet::new();
        for Outgoing {
            room,
            message,
            line,
            ..
        } in batch
        {
            if let Some(line) = line {
                pipe.cmd("RPUSH").arg(history_key(room)).arg(line).ignore();
                rooms.insert(room.as_str());
            }
            pipe.cmd("PUBLISH").arg(CHANNEL).arg(message).ignore();
        }
        for room in rooms {
            let history = history_key(room);
            let ttl = self.presence_ttl.as_millis() as u64;
            let keep = -(HISTORY_LINES as i64);
            pipe.cmd("LTRIM").arg(&history).arg(keep).arg(-1).ignore();
            pipe.cmd("PEXPIRE").arg(&history).arg(ttl).ignore();
        }
        let mut connection = self.connection.clone();
        if let Err(why) = self.call(pipe.query_async::<()>(&mut connection)).await {
            for outgoing in batch {
                self.local.tell(outgoing.from, protocol::error(&why));
            }
        }
    }
    // ANCHOR_END: publish_batch

    // ANCHOR: deliver
    /// What the bus brought: to this copy's members of the room, through
    /// the same never-wait fan-out as on one machine.
    pub fn deliver(&self, message: &str) {
        let mut parts = message.splitn(3, ' ');
        let (Some(room), Some(skip), Some(line)) = (parts.next(), parts.next(), parts.next())
        else {
            warn!(message, "ignoring a malformed message on the bus");
            return;
        };
        let skip = skip
            .rsplit_once('#')
            .filter(|(copy, _)| *copy == self.copy)
            .and_then(|(_, id)| id.parse().ok());
        self.local.deliver(room, skip, Line::from(line.to_string()));
    }
    // ANCHOR_END: deliver

    /// A new client: takes the next free `guest-N` across all copies, puts
    /// it in the lobby, welcomes it (naming this copy), replays the lobby's
    /// history to it, and tells the others.
    pub async fn join_new(&self, queue: outbox::Sender) -> Result<(ClientId, String), String> {
        let mut connection = self.connection.clone();
        // The owner token needs the id, the id needs the registry: reserve
        // the nick under a token for this copy, then admit.
        let holder = format!("{}#new", self.copy);
        let mut nick = None;
        for _ in 0..GUEST_TRIES {
            let number: u64 = self
                .call(redis::cmd("INCR").arg(GUESTS).query_async(&mut connection))
                .await?;
            let candidate = format!("guest-{number}");
            if self.take_nick(&candidate, &holder).await? {
                nick = Some(candidate);
                break;
            }
        }
        let nick = nick.ok_or("no free guest number; try again")?;
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
        pipe.cmd("SET")
            .arg(nick_key(&nick))
            .arg(self.owner(id))
            .arg("PX")
            .arg(self.presence_ttl.as_millis() as u64)
            .ignore();
        self.add_presence(&mut pipe, &nick, LOBBY);
        pipe.cmd("LRANGE").arg(history_key(LOBBY)).arg(0).arg(-1);
        let (history,): (Vec<String>,) = match self.call(pipe.query_async(&mut connection)).await {
            Ok(history) => history,
            Err(why) => {
                self.leave(id).await;
                return Err(why);
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

    /// Takes `nick` for `owner` if nobody holds it.
    async fn take_nick(&self, nick: &str, owner: &str) -> Result<bool, String> {
        let mut connection = self.connection.clone();
        let set: Option<String> = self
            .call(
                redis::cmd("SET")
                    .arg(nick_key(nick))
                    .arg(owner)
                    .arg("NX")
                    .arg("PX")
                    .arg(self.presence_ttl.as_millis() as u64)
                    .query_async(&mut connection),
            )
            .await?;
        Ok(set.is_some())
    }

    /// Adds "free `nick` if client `id` still holds it" to `pipe`. (`EVAL`
    /// with the script's text: a pipeline cannot load a script first.)
    fn release_nick(&self, pipe: &mut redis::Pipeline, id: ClientId, nick: &str) {
        pipe.cmd("EVAL")
            .arg(RELEASE_NICK)
            .arg(1)
            .arg(nick_key(nick))
            .arg(self.owner(id))
            .ignore();
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
        let ttl = self.presence_ttl.as_millis() as u64;
        pipe.cmd("ZADD")
            .arg(ROOMS)
            .arg(self.deadline())
            .arg(room)
            .ignore();
        pipe.cmd("PEXPIRE").arg(room_key(room)).arg(ttl).ignore();
        pipe.cmd("PEXPIRE").arg(history_key(room)).arg(ttl).ignore();
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

    /// `/nick NEW`: taken in Redis first, so two copies cannot both give it.
    pub async fn rename(&self, id: ClientId, new: &str) -> Result<(), String> {
        let Some(Presence { nick: old, room }) = self.presence(id) else {
            return Ok(());
        };
        if old == new {
            return Err(format!("you are already {new}"));
        }
        if !self.take_nick(new, &self.owner(id)).await? {
            return Err(format!("the nick {new} is taken"));
        }
        self.local.set_nick(id, new);
        if let Some(presence) = self.members().get_mut(&id) {
            presence.nick = new.to_string();
        }
        let mut pipe = redis::pipe();
        self.release_nick(&mut pipe, id, &old);
        pipe.cmd("ZREM").arg(room_key(&room)).arg(&old).ignore();
        self.add_presence(&mut pipe, new, &room);
        let mut connection = self.connection.clone();
        self.call(pipe.query_async::<()>(&mut connection)).await?;
        self.enqueue(id, &room, None, protocol::renamed(&old, new), false)
    }

    /// `/join ROOM`: the old room hears `* NICK left #OLD`, the joiner gets
    /// the new room's history, then the new room (joiner included) hears
    /// `* NICK joined #NEW`.
    pub async fn join_room(&self, id: ClientId, room: &str) -> Result<(), String> {
        let Some(Presence { nick, room: old }) = self.presence(id) else {
            return Ok(());
        };
        if old == room {
            return Err(format!("you are already in #{room}"));
        }
        let mut connection = self.connection.clone();
        let mut pipe = redis::pipe();
        pipe.cmd("ZREM").arg(room_key(&old)).arg(&nick).ignore();
        self.add_presence(&mut pipe, &nick, room);
        pipe.cmd("LRANGE").arg(history_key(room)).arg(0).arg(-1);
        let (history,): (Vec<String>,) = self.call(pipe.query_async(&mut connection)).await?;
        let _ = self.enqueue(id, &old, Some(id), protocol::left(&nick, &old), false);
        self.local.move_to(id, room);
        if let Some(presence) = self.members().get_mut(&id) {
            presence.room = room.to_string();
        }
        for line in history {
            self.local.tell(id, line);
        }
        self.enqueue(id, room, None, protocol::joined(&nick, room), false)
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
        let mut connection = self.connection.clone();
        let (mut nicks,): (Vec<String>,) = self.call(pipe.query_async(&mut connection)).await?;
        nicks.sort_unstable();
        let nicks: Vec<&str> = nicks.iter().map(String::as_str).collect();
        Ok(protocol::who(&room, &nicks))
    }

    /// The answer to `/rooms`: every room with members, on every copy, and
    /// the lobby even when it is empty (as on one machine).
    pub async fn rooms(&self) -> Result<String, String> {
        let mut invocation = self.count_rooms.key(ROOMS);
        invocation.arg(now_ms()).arg(ROOM_PREFIX);
        let mut connection = self.connection.clone();
        let counts: Vec<(String, usize)> =
            self.call(invocation.invoke_async(&mut connection)).await?;
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
        let mut pipe = redis::pipe();
        self.release_nick(&mut pipe, id, &nick);
        pipe.cmd("ZREM").arg(room_key(&room)).arg(&nick).ignore();
        let _ = self.enqueue(id, &room, None, protocol::left(&nick, &room), false);
        let mut connection = self.connection.clone();
        let _ = self.call(pipe.query_async::<()>(&mut connection)).await;
    }

    /// The nick and room of a client, for its log lines.
    pub fn describe(&self, id: ClientId) -> Option<(String, String)> {
        self.presence(id)
            .map(|Presence { nick, room }| (nick, room))
    }

    // ANCHOR: heartbeat
    /// Renews the presence and the nick of every client of this copy, in
    /// one step. Run every third of `presence_ttl` (`bus.rs`); a copy that
    /// stops running it drops out of `/who` within `presence_ttl`. After a
    /// Redis restart (which forgets everything), this puts them back.
    pub async fn heartbeat(&self) {
        let members: Vec<(ClientId, Presence)> = self
            .members()
            .iter()
            .map(|(id, presence)| (*id, presence.clone()))
            .collect();
        if members.is_empty() {
            return;
        }
        let (ttl, deadline) = (self.presence_ttl.as_millis() as u64, self.deadline());
        let mut pipe = redis::pipe();
        let mut rooms = HashSet::new();
        for (id, Presence { nick, room }) in &members {
            pipe.cmd("SET")
                .arg(nick_key(nick))
                .arg(self.owner(*id))
                .arg("PX")
                .arg(ttl)
                .ignore();
            pipe.cmd("ZADD")
                .arg(room_key(room))
                .arg(deadline)
                .arg(nick)
                .ignore();
            rooms.insert(room.as_str());
        }
        for room in rooms {
            self.keep_room(&mut pipe, room);
        }
        let mut connection = self.connection.clone();
        let _ = self.call(pipe.query_async::<()>(&mut connection)).await;
    }
    // ANCHOR_END: heartbeat

    /// How often [`heartbeat`](SharedRooms::heartbeat) runs.
    pub fn heartbeat_every(&self) -> Duration {
        self.presence_ttl / 3
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
