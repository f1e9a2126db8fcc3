//! udp-echo passes its own checker (`cargo run -p check -- udp-echo ADDR`),
//! run in this process through the toolbox's library.
//!
//! - The lesson's own server passes every stage; with `UDP_BUFFER_BYTES=1024`
//!   it fails exactly stage 3.
//! - Each build-along step (`examples/stepN-*.rs`) passes exactly the stages
//!   its header claims.
//!
//! That the checker is fair (broken servers fail where they should, a Node
//! server passes) is the toolbox's own test: `check/tests/udp_echo.rs`.

use std::net::SocketAddr;

use check::Verdict;
use tcp_echo::config::ServerConfig;
use testkit::checker::{Report, check as run_check, example};
use testkit::in_process::{InProcess, run_in_process};
use testkit::process::spawn;
use udp_echo::{MAX_DATAGRAM, UdpEchoConfig, bind_udp};

/// Every stage of udp-echo's checker, by number.
const ALL_STAGES: &[usize] = &[1, 2, 3, 4];

/// Runs the checker in-process against `addr`, as `check udp-echo [--all] ADDR`.
async fn check(addr: SocketAddr, all: bool) -> Report {
    run_check("udp-echo", addr, all).await
}

// ---------------------------------------------------------------------------
// The lesson's own server.

fn config(buffer_size: usize) -> UdpEchoConfig {
    UdpEchoConfig {
        server: ServerConfig::localhost_any_port(),
        buffer_size,
        loop_window: udp_echo::loop_guard::LOOP_WINDOW,
    }
}

async fn start_server(config: UdpEchoConfig) -> InProcess<std::io::Result<udp_echo::EchoSummary>> {
    let socket = bind_udp(config.server.addr())
        .await
        .expect("bind 127.0.0.1:0");
    let addr = socket.local_addr().expect("local_addr");
    run_in_process(addr, move |shutdown| async move {
        udp_echo::run(socket, &config, shutdown).await
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lesson_server_passes_every_stage() {
    let server = start_server(config(MAX_DATAGRAM)).await;
    let outcome = check(server.addr, false).await;
    assert_eq!(outcome.passed(), ALL_STAGES, "{}", outcome.out);
    assert_eq!(outcome.verdict, Verdict::AllPassed);
    assert_eq!(outcome.err, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lesson_server_with_a_1024_byte_buffer_fails_only_stage_3() {
    let server = start_server(config(1024)).await;
    let outcome = check(server.addr, true).await;
    assert_eq!(outcome.passed(), [1, 2, 4], "{}", outcome.out);
    assert_eq!(outcome.failed(), [3], "{}", outcome.out);
    assert!(
        outcome
            .out
            .contains("the first 1024 of the 65507 bytes, the rest cut off"),
        "{}",
        outcome.out
    );
}

// ---------------------------------------------------------------------------
// The build-along steps: each passes exactly the stages it claims.

/// Each step, the stages it passes, and the sentence in its `//!` header
/// that says so (the header must not drift from the truth).
const STEP_CLAIMS: &[(&str, &[usize], &str)] = &[
    (
        "step1-one-datagram",
        &[1],
        "Checker: passes stage 1; fails stages 2-4",
    ),
    (
        "step2-loop",
        &[1, 2, 4],
        "Checker: passes stages 1, 2 and 4; fails stage 3",
    ),
    (
        "step3-full-size",
        ALL_STAGES,
        "Checker: passes every stage.",
    ),
    ("step4-tokio", ALL_STAGES, "Checker: passes every stage."),
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

        let program = example("udp-echo", name);
        let mut running = spawn(program.to_str().expect("a UTF-8 path"), &[]);
        let port = running.listening_port("udp").await;
        let outcome = check(SocketAddr::from(([127, 0, 0, 1], port)), true).await;
        assert_eq!(outcome.passed(), claimed, "{name}:\n{}", outcome.out);
    }
}
