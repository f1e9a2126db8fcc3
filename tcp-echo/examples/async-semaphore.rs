//! Async in five minutes, 4: a semaphore lets only so many in at once.
//!
//! What to notice: tasks are cheap, so nothing stops a server from starting
//! one per client until it runs out of memory or file descriptors. A
//! semaphore holds a fixed number of permits; a task waits in
//! `acquire_owned` until one is free and gives it back when the permit is
//! dropped. Here 10 tasks share 3 permits, so at most 3 are ever inside.
//! Lesson 1 takes a permit before each `accept`, so at its limit it simply
//! stops accepting (step 5 of the build-along does the same).
//!
//! Try it: `cargo run -p tcp-echo --example async-semaphore`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// How many tasks want in.
const TASKS: usize = 10;
/// How many may be inside at once.
const PERMITS: usize = 3;

// ANCHOR: main
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let permits = Arc::new(Semaphore::new(PERMITS));
    let inside = Arc::new(AtomicUsize::new(0));
    let most_inside = Arc::new(AtomicUsize::new(0));
    let mut tasks = JoinSet::new();
    for _ in 0..TASKS {
        let (permits, inside, most_inside) = (permits.clone(), inside.clone(), most_inside.clone());
        tasks.spawn(async move {
            // Fails only if the semaphore is closed, which we never do.
            let Ok(_permit) = permits.acquire_owned().await else {
                return;
            };
            let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
            most_inside.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(100)).await;
            inside.fetch_sub(1, Ordering::SeqCst);
            // `_permit` is dropped here, at the end of the task: the next may go in.
        });
    }
    while tasks.join_next().await.is_some() {}
    println!(
        "{TASKS} tasks, {PERMITS} permits: at most {} were inside at once",
        most_inside.load(Ordering::SeqCst)
    );
}
// ANCHOR_END: main
