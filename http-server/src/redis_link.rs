//! One connection to Redis, and the three ways a call to it can fail.
//!
//! What to notice: a call to a server across a network does not just work or
//! fail. It fails in one of three ways, and each allows a different answer:
//! - **not sent**: there is no connection (Redis is down, or a new connection
//!   did not get through in time). Nothing reached Redis, so nothing happened.
//! - **refused**: Redis answered with an error, such as `OOM` when it is full.
//!   Of one command, one Lua script or one `MULTI` ... `EXEC`, it then ran
//!   nothing.
//! - **unknown**: the command was sent, and no answer came within
//!   [`REDIS_WAIT`], or the connection broke before it did. A Redis that
//!   hangs (a stopped process, a machine swapping) has the command in its
//!   socket and runs it when it wakes up, seconds later. Whoever asked must
//!   hear "it may still happen", never "it was not done".
//!
//! The `redis` crate's `ConnectionManager` cannot tell the first from the
//! last: a command waiting for a reconnection and a command waiting for its
//! answer look the same from outside. So this module keeps its own connection:
//! - one multiplexed connection that every call shares (a clone is cheap),
//!   whose driver (the task that reads and writes its socket) is spawned
//!   here, so this module sees when it ends: Redis closed the connection,
//!   and a command given to it now would never be sent;
//! - a connection that ended, broke or went silent is dropped, and the next
//!   call makes a new one. One caller connects at a time, the others wait
//!   for it, each within its own `REDIS_WAIT`. After an attempt, the next
//!   waits a little longer (100 ms, doubling, at most
//!   [`MAX_RECONNECT_DELAY`]); a call in between fails at once, as not sent;
//! - a new connection to a hung Redis never completes (Redis must answer
//!   its first command, the crate's `CLIENT SETINFO`), so during a hang the
//!   first calls are "unknown" and the later ones "not sent", which is true.
//!
//! The log says once when an episode starts (Redis lost, or full) and once
//! when it ends, however many requests fail in between.
//!
//! ws-chat keeps a copy of this file (`ws-chat/src/shared/link.rs`), so that
//! each lesson stands alone; a test there checks that the two files stay the
//! same below their headers.

use std::future::Future;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, ConnectionAddr, RedisError};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};
use tracing::{debug, info, warn};

/// The longest one call waits for Redis, connecting included. Redis answers
/// in well under a millisecond when it is there; two seconds covers a busy
/// machine, and keeps a client from hanging while it is not.
pub const REDIS_WAIT: Duration = Duration::from_secs(2);

/// The pause after the first failed connection attempt; it doubles with
/// each failure after that.
pub const FIRST_RECONNECT_DELAY: Duration = Duration::from_millis(100);

/// The longest pause between two connection attempts: short enough that a
/// restarted Redis is found again quickly, long enough not to hammer one
/// that is down.
pub const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// A Redis URL that the `redis` crate accepts, over TCP (what `REDIS_URL`
/// must be: `redis://HOST:PORT[/DB]`), or none.
pub struct RedisUrl(pub Option<String>);

impl FromStr for RedisUrl {
    type Err = ();

    fn from_str(text: &str) -> Result<RedisUrl, ()> {
        match Client::open(text) {
            Ok(client)
                if matches!(client.get_connection_info().addr(), ConnectionAddr::Tcp(..)) =>
            {
                Ok(RedisUrl(Some(text.to_string())))
            }
            _ => Err(()),
        }
    }
}

/// How a call failed, which decides what the client may be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Nothing reached Redis: nothing happened.
    NotSent,
    /// Redis answered that it is out of memory (`maxmemory` reached, and it
    /// may not evict): it ran nothing of the step.
    OutOfMemory,
    /// Redis answered with another error: it ran nothing of the step.
    Refused,
    /// Sent, and no answer in time: Redis may run it, now or later.
    Unknown,
}

/// Whether a step may store more in Redis. Only such a step is refused when
/// Redis is full, so only its success shows that Redis has room again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Reads, or frees memory (a delete): Redis runs it even when full.
    ReadsOrFrees,
    /// Stores more (a new key, a longer list).
    Stores,
}

/// What the log said last about Redis: it speaks again only on a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Health {
    Fine,
    Lost,
    Full,
}

/// One connection, as calls share it.
#[derive(Clone)]
struct Live {
    /// Which connection this is, so that a late failure on an old one
    /// cannot drop its successor.
    number: u64,
    connection: MultiplexedConnection,
    /// Set when its driver task has ended: closed, nothing more is sent.
    ended: Arc<AtomicBool>,
}

/// The connection every call shares, or why there is none.
struct Slot {
    /// The live connection, if any.
    live: Option<Live>,
    /// Connections made so far (the next one's number).
    made: u64,
    /// No new attempt before this.
    retry_at: Instant,
    /// The pause after the next failed attempt.
    delay: Duration,
    /// Why there is no connection, for calls that fail at once.
    why: String,
}

/// One copy's link to Redis.
pub struct RedisLink {
    client: Client,
    /// A std `Mutex`: held to read or swap, never across an `.await`.
    slot: Mutex<Slot>,
    /// Held by the one caller that connects, across the connect's `.await`
    /// (so a tokio `Mutex`); the others wait for its connection.
    connecting: tokio::sync::Mutex<()>,
    health: Mutex<Health>,
}

impl RedisLink {
    /// Opens a link to `url` and makes its first connection, within
    /// [`REDIS_WAIT`], so that a Redis that is not there is reported at once,
    /// with its real reason. The error is one sentence for the startup log.
    pub async fn connect(url: &str) -> Result<RedisLink, String> {
        let client = Client::open(url).map_err(|error| format!("is not a Redis URL: {error}"))?;
        let link = RedisLink {
            client,
            slot: Mutex::new(Slot {
                live: None,
                made: 0,
                retry_at: Instant::now(),
                delay: FIRST_RECONNECT_DELAY,
                why: String::new(),
            }),
            connecting: tokio::sync::Mutex::new(()),
            health: Mutex::new(Health::Fine),
        };
        match tokio::time::timeout(REDIS_WAIT, link.connection()).await {
            Ok(Ok(_)) => Ok(link),
            Ok(Err(why)) => Err(format!("cannot reach Redis: {why}")),
            Err(_) => Err(format!("no answer from Redis within {REDIS_WAIT:?}")),
        }
    }

    /// The client, for connections of another kind (a subscription).
    pub fn client(&self) -> &Client {
        &self.client
    }

    // ANCHOR: call
    /// Runs `step` on the shared connection, all within [`REDIS_WAIT`], and
    /// says how it failed if it did.
    pub async fn call<T, F, Fut>(&self, effect: Effect, step: F) -> Result<T, Failure>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let deadline = Instant::now() + REDIS_WAIT;
        let Live {
            number, connection, ..
        } = match timeout_at(deadline, self.connection()).await {
            Ok(Ok(live)) => live,
            Ok(Err(why)) => return Err(self.failed(Failure::NotSent, &why)),
            Err(_) => return Err(self.failed(Failure::NotSent, "no connection in time")),
        };
        match timeout_at(deadline, step(connection)).await {
            Ok(Ok(value)) => {
                self.succeeded(effect);
                Ok(value)
            }
            Ok(Err(error)) => {
                let failure = failure_of(&error);
                if failure == Failure::Unknown {
                    self.drop_connection(number, &error.to_string());
                }
                Err(self.failed(failure, &error.to_string()))
            }
            Err(_) => {
                let why = format!("no answer within {REDIS_WAIT:?}");
                self.drop_connection(number, &why);
                Err(self.failed(Failure::Unknown, &why))
            }
        }
    }
    // ANCHOR_END: call

    /// The shared connection, made now if there is none and the back-off
    /// allows; `Err` says why there is none.
    async fn connection(&self) -> Result<Live, String> {
        if let Some(live) = self.live() {
            return Ok(live);
        }
        let _connecting = self.connecting.lock().await;
        {
            let mut slot = self.slot();
            // Another caller may have connected while this one waited.
            if let Some(live) = live_in(&mut slot) {
                return Ok(live);
            }
            let now = Instant::now();
            if now < slot.retry_at {
                return Err(slot.why.clone());
            }
            // Counted before it starts: an attempt cut short by its
            // caller's deadline still waits its turn.
            slot.retry_at = now + slot.delay;
            slot.delay = (slot.delay * 2).min(MAX_RECONNECT_DELAY);
        }
        let opened = self.open().await;
        let mut slot = self.slot();
        match opened {
            Ok((connection, ended)) => {
                slot.made += 1;
                slot.delay = FIRST_RECONNECT_DELAY;
                let live = Live {
                    number: slot.made,
                    connection,
                    ended,
                };
                slot.live = Some(live.clone());
                debug!(number = slot.made, "connected to Redis");
                Ok(live)
            }
            Err(why) => {
                slot.why = why;
                Err(slot.why.clone())
            }
        }
    }

    /// The live connection, unless its driver has ended (then it is
    /// dropped, and the next call connects again).
    fn live(&self) -> Option<Live> {
        live_in(&mut self.slot())
    }

    /// A new connection: TCP without Nagle's delay (a command is one small
    /// write, and its caller waits for the answer), then the crate's
    /// handshake, with no timeouts of its own (`call`'s deadline bounds
    /// it all). Its driver runs in a task spawned here, which marks the
    /// connection ended when it returns.
    async fn open(&self) -> Result<(MultiplexedConnection, Arc<AtomicBool>), String> {
        let info = self.client.get_connection_info();
        let ConnectionAddr::Tcp(host, port) = info.addr() else {
            return Err("only redis://HOST:PORT addresses are supported".to_string());
        };
        let stream = TcpStream::connect((host.as_str(), *port))
            .await
            .map_err(|error| error.to_string())?;
        stream
            .set_nodelay(true)
            .map_err(|error| error.to_string())?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(None)
            .set_response_timeout(None);
        let (connection, driver) =
            MultiplexedConnection::new_with_config(info.redis_settings(), stream, config)
                .await
                .map_err(|error| error.to_string())?;
        let ended = Arc::new(AtomicBool::new(false));
        let mark = Arc::clone(&ended);
        tokio::spawn(async move {
            driver.await;
            mark.store(true, Ordering::Release);
        });
        Ok((connection, ended))
    }

    /// Forgets connection `number` (if it is still the live one): it broke,
    /// or went silent. The next call connects again at once.
    fn drop_connection(&self, number: u64, why: &str) {
        let mut slot = self.slot();
        if slot.live.as_ref().is_some_and(|live| live.number == number) {
            slot.live = None;
            slot.retry_at = Instant::now();
            slot.delay = FIRST_RECONNECT_DELAY;
            slot.why = why.to_string();
        }
    }

    /// Logs the start of an episode once, and returns `failure`.
    fn failed(&self, failure: Failure, reason: &str) -> Failure {
        let now = match failure {
            Failure::OutOfMemory => Health::Full,
            _ => Health::Lost,
        };
        let before = std::mem::replace(&mut *self.health(), now);
        match now {
            _ if before == now => debug!(%reason, ?failure, "a Redis step failed"),
            Health::Full => warn!(
                %reason,
                "Redis is out of memory; what would store more is refused until it has room"
            ),
            _ => warn!(%reason, "lost Redis; what needs it gets an error until it is back"),
        }
        failure
    }

    /// Logs the end of an episode once.
    fn succeeded(&self, effect: Effect) {
        let mut health = self.health();
        match (*health, effect) {
            (Health::Lost, _) => info!("Redis is back"),
            (Health::Full, Effect::Stores) => info!("Redis has room again"),
            _ => return,
        }
        *health = Health::Fine;
    }

    /// Nothing here panics while a lock is held, so a poisoned lock still
    /// guards consistent data.
    fn slot(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn health(&self) -> MutexGuard<'_, Health> {
        self.health.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The slot's live connection, dropping it first if its driver has ended.
fn live_in(slot: &mut Slot) -> Option<Live> {
    if slot
        .live
        .as_ref()
        .is_some_and(|live| live.ended.load(Ordering::Acquire))
    {
        slot.live = None;
        slot.retry_at = Instant::now();
        slot.delay = FIRST_RECONNECT_DELAY;
        slot.why = "Redis closed the connection".to_string();
    }
    slot.live.clone()
}

/// What an error from a sent step means: Redis's own answer (it refused),
/// or no answer at all (unknown).
fn failure_of(error: &RedisError) -> Failure {
    match error.clone().into_server_errors() {
        Some(errors) if errors.iter().any(|(_, error)| error.code() == "OOM") => {
            Failure::OutOfMemory
        }
        Some(_) => Failure::Refused,
        None => Failure::Unknown,
    }
}

impl std::fmt::Debug for RedisLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLink")
            .field("health", &*self.health())
            .finish_non_exhaustive()
    }
}
