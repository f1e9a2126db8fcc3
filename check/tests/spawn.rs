//! Is `--spawn` fair? The courses' Node practice passes every stage but the
//! graceful one, and with a SIGINT handler passes them all; first servers
//! that answer well but live badly (`tests/node/first-server-life.js`, one
//! flaw each) fail at exactly the stage for their flaw.
//!
//! That each lesson's own server passes its checker spawned is the lesson's
//! own test (`LESSON/tests/checker.rs`).

#![cfg(unix)]

mod support;

use check::Verdict;
use support::{Outcome, check};

/// `node tests/node/SCRIPT`, with `settings` in front (`FLAW=x`).
fn node(settings: &str, script: &str) -> String {
    format!(
        "{settings} node {}/tests/node/{script}",
        env!("CARGO_MANIFEST_DIR")
    )
    .trim()
    .to_string()
}

/// `check first-server --all --spawn COMMAND`.
async fn spawned(command: &str) -> Outcome {
    check(&["first-server", "--all", "--spawn", command]).await
}

/// Asserts (the run being `--all`) that `stage` is the only one that
/// failed, every stage before it passed, and the report says `says`.
fn assert_fails_only(outcome: &Outcome, stage: usize, says: &[&str]) {
    let passed = outcome.passed();
    let before: Vec<usize> = passed.iter().copied().filter(|&n| n < stage).collect();
    assert_eq!(before, (1..stage).collect::<Vec<_>>(), "{}", outcome.out);
    assert_eq!(outcome.failed(), [stage], "{}", outcome.out);
    assert_eq!(outcome.verdict, Verdict::StageFailed);
    for words in says {
        assert!(
            outcome.out.contains(words),
            "{words:?} in:\n{}",
            outcome.out
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_courses_practice_fails_only_the_graceful_stage_and_is_told_what_to_add() {
    let outcome = spawned(&node("", "first-server.js")).await;
    assert_fails_only(
        &outcome,
        8,
        &[
            "FAIL stage 8: Ctrl+C (SIGINT) with a request in flight",
            "was killed by signal 2 (SIGINT)",
            "process.on('SIGINT', () => server.close(() => process.exit(0)))",
            "SKIP stage 9: SIGTERM with a request in flight (needs stage 8)",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_practice_with_a_sigint_handler_passes_every_stage() {
    let outcome = spawned(&node("", "first-server-graceful.js")).await;
    assert_eq!(
        outcome.passed(),
        (1..=9).collect::<Vec<_>>(),
        "{}",
        outcome.out
    );
    assert_eq!(outcome.verdict, Verdict::AllPassed);
    assert_eq!(outcome.err, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_ignoring_port_fails_stage_1_quoting_what_it_printed() {
    let outcome = spawned(&node("FLAW=ignores-port", "first-server-life.js")).await;
    assert_fails_only(
        &outcome,
        1,
        &[
            "nothing listens on PORT after 10 s",
            "| Server running at http://127.0.0.1:",
            "process.env.PORT",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_exiting_at_start_fails_stage_1_with_status_and_last_lines() {
    let outcome = spawned(&node("FLAW=exits-at-start", "first-server-life.js")).await;
    assert_fails_only(
        &outcome,
        1,
        &[
            "it exited with status 1 ",
            "s after it started; its last 1 lines:",
            "| Error: cannot find module ./routes",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_logging_nothing_fails_the_log_stage() {
    let outcome = spawned(&node("FLAW=logs-nothing", "first-server-life.js")).await;
    assert_fails_only(
        &outcome,
        7,
        &["no line names GET /, GET /any/path?x=1, GET /favicon.ico"],
    );
    assert_eq!(
        outcome.passed(),
        [1, 2, 3, 4, 5, 6, 8, 9],
        "{}",
        outcome.out
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_exits_on_ctrl_c_fails_the_graceful_stage() {
    let outcome = spawned(&node("FLAW=never-exits", "first-server-life.js")).await;
    assert_fails_only(
        &outcome,
        8,
        &[
            "it was still running 10 s after SIGINT (Ctrl+C)",
            "| signal received; ignoring it",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_exiting_before_the_request_in_flight_is_answered_fails_the_graceful_stage() {
    let outcome = spawned(&node("FLAW=exits-mid-request", "first-server-life.js")).await;
    assert_fails_only(
        &outcome,
        8,
        &[
            "the work in flight got \"\" (0 bytes)",
            "let the work in flight finish",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_exiting_1_on_ctrl_c_fails_the_graceful_stage() {
    let outcome = spawned(&node("FLAW=exits-1", "first-server-life.js")).await;
    assert_fails_only(
        &outcome,
        8,
        &[
            "it exited with status 1 ",
            "exit with status 0 after a clean shutdown",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_whose_child_keeps_the_port_fails_the_graceful_stage() {
    let outcome = spawned(&node("FLAW=child-keeps-port", "first-server-life.js")).await;
    assert_fails_only(
        &outcome,
        8,
        &[
            "was still bound afterwards",
            "a process it started still holds the port",
        ],
    );
    // The child it left behind is in the program's process group, which
    // the checker kills when done: the port comes free.
    let port: u16 = outcome
        .out
        .split("with PORT=")
        .nth(1)
        .and_then(|rest| rest.split(' ').next()?.parse().ok())
        .expect("the started line names PORT");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the child still holds {port}"
        );
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_with_an_addr_too_is_bad_usage() {
    let outcome = check(&["first-server", "--spawn", "node x.js", "127.0.0.1:3000"]).await;
    assert_eq!(outcome.verdict, Verdict::Unusable);
    assert!(outcome.err.contains("not both"), "{}", outcome.err);
    assert_eq!(outcome.out, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_echo_that_crashes_on_port_abc_fails_the_port_stage_as_a_crash() {
    let outcome = check(&["tcp-echo", "--spawn", &node("", "tcp-echo.js")]).await;
    assert_eq!(outcome.passed(), [1, 2, 3, 4, 5, 6], "{}", outcome.out);
    assert_eq!(outcome.failed(), [7], "{}", outcome.out);
    for words in [
        "FAIL stage 7: PORT=abc: one clear line, a non-zero exit",
        "it exited with status 1 ",
        "RangeError",
        "a crash (a panic, a stack trace) is not an error message",
    ] {
        assert!(
            outcome.out.contains(words),
            "{words:?} in:\n{}",
            outcome.out
        );
    }
}
