//! The exercises of lesson 2's "Build it yourself" page, checking themselves.
//!
//! Each test is ignored until you switch it on:
//! `cargo test -p udp-echo --test exercises -- --ignored` runs them against
//! your code in `examples/exercise-*.rs`, and they fail until the exercise
//! is done. With `NETLESSONS_SOLUTIONS=1` they run against the solutions in
//! `examples/solutions/` instead: CI does that, to prove each solution
//! passes the test you are given.

use std::collections::HashMap;
use std::net::SocketAddr;

#[allow(dead_code)]
#[path = "../examples/exercise-numbered.rs"]
mod exercise_numbered;

#[path = "../examples/solutions/numbered.rs"]
mod solution_numbered;

use exercise_numbered::{MAX_DATAGRAM, MAX_SENDERS};

type ReplyTo = fn(&mut HashMap<SocketAddr, u64>, SocketAddr, &[u8]) -> Vec<u8>;

/// Your code, or the solution when `NETLESSONS_SOLUTIONS` is set.
fn reply_to() -> ReplyTo {
    if std::env::var_os("NETLESSONS_SOLUTIONS").is_some() {
        solution_numbered::reply_to
    } else {
        exercise_numbered::reply_to
    }
}

fn sender(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

#[test]
#[ignore = "exercise: edit examples/exercise-numbered.rs, then run with -- --ignored"]
fn each_sender_gets_its_own_count() {
    let reply_to = reply_to();
    let mut senders = HashMap::new();
    let (a, b) = (sender(40001), sender(40002));
    assert_eq!(reply_to(&mut senders, a, b"hello"), b"1 hello");
    assert_eq!(reply_to(&mut senders, a, b"again"), b"2 again");
    assert_eq!(
        reply_to(&mut senders, b, b"hi"),
        b"1 hi",
        "b has its own count"
    );
    assert_eq!(
        reply_to(&mut senders, a, b""),
        b"3 ",
        "an empty datagram counts too"
    );
}

#[test]
#[ignore = "exercise: edit examples/exercise-numbered.rs, then run with -- --ignored"]
fn a_reply_never_exceeds_the_largest_datagram() {
    let reply_to = reply_to();
    let mut senders = HashMap::new();
    let largest = vec![b'x'; MAX_DATAGRAM];
    let reply = reply_to(&mut senders, sender(40001), &largest);
    assert_eq!(reply.len(), MAX_DATAGRAM, "cut the datagram to fit");
    assert!(reply.starts_with(b"1 xxx"));
}

#[test]
#[ignore = "exercise: edit examples/exercise-numbered.rs, then run with -- --ignored"]
fn the_counts_stay_bounded_however_many_senders_come() {
    let reply_to = reply_to();
    let mut senders = HashMap::new();
    for port in 0..5000 {
        assert_eq!(reply_to(&mut senders, sender(port), b"x"), b"1 x");
        assert!(
            senders.len() <= MAX_SENDERS,
            "{} senders remembered; at most {MAX_SENDERS}",
            senders.len()
        );
    }
}

#[test]
fn the_solution_fills_exactly_the_exercises_hole() {
    testkit::exercises::assert_fragment_fills_anchor(
        env!("CARGO_MANIFEST_DIR"),
        "examples/exercise-numbered.rs",
        "examples/solutions/numbered.rs",
        "reply_to",
    );
}
