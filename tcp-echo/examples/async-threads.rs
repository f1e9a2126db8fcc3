//! Async in five minutes, 1: threads wait at the same time.
//!
//! What to notice: a process (this program) can run several threads, and
//! the operating system switches between them. While one thread waits (here
//! `sleep`, in a server a `read`), the others carry on. Three threads that
//! each wait 300 ms finish in about 300 ms, not 900. Each thread costs a
//! stack and a kernel structure, which is why step 3's thread per client
//! stops scaling somewhere in the thousands.
//!
//! Try it: `cargo run -p tcp-echo --example async-threads`.

use std::thread;
use std::time::{Duration, Instant};

/// How long each thread waits.
const WAIT: Duration = Duration::from_millis(300);

// ANCHOR: main
fn main() {
    let started = Instant::now();
    let threads: Vec<_> = (1..=3)
        .map(|number| {
            thread::spawn(move || {
                thread::sleep(WAIT);
                number
            })
        })
        .collect();
    for thread in threads {
        match thread.join() {
            Ok(number) => println!("thread {number} done"),
            Err(_) => println!("a thread panicked"),
        }
    }
    let one_after_another = WAIT * 3;
    if started.elapsed() < one_after_another {
        println!("3 threads waited 300 ms each, in less than 900 ms: at the same time");
    } else {
        println!("3 threads waited 300 ms each, in 900 ms or more: one after another");
    }
}
// ANCHOR_END: main
