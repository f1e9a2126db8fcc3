//! The plant store in Redis, so that several copies of the server share it.
//!
//! What to notice: with `REDIS_URL` set, the plants leave the process. Two
//! copies behind a load balancer then agree about them: a plant created
//! through one is read, renamed and deleted through the other. That only
//! holds if every step that must not interleave runs *inside* Redis, in one
//! command or one Lua script (Redis runs a script as one step, nothing else
//! in between): ids come from `INCR`, so no two copies give out the same
//! one, and "check the cap, take an id, store the plant" is one script, so
//! two copies racing for the last place cannot both win.
//!
//! The data: a hash `netlessons:plants:names` (id -> name), a sorted set
//! `netlessons:plants:ids` (every id, scored by itself, so a page after an
//! id is one `ZRANGEBYSCORE`), and the counter `netlessons:plants:last-id`.
//!
//! Redis can go away. Every call waits at most [`REDIS_WAIT`]; past that, or
//! on a lost connection, the request gets 503 with `Retry-After` and the
//! server carries on. The `redis` crate's `ConnectionManager` reconnects in
//! the background (with back-off), so the first request after Redis is back
//! finds it again; the log says once when Redis was lost and once when it
//! was found.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Client, Script};
use tracing::{info, warn};

use crate::plants::{Plant, PlantStore, StoreError};

/// The longest a request waits for Redis before it is answered 503. Redis
/// answers in well under a millisecond when it is there; two seconds covers
/// a busy machine, and keeps a client from hanging while it is not.
pub const REDIS_WAIT: Duration = Duration::from_secs(2);

/// The longest pause between two reconnection attempts. The pauses grow
/// from 100 ms; a second is short enough that a restarted Redis is found
/// again quickly, long enough not to hammer one that is down.
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(1);

const NAMES: &str = "netlessons:plants:names";
const IDS: &str = "netlessons:plants:ids";
const LAST_ID: &str = "netlessons:plants:last-id";

// ANCHOR: create
/// Check the cap, take the next id, store the plant: one step in Redis.
/// KEYS: ids, names, last id. ARGV: name, cap. Returns the id, or -1 if full.
const CREATE: &str = r"
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return -1 end
local id = redis.call('INCR', KEYS[3])
redis.call('ZADD', KEYS[1], id, id)
redis.call('HSET', KEYS[2], id, ARGV[1])
return id
";
// ANCHOR_END: create

/// One page: up to ARGV[2] ids after ARGV[1], each followed by its name.
/// KEYS: ids, names.
const LIST: &str = r"
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf', 'LIMIT', 0, ARGV[2])
if #ids == 0 then return {} end
local names = redis.call('HMGET', KEYS[2], unpack(ids))
local page = {}
for i, id in ipairs(ids) do
  page[#page + 1] = id
  page[#page + 1] = names[i]
end
return page
";

/// Rename only a plant that exists. KEYS: names. ARGV: id, name.
const RENAME: &str = r"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
";

/// Delete from both keys. KEYS: ids, names. ARGV: id. Returns 1 if it existed.
const DELETE: &str = r"
redis.call('ZREM', KEYS[1], ARGV[1])
return redis.call('HDEL', KEYS[2], ARGV[1])
";

/// Plants in Redis, at most `limit` of them (across every copy).
pub struct RedisStore {
    /// A cloneable handle to one multiplexed connection, which reconnects
    /// by itself after a failure.
    connection: ConnectionManager,
    limit: usize,
    /// Whether the last call reached Redis: the log says so when it changes.
    reachable: AtomicBool,
    create: Script,
    list: Script,
    rename: Script,
    delete: Script,
}

impl RedisStore {
    /// Connects to `url`. The error is one sentence for the startup log.
    pub async fn connect(url: &str, limit: usize) -> Result<RedisStore, String> {
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
            ConnectionManager::new_with_config(client, settings),
        )
        .await
        .map_err(|_| format!("no answer from Redis within {REDIS_WAIT:?}"))?
        .map_err(|error| format!("cannot reach Redis: {error}"))?;
        Ok(RedisStore {
            connection,
            limit,
            reachable: AtomicBool::new(true),
            create: Script::new(CREATE),
            list: Script::new(LIST),
            rename: Script::new(RENAME),
            delete: Script::new(DELETE),
        })
    }

    /// Runs one Redis call with the [`REDIS_WAIT`] bound; a failure becomes
    /// `StoreError::Unavailable`, and a change of reachability is logged.
    async fn call<T>(
        &self,
        step: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, StoreError> {
        let outcome = match tokio::time::timeout(REDIS_WAIT, step).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err(format!("no answer within {REDIS_WAIT:?}")),
        };
        let was_reachable = self.reachable.swap(outcome.is_ok(), Ordering::Relaxed);
        match &outcome {
            Err(reason) if was_reachable => {
                warn!(%reason, "lost Redis; answering 503 until it is back");
            }
            Ok(_) if !was_reachable => info!("Redis is back"),
            _ => {}
        }
        outcome.map_err(|_| StoreError::Unavailable)
    }
}

impl PlantStore for RedisStore {
    async fn list(&self, after: u64, limit: usize) -> Result<Vec<Plant>, StoreError> {
        let mut connection = self.connection.clone();
        let mut invocation = self.list.key(IDS);
        invocation.key(NAMES).arg(after).arg(limit);
        let flat: Vec<Option<String>> = self.call(invocation.invoke_async(&mut connection)).await?;
        Ok(flat
            .chunks_exact(2)
            .filter_map(|pair| match pair {
                [Some(id), Some(name)] => Some(Plant {
                    id: id.parse().ok()?,
                    name: name.clone(),
                }),
                _ => None,
            })
            .collect())
    }

    async fn create(&self, name: String) -> Result<Plant, StoreError> {
        let mut connection = self.connection.clone();
        let mut invocation = self.create.key(IDS);
        invocation
            .key(NAMES)
            .key(LAST_ID)
            .arg(&name)
            .arg(self.limit);
        let id: i64 = self.call(invocation.invoke_async(&mut connection)).await?;
        match u64::try_from(id) {
            Ok(id) => Ok(Plant { id, name }),
            Err(_) => Err(StoreError::Full { limit: self.limit }),
        }
    }

    async fn get(&self, id: u64) -> Result<Option<Plant>, StoreError> {
        let mut connection = self.connection.clone();
        let name: Option<String> = self.call(connection.hget(NAMES, id)).await?;
        Ok(name.map(|name| Plant { id, name }))
    }

    async fn rename(&self, id: u64, name: String) -> Result<Option<Plant>, StoreError> {
        let mut connection = self.connection.clone();
        let mut invocation = self.rename.key(NAMES);
        invocation.arg(id).arg(&name);
        let renamed: i64 = self.call(invocation.invoke_async(&mut connection)).await?;
        Ok((renamed == 1).then_some(Plant { id, name }))
    }

    async fn delete(&self, id: u64) -> Result<bool, StoreError> {
        let mut connection = self.connection.clone();
        let mut invocation = self.delete.key(IDS);
        invocation.key(NAMES).arg(id);
        let deleted: i64 = self.call(invocation.invoke_async(&mut connection)).await?;
        Ok(deleted == 1)
    }
}
