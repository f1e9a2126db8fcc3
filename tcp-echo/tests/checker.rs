//! tcp-echo passes its own checker (`cargo run -p check -- tcp-echo ADDR`),
//! run in this process through the toolbox's library.
//!
//! - The lesson's own server passes every stage (the one-at-a-time
//!   `blocking` mode fails exactly stage 3, as it should).
//! - Each build-along step (`examples/stepN-*.rs`) passes exactly the stages
//!   its header claims.
//!
//! That the checker is fair (broken servers fail where they should, Node
//! servers pass what they should) is the toolbox's own test:
//! `check/tests/tcp_echo.rs`.

mod support;

use std::net::SocketAddr;

use check::Verdict;
use support::{config, start_server};
use tcp_echo::EchoMode;
use testkit::checker::{check, example};
use testkit::process::spawn;

/// Every stage of tcp-echo's checker, by number.
const ALL_STAGES: &[usize] = &[1, 2, 3, 4, 5];

// ---------------------------------------------------------------------------
// The lesson's own server.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lesson_server_passes_every_stage() {
    for mode in [EchoMode::Async, EchoMode::Threads] {
        let server = start_server(config(mode)).await;
        let report = check("tcp-echo", server.addr, false).await;
        assert_eq!(report.passed(), ALL_STAGES, "{mode}:\n{}", report.out);
        report.assert_all_passed(&format!("tcp-echo in {mode} mode"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lesson_blocking_server_fails_only_five_clients_at_once() {
    let server = start_server(config(EchoMode::Blocking)).await;
    let report = check("tcp-echo", server.addr, true).await;
    assert_eq!(report.passed(), [1, 2, 4, 5], "{}", report.out);
    assert_eq!(report.failed(), [3], "{}", report.out);
    assert_eq!(report.verdict, Verdict::StageFailed);
}

// ---------------------------------------------------------------------------
// The build-along steps: each passes exactly the stages it claims.

/// Each step, the stages it passes, and the sentence in its `//!` header
/// that says so (the header must not drift from the truth).
const STEP_CLAIMS: &[(&str, &[usize], &str)] = &[
    (
        "step1-lines",
        &[1],
        "Checker: passes stage 1; fails stages 2-5",
    ),
    (
        "step2-bytes",
        &[1, 2, 4, 5],
        "Checker: passes stages 1, 2, 4 and 5; fails stage 3",
    ),
    ("step3-threads", ALL_STAGES, "Checker: passes every stage."),
    ("step4-tasks", ALL_STAGES, "Checker: passes every stage."),
    ("step5-limits", ALL_STAGES, "Checker: passes every stage."),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_step_passes_exactly_the_stages_it_claims() {
    for &(name, claimed, sentence) in STEP_CLAIMS {
        let source =
            std::fs::read_to_string(format!("{}/examples/{name}.rs", env!("CARGO_MANIFEST_DIR")))
                .expect("the step's source");
        assert!(
            source.contains(sentence),
            "{name}.rs should say {sentence:?} in its header"
        );

        let program = example("tcp-echo", name);
        let mut running = spawn(program.to_str().expect("a UTF-8 path"), &[]);
        let port = running.listening_port("tcp").await;
        let report = check("tcp-echo", SocketAddr::from(([127, 0, 0, 1], port)), true).await;
        assert_eq!(report.passed(), claimed, "{name}:\n{}", report.out);
        let verdict = if claimed == ALL_STAGES {
            Verdict::AllPassed
        } else {
            Verdict::StageFailed
        };
        assert_eq!(report.verdict, verdict, "{name}:\n{}", report.out);
    }
}
