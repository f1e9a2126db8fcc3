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

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::plants::{Plant, PlantStore, StoreError};

/// Plants in memory, at most `limit` of them.
#[derive(Debug)]
pub struct MemoryStore {
    /// The most plants the store will hold.
    limit: usize,
    inner: Mutex<Plants>,
}

/// The plants, and the last id given out.
#[derive(Debug, Default)]
struct Plants {
    last_id: u64,
    by_id: BTreeMap<u64, Plant>,
}

impl MemoryStore {
    /// An empty store that holds at most `limit` plants.
    pub fn new(limit: usize) -> MemoryStore {
        MemoryStore {
            limit,
            inner: Mutex::default(),
        }
    }

    /// The plants, locked. A poisoned lock means a handler panicked while
    /// holding it; every change below is a single step, so the data is
    /// still consistent and we carry on.
    fn plants(&self) -> MutexGuard<'_, Plants> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
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

    async fn create(&self, name: String) -> Result<Plant, StoreError> {
        let mut plants = self.plants();
        if plants.by_id.len() >= self.limit {
            return Err(StoreError::Full { limit: self.limit });
        }
        plants.last_id += 1;
        let plant = Plant {
            id: plants.last_id,
            name,
        };
        plants.by_id.insert(plant.id, plant.clone());
        Ok(plant)
    }

    async fn get(&self, id: u64) -> Result<Option<Plant>, StoreError> {
        Ok(self.plants().by_id.get(&id).cloned())
    }

    async fn rename(&self, id: u64, name: String) -> Result<Option<Plant>, StoreError> {
        let mut plants = self.plants();
        Ok(plants.by_id.get_mut(&id).map(|plant| {
            plant.name = name;
            plant.clone()
        }))
    }

    async fn delete(&self, id: u64) -> Result<bool, StoreError> {
        Ok(self.plants().by_id.remove(&id).is_some())
    }
}
