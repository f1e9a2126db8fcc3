//! The demo's JSON API: plants, kept in memory.
//!
//! What to notice: the store lives in the app state, created once in `main`
//! and shared by every request through an `Arc`. It outlives every request,
//! which is what makes `POST` then `GET` work, and it dies with the process:
//! restart the server and the plants are gone (a database is how real apps
//! keep data across restarts).
//!
//! Requests run concurrently, on several threads, so the store sits behind a
//! `Mutex`: each handler locks it, does its few steps, and unlocks it. No two
//! creates can take the same id, and no update is lost. It is a std `Mutex`,
//! not tokio's: it is never held across an `.await`, so it is never held
//! while the task sleeps, and the std one is simpler and faster.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use http_raw::Response;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::json::json;
use crate::req::Req;

/// The longest plant name we accept.
pub const MAX_NAME_CHARS: usize = 100;

/// One plant, as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Plant {
    /// Given by the server, never reused.
    pub id: u64,
    /// Given by the client.
    pub name: String,
}

/// What a client sends to create or rename a plant.
#[derive(Debug, Deserialize)]
struct PlantInput {
    name: String,
}

/// The plants, and the next id to give out.
#[derive(Debug, Default)]
pub struct PlantStore {
    next_id: u64,
    plants: BTreeMap<u64, Plant>,
}

/// The demo app's state, shared by all requests.
#[derive(Debug, Default)]
pub struct AppState {
    plants: Mutex<PlantStore>,
}

impl AppState {
    /// An empty store.
    pub fn new() -> AppState {
        AppState::default()
    }

    /// The store, locked. A poisoned lock means a handler panicked while
    /// holding it; every change below is a single step, so the data is
    /// still consistent and we carry on.
    fn plants(&self) -> MutexGuard<'_, PlantStore> {
        self.plants.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The name from the request's JSON body, checked.
fn valid_name(req: &Req<AppState>) -> Result<String, Error> {
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
    Ok(name.to_string())
}

fn no_such_plant(id: u64) -> Error {
    Error::not_found(format!("no plant with id {id}"))
}

// ANCHOR: handlers
/// `GET /api/plants`: all plants, oldest first.
pub async fn list(req: Req<AppState>) -> Result<Response, Error> {
    let plants: Vec<Plant> = req.state().plants().plants.values().cloned().collect();
    json(200, &plants)
}

/// `POST /api/plants` with `{"name": "..."}`: 201, the new plant, and where it lives.
pub async fn create(req: Req<AppState>) -> Result<Response, Error> {
    let name = valid_name(&req)?;
    let plant = {
        let mut store = req.state().plants();
        store.next_id += 1;
        let plant = Plant {
            id: store.next_id,
            name,
        };
        store.plants.insert(plant.id, plant.clone());
        plant
    };
    Ok(json(201, &plant)?.with_header("Location", format!("/api/plants/{}", plant.id)))
}

/// `GET /api/plants/:id`.
pub async fn get(req: Req<AppState>) -> Result<Response, Error> {
    let id = req.param_as("id")?;
    let plant = req.state().plants().plants.get(&id).cloned();
    json(200, &plant.ok_or_else(|| no_such_plant(id))?)
}

/// `PUT /api/plants/:id` with `{"name": "..."}`: renames it.
pub async fn update(req: Req<AppState>) -> Result<Response, Error> {
    let id = req.param_as("id")?;
    let name = valid_name(&req)?;
    let mut store = req.state().plants();
    let plant = store.plants.get_mut(&id).ok_or_else(|| no_such_plant(id))?;
    plant.name = name;
    json(200, plant)
}

/// `DELETE /api/plants/:id`: 204, no body.
pub async fn delete(req: Req<AppState>) -> Result<Response, Error> {
    let id = req.param_as("id")?;
    match req.state().plants().plants.remove(&id) {
        Some(_) => Ok(Response::new(204)),
        None => Err(no_such_plant(id)),
    }
}
// ANCHOR_END: handlers
