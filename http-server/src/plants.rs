//! The demo's JSON API: plants, a bounded store, and a list read in pages.
//!
//! What to notice: the store lives in the app state, created once by
//! `demo_app` and shared by every request through an `Arc`. It outlives every
//! request, which is what makes `POST` then `GET` work, and it dies with the
//! process: restart the server and the plants are gone (a database is how
//! real apps keep data across restarts).
//!
//! Every resource a client can grow is bounded. The store holds at most
//! `max_plants` (a full store answers 409, below), and the list comes in
//! pages of at most [`MAX_PAGE_SIZE`]: without both, one client looping on
//! `POST` can fill the server's memory, and every `GET /api/plants` after
//! that builds a response of tens of megabytes.
//!
//! Pages are found by id, not by position (`?after=ID`, "keyset
//! pagination"): a plant created or deleted while a client walks the pages
//! neither repeats nor skips one, and finding a page costs the same on page
//! one as on page five hundred. The body stays a plain JSON array; where the
//! next page is goes in a `Link: <...>; rel="next"` header (RFC 8288), the
//! way GitHub's API does it, and a page without that header is the last.

use std::future::Future;

use http_raw::Response;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::idempotency::{IdempotencyKey, Once};
use crate::json::json;
use crate::req::Req;

/// The longest plant name we accept.
pub const MAX_NAME_CHARS: usize = 100;

/// How many plants the store holds, unless the app is told otherwise.
/// With names of at most 100 characters (400 bytes of UTF-8) and the map's
/// own overhead, a full store is at most about 5 MB: plenty for a demo, and
/// a bound no client can push past.
pub const MAX_PLANTS: usize = 10_000;

/// The page size when the client does not say (`GET /api/plants`).
pub const DEFAULT_PAGE_SIZE: usize = 50;

/// The largest page a client may ask for (`?limit=100`). A plant is at most
/// about 440 bytes of JSON, so a page is at most about 44 KB, whatever the
/// store holds and however many clients ask at once.
pub const MAX_PAGE_SIZE: usize = 100;

/// One plant, as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Plant {
    /// Given by the server, never reused.
    pub id: u64,
    /// Given by the client.
    pub name: String,
}

/// Why a store could not do what was asked. Each says what became of the
/// change, because that decides what a client may safely do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// Nothing was changed: the store could not be asked (Redis is
    /// unreachable), or it refused. A retry is safe.
    Unavailable,
    /// The store was asked and did not answer in time: the change may still
    /// be made (a hung Redis runs it when it wakes up). Only a repeat with
    /// the same `Idempotency-Key` is safe.
    OutcomeUnknown,
    /// Redis is out of memory: nothing was stored, and a retry will not
    /// help until it has room.
    OutOfMemory,
    /// This `Idempotency-Key` came with another request before.
    KeyReused,
    /// The in-memory store remembers as many keys as it may, none expiring
    /// for this many seconds: nothing was changed.
    TooManyKeys {
        /// Until the oldest key expires.
        retry_after_secs: u64,
    },
}

/// What a create or a rename did: what a repeat with the same
/// `Idempotency-Key` is answered again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The plant as stored (created, or renamed).
    Stored(Plant),
    /// A rename of a plant that does not exist.
    NoSuchPlant,
    /// A create when the store already held its maximum, `limit` plants.
    Full {
        /// That maximum.
        limit: usize,
    },
}

/// An outcome, and whether it is a repeat's: made by an earlier request
/// with the same key, and not made again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// What the change did.
    pub outcome: Outcome,
    /// Whether this answers a repeat.
    pub repeat: bool,
}

/// What a 503 from the store tells the client to wait before trying again,
/// in seconds (RFC 9110 10.2.3): about how long a restarted Redis takes to
/// be found again.
pub const RETRY_AFTER_SECS: u32 = 1;

// ANCHOR: errors
/// Each failure says what became of the change, so that a client knows
/// what it may do next:
/// - `503 Service Unavailable` with `Retry-After`: nothing was changed;
///   trying again later is safe.
/// - `504 Gateway Timeout`: Redis had the change and did not answer in
///   time; it may still be made. A repeat with the same `Idempotency-Key`
///   is safe (it is never made twice); without one, look before retrying.
/// - `507 Insufficient Storage` (RFC 4918 11.5): Redis is out of memory;
///   retrying will not help until someone makes room.
/// - `422 Unprocessable Content`: a key reused for another request.
impl From<StoreError> for Error {
    fn from(error: StoreError) -> Error {
        match error {
            StoreError::Unavailable => Error::new(
                503,
                "the plant store is unavailable, so nothing was changed; try again shortly",
            )
            .with_header("Retry-After", RETRY_AFTER_SECS.to_string()),
            StoreError::OutcomeUnknown => Error::new(
                504,
                "the plant store did not answer in time, so this change may or may not be \
                 made; repeating it with the same Idempotency-Key is safe",
            ),
            StoreError::OutOfMemory => Error::new(
                507,
                "the plant store (Redis) is out of memory, so nothing was stored",
            ),
            StoreError::KeyReused => Error::new(
                422,
                "this Idempotency-Key came with another request; use a new key for a new change",
            ),
            StoreError::TooManyKeys { retry_after_secs } => Error::new(
                503,
                "too many Idempotency-Keys are remembered just now, so nothing was changed; \
                 try again later, or without a key",
            )
            .with_header("Retry-After", retry_after_secs.to_string()),
        }
    }
}
// ANCHOR_END: errors

// ANCHOR: full
/// A full store is `409 Conflict`, not `507 Insufficient Storage`: the cap is
/// a rule of this collection, like a unique name would be, and the client
/// can resolve it by deleting a plant (RFC 9110 15.5.10: "a conflict with
/// the current state of the target resource"). A 5xx would say the server is
/// failing and invite a retry, which cannot succeed until something changes.
fn store_full(limit: usize) -> Error {
    Error::new(
        409,
        format!("the store is full ({limit} plants); delete one first"),
    )
}
// ANCHOR_END: full

/// Where plants are kept. The handlers below see only this trait, so the
/// store behind it can change without them changing.
pub trait PlantStore: Send + Sync + 'static {
    /// Up to `limit` plants with ids greater than `after`, in id order.
    fn list(
        &self,
        after: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Plant>, StoreError>> + Send;

    /// Stores a new plant with the next id; with `once`, only if its key
    /// has not been seen (else the answer it got then).
    fn create(
        &self,
        name: String,
        once: Option<&Once>,
    ) -> impl Future<Output = Result<Answer, StoreError>> + Send;

    /// The plant with this id, if there is one.
    fn get(&self, id: u64) -> impl Future<Output = Result<Option<Plant>, StoreError>> + Send;

    /// Renames the plant with this id; with `once`, as `create`.
    fn rename(
        &self,
        id: u64,
        name: String,
        once: Option<&Once>,
    ) -> impl Future<Output = Result<Answer, StoreError>> + Send;

    /// Deletes the plant with this id; whether there was one.
    fn delete(&self, id: u64) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// What a client sends to create or rename a plant.
#[derive(Debug, Deserialize)]
struct PlantInput {
    name: String,
}

/// The name from the request's JSON body, checked.
fn valid_name<S>(req: &Req<S>) -> Result<String, Error> {
    let input: PlantInput = req.json()?;
    let name = input.name.trim();
    if name.is_empty() {
        return Err(Error::bad_request("name must not be empty"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::bad_request(format!(
            "name must be at most {MAX_NAME_CHARS} characters"
        )));
    }
    // A control character would be six bytes of JSON (`\u0000`) and is no
    // part of a name; refusing them keeps a plant's JSON within the bound
    // that `MAX_PAGE_SIZE` is argued from.
    if name.chars().any(char::is_control) {
        return Err(Error::bad_request(
            "name must not contain control characters",
        ));
    }
    Ok(name.to_string())
}

/// `?limit=` and `?after=`, checked: a limit outside 1..=MAX_PAGE_SIZE is a
/// clear 400, not silently clamped, so a client learns the rule at once.
fn page_query<S>(req: &Req<S>) -> Result<(u64, usize), Error> {
    let limit = match req.query("limit") {
        None => DEFAULT_PAGE_SIZE,
        Some(text) => text
            .parse()
            .ok()
            .filter(|limit| (1..=MAX_PAGE_SIZE).contains(limit))
            .ok_or_else(|| {
                Error::bad_request(format!(
                    "limit must be a whole number from 1 to {MAX_PAGE_SIZE}"
                ))
            })?,
    };
    let after = match req.query("after") {
        None => 0,
        Some(text) => text
            .parse()
            .map_err(|_| Error::bad_request("after must be a plant id"))?,
    };
    Ok((after, limit))
}

fn no_such_plant(id: u64) -> Error {
    Error::not_found(format!("no plant with id {id}"))
}

// ANCHOR: handlers
/// `GET /api/plants?limit=50&after=ID`: one page of plants, oldest first.
/// If there are more, `Link: </api/plants?after=LAST&limit=50>; rel="next"`.
pub async fn list<P: PlantStore>(req: Req<P>) -> Result<Response, Error> {
    let (after, limit) = page_query(&req)?;
    // One more than asked: if it comes back, there is a next page.
    let mut plants = req.state().list(after, limit + 1).await?;
    let more = plants.len() > limit;
    plants.truncate(limit);
    let response = json(200, &plants)?;
    match plants.last() {
        Some(last) if more => Ok(response.with_header(
            "Link",
            format!(
                "</api/plants?after={}&limit={limit}>; rel=\"next\"",
                last.id
            ),
        )),
        _ => Ok(response),
    }
}

/// `POST /api/plants` with `{"name": "..."}`: 201, the new plant, and where
/// it lives. With an `Idempotency-Key`, a repeat gets the same answer.
pub async fn create<P: PlantStore>(req: Req<P>) -> Result<Response, Error> {
    let key = IdempotencyKey::of(&req)?;
    let name = valid_name(&req)?;
    let once = key.map(|key| Once::new(key, &req, &name));
    let answer = req.state().create(name, once.as_ref()).await?;
    respond(answer, 201, 0)
}

/// `GET /api/plants/:id`.
pub async fn get<P: PlantStore>(req: Req<P>) -> Result<Response, Error> {
    let id = req.param_as("id")?;
    let plant = req.state().get(id).await?;
    json(200, &plant.ok_or_else(|| no_such_plant(id))?)
}

/// `PUT /api/plants/:id` with `{"name": "..."}`: renames it. With an
/// `Idempotency-Key`, a repeat gets the same answer.
pub async fn update<P: PlantStore>(req: Req<P>) -> Result<Response, Error> {
    let key = IdempotencyKey::of(&req)?;
    let id = req.param_as("id")?;
    let name = valid_name(&req)?;
    let once = key.map(|key| Once::new(key, &req, &name));
    let answer = req.state().rename(id, name, once.as_ref()).await?;
    respond(answer, 200, id)
}

/// The response to a create (201) or a rename (200) of plant `id`; a
/// repeat's says so in `Idempotent-Replayed: true`.
fn respond(answer: Answer, status: u16, id: u64) -> Result<Response, Error> {
    let Answer { outcome, repeat } = answer;
    let response = match outcome {
        Outcome::Stored(plant) if status == 201 => {
            let location = format!("/api/plants/{}", plant.id);
            Ok(json(status, &plant)?.with_header("Location", location))
        }
        Outcome::Stored(plant) => json(status, &plant),
        Outcome::NoSuchPlant => Err(no_such_plant(id)),
        Outcome::Full { limit } => Err(store_full(limit)),
    };
    match (response, repeat) {
        (response, false) => response,
        (Ok(response), true) => Ok(response.with_header("Idempotent-Replayed", "true")),
        (Err(error), true) => Err(error.with_header("Idempotent-Replayed", "true")),
    }
}

/// `DELETE /api/plants/:id`: 204, no body.
pub async fn delete<P: PlantStore>(req: Req<P>) -> Result<Response, Error> {
    let id = req.param_as("id")?;
    if req.state().delete(id).await? {
        Ok(Response::new(204))
    } else {
        Err(no_such_plant(id))
    }
}
// ANCHOR_END: handlers
