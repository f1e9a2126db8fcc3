//! The exercises of lesson 1's "Build it yourself" page, checking themselves.
//!
//! Each test is ignored until you switch it on:
//! `cargo test -p tcp-echo --test exercises -- --ignored` runs them against
//! your code in `examples/exercise-*.rs`, and they fail until the exercise
//! is done. With `NETLESSONS_SOLUTIONS=1` they run against the solutions in
//! `examples/solutions/` instead: CI does that, to prove each solution
//! passes the test you are given.

#[allow(dead_code)]
#[path = "../examples/exercise-shout.rs"]
mod exercise_shout;

#[path = "../examples/solutions/shout.rs"]
mod solution_shout;

/// Your code, or the solution when `NETLESSONS_SOLUTIONS` is set.
fn under_test<T>(yours: T, solution: T) -> T {
    if std::env::var_os("NETLESSONS_SOLUTIONS").is_some() {
        solution
    } else {
        yours
    }
}

#[test]
#[ignore = "exercise: edit examples/exercise-shout.rs, then run with -- --ignored"]
fn shout_turns_letters_into_capitals_and_leaves_every_other_byte() {
    let shout = under_test::<fn(&mut [u8])>(exercise_shout::shout, solution_shout::shout);
    let table: &[(&[u8], &[u8])] = &[
        (b"hello\n", b"HELLO\n"),
        (b"Hello, World 123!\r\n", b"HELLO, WORLD 123!\r\n"),
        (b"", b""),
        // Not text at all: NUL, and bytes that are not UTF-8, stay as they are.
        (b"a\x00b\xff\xfez", b"A\x00B\xff\xfeZ"),
        // UTF-8 letters outside ASCII are not ours to change: a chunk may
        // end in the middle of one.
        ("é".as_bytes(), "é".as_bytes()),
    ];
    for &(sent, expected) in table {
        let mut bytes = sent.to_vec();
        shout(&mut bytes);
        assert_eq!(
            bytes,
            expected,
            "shout({:?}) should give {:?}",
            String::from_utf8_lossy(sent),
            String::from_utf8_lossy(expected)
        );
    }
}

#[test]
fn the_solution_fills_exactly_the_exercises_hole() {
    testkit::exercises::assert_fragment_fills_anchor(
        env!("CARGO_MANIFEST_DIR"),
        "examples/exercise-shout.rs",
        "examples/solutions/shout.rs",
        "shout",
    );
}
