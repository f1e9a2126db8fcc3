//! ws-chat passes its own checker (`cargo run -p check -- ws-chat ADDR`,
//! run in this process through the toolbox's library).
//!
//! - The lesson's own server passes every stage; given a wrong path, the
//!   handshake stage quotes the server's 404.
//! - Each build-along step (`examples/stepN-*.rs`) passes exactly the stages
//!   its header claims.
//!
//! That the checker is fair (broken servers fail where they should, a Node
//! chat passes what it should) is the toolbox's own test:
//! `check/tests/ws_chat.rs`.

use std::net::SocketAddr;

use check::Verdict;
use testkit::checker::{Report, check as run_check, example};
use testkit::process::{Running, spawn};

const WS_CHAT: &str = env!("CARGO_BIN_EXE_ws-chat");

/// Every stage of the chat checker, by number.
const ALL_STAGES: &[usize] = &[1, 2, 3, 4, 5, 6, 7];

/// Runs the checker in-process, as `check ws-chat [--all] ADDR`.
async fn check(addr: &str, all: bool) -> Report {
    run_check("ws-chat", addr, all).await
}

/// The lesson's binary, with no rate limit (the checker sends in bursts).
async fn start_lesson_server() -> (Running, SocketAddr) {
    let mut server = spawn(WS_CHAT, &[("RATE_LIMIT", "0")]);
    let port = server.listening_port("http").await;
    (server, SocketAddr::from(([127, 0, 0, 1], port)))
}

// ---------------------------------------------------------------------------
// The lesson's own server.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lesson_server_passes_every_stage() {
    let (_server, addr) = start_lesson_server().await;
    for given in [addr.to_string(), format!("ws://{addr}/ws")] {
        let outcome = check(&given, false).await;
        assert_eq!(outcome.passed(), ALL_STAGES, "{given}:\n{}", outcome.out);
        assert_eq!(outcome.verdict, Verdict::AllPassed);
        assert_eq!(outcome.err, "");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lesson_server_over_tls_passes_every_stage_checked_over_wss() {
    let ca = testkit::tls::TestCa::new();
    let cert = ca.cert_pem.to_str().expect("a UTF-8 path");
    let key = ca.key_pem.to_str().expect("a UTF-8 path");
    let mut server = spawn(
        WS_CHAT,
        &[("RATE_LIMIT", "0"), ("TLS_CERT", cert), ("TLS_KEY", key)],
    );
    let port = server.listening_port("https").await;
    let ca_file = ca.ca_pem.to_str().expect("a UTF-8 path");
    let wss = format!("wss://localhost:{port}/ws");
    let report = testkit::checker::check_args(&["ws-chat", "--ca", ca_file, &wss]).await;
    assert_eq!(report.passed(), ALL_STAGES, "{wss}:\n{}", report.out);
    assert_eq!(report.verdict, Verdict::AllPassed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_path_fails_the_handshake_with_the_servers_answer() {
    let (_server, addr) = start_lesson_server().await;
    let outcome = check(&format!("ws://{addr}/chat"), false).await;
    assert_eq!(outcome.failed(), [1], "{}", outcome.out);
    assert!(
        outcome.out.contains(r"GET /chat HTTP/1.1\r\n"),
        "{}",
        outcome.out
    );
    assert!(
        outcome
            .out
            .contains(r#"got:      "HTTP/1.1 404 Not Found\r\n"#),
        "{}",
        outcome.out
    );
    assert!(
        outcome.out.contains("the WebSocket endpoint?"),
        "{}",
        outcome.out
    );
}

// ---------------------------------------------------------------------------
// The build-along steps: each passes exactly the stages it claims.

/// Each step, the stages it passes, those it skips (a stage they need
/// failed; every other stage fails), and the sentence in its `//!` header
/// that says so (the header must not drift from the truth).
const STEP_CLAIMS: &[(&str, &[usize], &[usize], &str)] = &[
    (
        "step1-echo",
        &[1],
        &[3, 4, 5, 6, 7],
        "Checker: passes stage 1; fails stage 2; skips stages 3-7, which need it.",
    ),
    (
        "step2-handshake",
        &[1, 2],
        &[5, 6, 7],
        "Checker: passes stages 1-2; fails stages 3-4; skips stages 5-7, which\n//! need stage 3.",
    ),
    (
        "step3-broadcast",
        &[1, 2, 3, 4],
        &[],
        "Checker: passes stages 1-4; fails stages 5-7.",
    ),
    (
        "step4-nick",
        &[1, 2, 3, 4, 5],
        &[],
        "Checker: passes stages 1-5; fails stages 6-7.",
    ),
    (
        "step5-rooms",
        &[1, 2, 3, 4, 5, 6],
        &[],
        "Checker: passes stages 1-6; fails stage 7.",
    ),
    (
        "step6-limits",
        ALL_STAGES,
        &[],
        "Checker: passes every stage.",
    ),
    (
        "step7-page",
        ALL_STAGES,
        &[],
        "Checker: passes every stage.",
    ),
];

/// Starts an example and returns it with its address.
async fn start_example(name: &str) -> (Running, SocketAddr) {
    let program = example("ws-chat", name);
    let mut running = spawn(program.to_str().expect("a UTF-8 path"), &[]);
    let port = running.listening_port("http").await;
    (running, SocketAddr::from(([127, 0, 0, 1], port)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_step_passes_exactly_the_stages_it_claims() {
    // All at once: a step that fails a stage makes the checker wait out its
    // timeout, and six steps one after the other would wait minutes.
    let runs = STEP_CLAIMS
        .iter()
        .map(|&(name, claimed, skipped, sentence)| async move {
            let path = format!("{}/examples/{name}.rs", env!("CARGO_MANIFEST_DIR"));
            let source = std::fs::read_to_string(path).expect("the step's source");
            assert!(
                source.contains(sentence),
                "{name}.rs should say {sentence:?} in its header"
            );
            let (_step, addr) = start_example(name).await;
            let outcome = check(&addr.to_string(), true).await;
            assert_eq!(outcome.passed(), claimed, "{name}:\n{}", outcome.out);
            let failed: Vec<usize> = (claimed.len() + 1..=ALL_STAGES.len())
                .filter(|stage| !skipped.contains(stage))
                .collect();
            assert_eq!(outcome.failed(), failed, "{name}:\n{}", outcome.out);
            assert_eq!(outcome.skipped(), skipped, "{name}:\n{}", outcome.out);
        });
    futures_util::future::join_all(runs).await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lesson_server_passes_every_stage_spawned_from_port_to_ctrl_c() {
    let report = testkit::checker::check_spawned("ws-chat", env!("CARGO_BIN_EXE_ws-chat")).await;
    report.assert_spawned_all_passed("ws-chat --spawn");
}
