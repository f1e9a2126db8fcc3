//! The plant store in this process's memory: the default.
//!
//! What to notice: requests run concurrently, on several threads, so the
//! plants sit behind a `Mutex`: each call locks it, does its few steps, and
//! unlocks it. No two creates can take the same id, no update is lost, and
//! the cap cannot be passed by two creates racing for the last place. It is
//! a std `Mutex`, not tokio's: it is never held across an `.await`, so it is
//! never held while a task sleeps, and the std one is simpler and faster.
//!
//! A `BTreeMap` keeps the plants in id order, so a page (`after`, `limit`) is
//! a range read: a few steps down the tree, then `limit` entries in order.
//!
//! The `Idempotency-Key`s remembered (`idempotency.rs`) sit under the same
//! lock as the plants, so "was this key seen? if not, make the change and
//! remember it" is one step: two tries with one key cannot both create.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use crate::idempotency::{MAX_REMEMBERED_KEYS, Once, Recall, Remembered};
use crate::plants::{Answer, Outcome, Plant, PlantStore, StoreError};

/// Plants in memory, at most `limit` of them.
#[derive(Debug)]
pub struct MemoryStore {
    /// The most plants the store will hold.
    limit: usize,
    inner: Mutex<Plants>,
}

/// The plants, the last id given out, and the keys remembered.
#[derive(Debug)]
struct Plants {
    last_id: u64,
    by_id: BTreeMap<u64, Plant>,
    answers: Remembered<Outcome>,
}

impl MemoryStore {
    /// An empty store that holds at most `limit` plants.
    pub fn new(limit: usize) -> MemoryStore {
        MemoryStore {
            limit,
            inner: Mutex::new(Plants {
                last_id: 0,
                by_id: BTreeMap::new(),
                answers: Remembered::new(MAX_REMEMBERED_KEYS),
            }),
        }
    }

    /// The plants, locked. A poisoned lock means a handler panicked while
    /// holding it; every change below is a single step, so the data is
    /// still consistent and we carry on.
    fn plants(&self) -> MutexGuard<'_, Plants> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes `change` under the lock, at most once per key: a repeat of
    /// `once` gets the outcome remembered for it instead.
    fn once(
        &self,
        once: Option<&Once>,
        change: impl FnOnce(&mut Plants) -> Outcome,
    ) -> Result<Answer, StoreError> {
        let mut plants = self.plants();
        let Some(once) = once else {
            let outcome = change(&mut plants);
            return Ok(Answer {
                outcome,
                repeat: false,
            });
        };
        let now = Instant::now();
        match plants.answers.recall(once, now) {
            Recall::Repeat(outcome) => Ok(Answer {
                outcome,
                repeat: true,
            }),
            Recall::OtherRequest => Err(StoreError::KeyReused),
            Recall::NoRoom(wait) => Err(StoreError::TooManyKeys {
                retry_after_secs: wait.as_secs().max(1),
            }),
            Recall::New => {
                let outcome = change(&mut plants);
                plants.answers.remember(once, outcome.clone(), now);
                Ok(Answer {
                    outcome,
                    repeat: false,
                })
            }
        }
    }
}

impl PlantStore for MemoryStore {
    async fn list(&self, after: u64, limit: usize) -> Result<Vec<Plant>, StoreError> {
        let plants = self.plants();
        let page = plants
            .by_id
            .range((Bound::Excluded(after), Bound::Unbounded))
            .take(limit)
            .map(|(_, plant)| plant.clone())
            .collect();
        Ok(page)
    }

    async fn create(&self, name: String, once: Option<&Once>) -> Result<Answer, StoreError> {
        let limit = self.limit;
        self.once(once, |plants| {
            if plants.by_id.len() >= limit {
                return Outcome::Full { limit };
            }
            plants.last_id += 1;
            let plant = Plant {
                id: plants.last_id,
                name,
            };
            plants.by_id.insert(plant.id, plant.clone());
            Outcome::Stored(plant)
        })
    }

    async fn get(&self, id: u64) -> Result<Option<Plant>, StoreError> {
        Ok(self.plants().by_id.get(&id).cloned())
    }

    async fn rename(
        &self,
        id: u64,
        name: String,
        once: Option<&Once>,
    ) -> Result<Answer, StoreError> {
        self.once(once, |plants| match plants.by_id.get_mut(&id) {
            Some(plant) => {
                plant.name = name;
                Outcome::Stored(plant.clone())
            }
            None => Outcome::NoSuchPlant,
        })
    }

    async fn delete(&self, id: u64) -> Result<bool, StoreError> {
        Ok(self.plants().by_id.remove(&id).is_some())
    }
}
