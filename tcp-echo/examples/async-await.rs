//! Async in five minutes, 3: what `.await` does.
//!
//! What to notice: calling an `async fn` runs none of its code; it returns
//! a future, a paused computation. `.await` runs it: the future runs until
//! it must wait (a timer, a socket with nothing to read), then hands the
//! thread back to the runtime, which resumes it when its wait is over. Two
//! waits awaited one after the other take the sum of their times;
//! `tokio::join!` awaits both at once and takes the longer one.
//!
//! Try it: `cargo run -p tcp-echo --example async-await`.

use std::time::{Duration, Instant};

/// How long each of the two waits takes.
const WAIT: Duration = Duration::from_millis(300);

// ANCHOR: main
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let future = say("3. the future ran, because we awaited it");
    println!("1. called say(): it returned a future, and nothing was printed");
    println!("2. now we await it");
    future.await;

    let started = Instant::now();
    tokio::time::sleep(WAIT).await;
    tokio::time::sleep(WAIT).await;
    let one_after_another = started.elapsed();
    println!(
        "4. two 300 ms waits, one after the other: 600 ms or more: {}",
        one_after_another >= WAIT * 2
    );

    let started = Instant::now();
    tokio::join!(tokio::time::sleep(WAIT), tokio::time::sleep(WAIT));
    let at_once = started.elapsed();
    println!(
        "5. the same two waits with join!: less than 600 ms: {}",
        at_once < WAIT * 2
    );
}

/// Prints `text`, when (and if) the future it returns is awaited.
async fn say(text: &str) {
    println!("{text}");
}
// ANCHOR_END: main
