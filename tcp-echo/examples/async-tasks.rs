//! Async in five minutes, 2: ten thousand tasks wait at once, on one thread.
//!
//! What to notice: `tokio::spawn` starts a *task*, not a thread. A task is a
//! future (a state machine the compiler built from an `async` block) that
//! the runtime polls; while it waits, it is just a few hundred bytes in
//! memory, and the thread runs other tasks. Here one thread
//! (`current_thread`) runs 10,000 tasks that each wait 500 ms, and they all
//! finish in about 500 ms. Ten thousand threads would need gigabytes of
//! stack address space; these need a few megabytes.
//!
//! Try it: `cargo run -p tcp-echo --example async-tasks`.

use std::time::{Duration, Instant};

use tokio::task::JoinSet;

/// How many tasks, each waiting at once.
const TASKS: usize = 10_000;
/// How long each task waits.
const WAIT: Duration = Duration::from_millis(500);

// ANCHOR: main
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for _ in 0..TASKS {
        tasks.spawn(async {
            tokio::time::sleep(WAIT).await;
        });
    }
    let mut finished = 0;
    while let Some(result) = tasks.join_next().await {
        if result.is_ok() {
            finished += 1;
        }
    }
    println!("{finished} tasks waited 500 ms each, on 1 thread");
    if started.elapsed() < WAIT * 10 {
        println!("together in less than 5 s: they all waited at once");
    } else {
        println!("together in 5 s or more: the machine is very busy");
    }
}
// ANCHOR_END: main
