//! The plant store in Redis, so that several copies of the server share it.
//!
//! What to notice: with `REDIS_URL` set, the plants leave the process. Two
//! copies behind a load balancer then agree about them: a plant created
//! through one is read, renamed and deleted through the other. That only
//! holds if every step that must not interleave runs *inside* Redis, in one
//! command or one Lua script (Redis runs a script as one step, nothing else
//! in between): ids come from `INCR`, so no two copies give out the same
//! one, and "check the cap, take an id, store the plant" is one script, so
//! two copies racing for the last place cannot both win. A create or rename
//! with an `Idempotency-Key` checks and records the key in the same script,
//! so a repeat through any copy finds the first answer.
//!
//! The data: a hash `netlessons:plants:names` (id -> name), a sorted set
//! `netlessons:plants:ids` (every id, scored by itself, so a page after an
//! id is one `ZRANGEBYSCORE`), the counter `netlessons:plants:last-id`, and a
//! hash `netlessons:plants:once:KEY` per `Idempotency-Key` (the request it
//! came with and its answer), which expires after 24 hours.
//!
//! Redis can go away, hang, or fill up; `redis_link.rs` says which, and each
//! becomes its own answer: a read that fails is 503 (a read changes nothing);
//! a change that was never sent, or that Redis refused, is 503 with
//! `Retry-After`; a change sent to a Redis that did not answer in time is 504
//! (it may still be made); a Redis out of memory is 507. Each script stores
//! nothing before its first write, so Redis refuses it whole when it is full.

use redis::{AsyncCommands, Script};

use crate::idempotency::{IDEMPOTENCY_WINDOW, Once};
use crate::plants::{Answer, Outcome, Plant, PlantStore, StoreError};
use crate::redis_link::{Effect, Failure, RedisLink};

const NAMES: &str = "netlessons:plants:names";
const IDS: &str = "netlessons:plants:ids";
const LAST_ID: &str = "netlessons:plants:last-id";

/// The record of one `Idempotency-Key`.
fn once_key(once: &Once) -> String {
    format!("netlessons:plants:once:{}", once.key.as_str())
}

// ANCHOR: create
/// Check the cap, take the next id, store the plant: one step in Redis.
/// KEYS: ids, names, last id, and with an `Idempotency-Key`, its record.
/// ARGV: name, cap, and with a key: the request it names, seconds to keep it.
/// Returns {status, id, repeat}: 201 and the new id, or 409 (full); for a
/// key seen before, its first answer (repeat = 1), or 422 if it came with
/// another request.
const CREATE: &str = r"
if KEYS[4] then
  local seen = redis.call('HMGET', KEYS[4], 'request', 'status', 'id')
  if seen[1] then
    if seen[1] ~= ARGV[3] then return {422, 0, 0} end
    return {tonumber(seen[2]), tonumber(seen[3]), 1}
  end
end
local status, id = 409, 0
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  id = redis.call('INCR', KEYS[3])
  redis.call('ZADD', KEYS[1], id, id)
  redis.call('HSET', KEYS[2], id, ARGV[1])
  status = 201
end
if KEYS[4] then
  redis.call('HSET', KEYS[4], 'request', ARGV[3], 'status', status, 'id', id)
  redis.call('EXPIRE', KEYS[4], ARGV[4])
end
return {status, id, 0}
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

/// Rename only a plant that exists. KEYS: names, and with a key, its record.
/// ARGV: id, name, and with a key: the request, seconds to keep it.
/// Returns {status, repeat}: 200, or 404; a key's first answer, or 422.
const RENAME: &str = r"
if KEYS[2] then
  local seen = redis.call('HMGET', KEYS[2], 'request', 'status')
  if seen[1] then
    if seen[1] ~= ARGV[3] then return {422, 0} end
    return {tonumber(seen[2]), 1}
  end
end
local status = 404
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  status = 200
end
if KEYS[2] then
  redis.call('HSET', KEYS[2], 'request', ARGV[3], 'status', status)
  redis.call('EXPIRE', KEYS[2], ARGV[4])
end
return {status, 0}
";

/// Delete from both keys. KEYS: ids, names. ARGV: id. Returns 1 if it existed.
const DELETE: &str = r"
redis.call('ZREM', KEYS[1], ARGV[1])
return redis.call('HDEL', KEYS[2], ARGV[1])
";

/// Plants in Redis, at most `limit` of them (across every copy).
pub struct RedisStore {
    link: RedisLink,
    limit: usize,
    create: Script,
    list: Script,
    rename: Script,
    delete: Script,
}

/// A failed read changed nothing, whatever the failure: 503.
fn read_failed(_: Failure) -> StoreError {
    StoreError::Unavailable
}

// ANCHOR: change_failed
/// What a failed change became: not sent or refused is "nothing changed",
/// sent and unanswered is "may still be made".
fn change_failed(failure: Failure) -> StoreError {
    match failure {
        Failure::NotSent | Failure::Refused => StoreError::Unavailable,
        Failure::OutOfMemory => StoreError::OutOfMemory,
        Failure::Unknown => StoreError::OutcomeUnknown,
    }
}
// ANCHOR_END: change_failed

impl RedisStore {
    /// Connects to `url`. The error is one sentence for the startup log.
    pub async fn connect(url: &str, limit: usize) -> Result<RedisStore, String> {
        Ok(RedisStore {
            link: RedisLink::connect(url).await?,
            limit,
            create: Script::new(CREATE),
            list: Script::new(LIST),
            rename: Script::new(RENAME),
            delete: Script::new(DELETE),
        })
    }
}

/// The answer a script's status stands for, or `KeyReused`.
fn answer(
    status: u16,
    repeat: bool,
    stored: impl FnOnce() -> Plant,
    limit: usize,
) -> Result<Answer, StoreError> {
    let outcome = match status {
        200 | 201 => Outcome::Stored(stored()),
        404 => Outcome::NoSuchPlant,
        409 => Outcome::Full { limit },
        // 422: the only other status the scripts return.
        _ => return Err(StoreError::KeyReused),
    };
    Ok(Answer { outcome, repeat })
}

impl PlantStore for RedisStore {
    async fn list(&self, after: u64, limit: usize) -> Result<Vec<Plant>, StoreError> {
        let mut invocation = self.list.key(IDS);
        invocation.key(NAMES).arg(after).arg(limit);
        let flat: Vec<Option<String>> = self
            .link
            .call(Effect::ReadsOrFrees, |mut redis| async move {
                invocation.invoke_async(&mut redis).await
            })
            .await
            .map_err(read_failed)?;
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

    async fn create(&self, name: String, once: Option<&Once>) -> Result<Answer, StoreError> {
        let mut invocation = self.create.key(IDS);
        invocation
            .key(NAMES)
            .key(LAST_ID)
            .arg(&name)
            .arg(self.limit);
        if let Some(once) = once {
            invocation
                .key(once_key(once))
                .arg(&once.request)
                .arg(IDEMPOTENCY_WINDOW.as_secs());
        }
        let (status, id, repeat): (u16, u64, bool) = self
            .link
            .call(Effect::Stores, |mut redis| async move {
                invocation.invoke_async(&mut redis).await
            })
            .await
            .map_err(change_failed)?;
        answer(status, repeat, || Plant { id, name }, self.limit)
    }

    async fn get(&self, id: u64) -> Result<Option<Plant>, StoreError> {
        let name: Option<String> = self
            .link
            .call(Effect::ReadsOrFrees, |mut redis| async move {
                redis.hget(NAMES, id).await
            })
            .await
            .map_err(read_failed)?;
        Ok(name.map(|name| Plant { id, name }))
    }

    async fn rename(
        &self,
        id: u64,
        name: String,
        once: Option<&Once>,
    ) -> Result<Answer, StoreError> {
        let mut invocation = self.rename.key(NAMES);
        invocation.arg(id).arg(&name);
        if let Some(once) = once {
            invocation
                .key(once_key(once))
                .arg(&once.request)
                .arg(IDEMPOTENCY_WINDOW.as_secs());
        }
        let (status, repeat): (u16, bool) = self
            .link
            .call(Effect::Stores, |mut redis| async move {
                invocation.invoke_async(&mut redis).await
            })
            .await
            .map_err(change_failed)?;
        answer(status, repeat, || Plant { id, name }, self.limit)
    }

    async fn delete(&self, id: u64) -> Result<bool, StoreError> {
        let mut invocation = self.delete.key(IDS);
        invocation.key(NAMES).arg(id);
        let deleted: i64 = self
            .link
            .call(Effect::ReadsOrFrees, |mut redis| async move {
                invocation.invoke_async(&mut redis).await
            })
            .await
            .map_err(change_failed)?;
        Ok(deleted == 1)
    }
}
