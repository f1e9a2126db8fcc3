//! `Idempotency-Key`: a repeat that cannot make a change twice.
//!
//! What to notice: a client that sent `POST /api/plants` and got no answer it
//! can trust (a 504, a timeout, a dropped connection) cannot know whether the
//! plant was created. Sending it again may create a second one; not sending it
//! may lose it. The way out, as Stripe's API does it (and the IETF's
//! `Idempotency-Key` header draft): the client makes up a key once per change
//! and sends it with every try. The server remembers each key, the request it
//! came with and the answer it got, for [`IDEMPOTENCY_WINDOW`]; a repeat gets
//! that answer again (same status, same id) and changes nothing.
//!
//! Two rules make it hold:
//! - **The check and the change are one step**: in memory, under the store's
//!   lock; in Redis, one Lua script. Otherwise two tries racing (the first one
//!   stuck in a hung Redis, the second through another copy) could both find
//!   no answer and both create.
//! - **A key names one request.** The same key with another body or path is
//!   the client's mistake, answered 422, never another request's answer.
//!
//! What is remembered: the store's answers (201, 200, 404 for a rename of a
//! plant that does not exist, 409 for a full store). Not the answers given
//! before the store is asked (400: nothing was tried), nor the store's
//! failures (503, 504, 507): a repeat is exactly what those call for.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::req::Req;

/// How long a key's answer is remembered: long enough for a client's
/// retries over a bad day, as Stripe keeps its keys.
pub const IDEMPOTENCY_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// The longest key: room for a UUID (36) or a ULID (26), and few enough
/// bytes that remembering 10,000 keys costs little.
pub const MAX_KEY_BYTES: usize = 64;

/// How many keys the in-memory store remembers at once. Each costs at most
/// about 1 KB (a key, the request it names, its answer), so at most about
/// 10 MB, twice what a full store's plants take; a client creating the
/// whole store with a key per plant fits. When every place is held by a key
/// younger than [`IDEMPOTENCY_WINDOW`], a request with a new key is refused
/// (503, with `Retry-After` until the oldest expires) rather than make room
/// by forgetting a key whose client may still repeat it. (In Redis, keys
/// expire by themselves, and Redis's `maxmemory` bounds them: 507 when full.)
pub const MAX_REMEMBERED_KEYS: usize = 10_000;

/// The header's value: 1 to [`MAX_KEY_BYTES`] visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The request's `Idempotency-Key`, if it has one; 400 if it is not
    /// 1 to 64 visible ASCII characters.
    pub fn of<S>(req: &Req<S>) -> Result<Option<IdempotencyKey>, Error> {
        match req.header("idempotency-key") {
            None => Ok(None),
            Some(key) => IdempotencyKey::parse(key).map(Some),
        }
    }

    /// `text`, if it is a valid key.
    pub fn parse(text: &str) -> Result<IdempotencyKey, Error> {
        let fits = (1..=MAX_KEY_BYTES).contains(&text.len())
            && text.bytes().all(|byte| byte.is_ascii_graphic());
        if fits {
            Ok(IdempotencyKey(text.to_string()))
        } else {
            Err(Error::bad_request(format!(
                "Idempotency-Key must be 1 to {MAX_KEY_BYTES} visible ASCII characters"
            )))
        }
    }

    /// The key as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A change to make at most once: its key, and the request the key names
/// (method, path and the name asked for), which a repeat must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Once {
    /// The client's key.
    pub key: IdempotencyKey,
    /// `POST /api/plants Mint`: what was asked with this key.
    pub request: String,
}

impl Once {
    /// `key`, for `req` asking to set the name `name`.
    pub fn new<S>(key: IdempotencyKey, req: &Req<S>, name: &str) -> Once {
        let request = format!("{} {} {name}", req.method().as_str(), req.path());
        Once { key, request }
    }
}

/// What a key finds in the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recall<A> {
    /// Not seen in the window: make the change, then remember its answer.
    New,
    /// Seen with the same request: this was its answer.
    Repeat(A),
    /// Seen with another request: 422.
    OtherRequest,
    /// Not seen, and no room to remember it before the oldest key expires,
    /// after this long.
    NoRoom(Duration),
}

/// The in-memory store's remembered keys, at most [`MAX_REMEMBERED_KEYS`],
/// each for [`IDEMPOTENCY_WINDOW`]. `A` is the answer kept with each.
#[derive(Debug)]
pub struct Remembered<A> {
    answers: HashMap<String, (String, A)>,
    /// Keys in the order they were remembered, with when: the oldest
    /// expires first, so expiring is popping from the front.
    order: VecDeque<(Instant, String)>,
    /// At most this many keys.
    limit: usize,
}

impl<A: Clone> Remembered<A> {
    /// An empty table holding at most `limit` keys.
    pub fn new(limit: usize) -> Remembered<A> {
        Remembered {
            answers: HashMap::new(),
            order: VecDeque::new(),
            limit,
        }
    }

    /// What `once` finds at `now`, after forgetting keys past the window.
    pub fn recall(&mut self, once: &Once, now: Instant) -> Recall<A> {
        self.forget_expired(now);
        match self.answers.get(once.key.as_str()) {
            Some((request, answer)) if *request == once.request => Recall::Repeat(answer.clone()),
            Some(_) => Recall::OtherRequest,
            None if self.answers.len() >= self.limit => {
                let oldest = self.order.front().map_or(now, |(at, _)| *at);
                Recall::NoRoom((oldest + IDEMPOTENCY_WINDOW).saturating_duration_since(now))
            }
            None => Recall::New,
        }
    }

    /// Remembers `answer` for `once`, made at `now` (after `recall` said
    /// `New`, under the same lock).
    pub fn remember(&mut self, once: &Once, answer: A, now: Instant) {
        let key = once.key.as_str().to_string();
        self.order.push_back((now, key.clone()));
        self.answers.insert(key, (once.request.clone(), answer));
    }

    /// How many keys are remembered.
    pub fn len(&self) -> usize {
        self.answers.len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.answers.is_empty()
    }

    fn forget_expired(&mut self, now: Instant) {
        while let Some((at, key)) = self.order.front() {
            if now.saturating_duration_since(*at) < IDEMPOTENCY_WINDOW {
                break;
            }
            self.answers.remove(key);
            self.order.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn once(key: &str, request: &str) -> Once {
        Once {
            key: IdempotencyKey::parse(key).expect("a valid key"),
            request: request.to_string(),
        }
    }

    #[test]
    fn a_key_is_1_to_64_visible_ascii_characters() {
        for fits in [
            "a",
            &"k".repeat(MAX_KEY_BYTES - 1),
            &"k".repeat(MAX_KEY_BYTES),
        ] {
            assert!(IdempotencyKey::parse(fits).is_ok(), "{fits:?}");
        }
        let over = "k".repeat(MAX_KEY_BYTES + 1);
        for wrong in ["", &over, "has space", "tab\there", "caf\u{e9}", "nul\0"] {
            let error = IdempotencyKey::parse(wrong).expect_err(wrong);
            assert_eq!(error.status, 400, "{wrong:?}");
        }
    }

    #[test]
    fn a_repeat_finds_its_answer_and_another_request_with_the_key_is_refused() {
        let now = Instant::now();
        let mut table = Remembered::new(10);
        let first = once("k1", "POST /api/plants Mint");
        assert_eq!(table.recall(&first, now), Recall::New);
        table.remember(&first, 7, now);
        assert_eq!(table.recall(&first, now), Recall::Repeat(7));
        let other = once("k1", "POST /api/plants Basil");
        assert_eq!(table.recall(&other, now), Recall::OtherRequest);
        assert_eq!(
            table.recall(&once("k2", "POST /api/plants Mint"), now),
            Recall::New
        );
    }

    #[test]
    fn a_key_is_forgotten_once_the_window_has_passed_not_before() {
        let start = Instant::now();
        let mut table = Remembered::new(10);
        let first = once("k", "PUT /api/plants/1 Mint");
        table.remember(&first, 1, start);
        let just_before = start + IDEMPOTENCY_WINDOW - Duration::from_millis(1);
        assert_eq!(table.recall(&first, just_before), Recall::Repeat(1));
        assert_eq!(
            table.recall(&first, start + IDEMPOTENCY_WINDOW),
            Recall::New
        );
        assert!(table.is_empty());
    }

    #[test]
    fn the_table_holds_its_limit_and_refuses_one_more_until_the_oldest_expires() {
        let limit = 3;
        let start = Instant::now();
        let mut table = Remembered::new(limit);
        // limit - 1 keys, then the limit-th: both fit.
        for n in 0..limit {
            let at = start + Duration::from_secs(n as u64);
            let key = once(&format!("k{n}"), "POST /api/plants a");
            assert_eq!(table.recall(&key, at), Recall::New, "key {n}");
            table.remember(&key, n, at);
        }
        assert_eq!(table.len(), limit);
        // limit + 1: no room until the oldest (remembered at `start`) expires.
        let one_more = once("one-more", "POST /api/plants a");
        let later = start + Duration::from_secs(10);
        assert_eq!(
            table.recall(&one_more, later),
            Recall::NoRoom(IDEMPOTENCY_WINDOW - Duration::from_secs(10))
        );
        // Keys already remembered are still answered when the table is full.
        let first = once("k0", "POST /api/plants a");
        assert_eq!(table.recall(&first, later), Recall::Repeat(0));
        assert_eq!(
            table.recall(&one_more, start + IDEMPOTENCY_WINDOW),
            Recall::New
        );
        assert_eq!(table.len(), limit - 1);
    }
}
