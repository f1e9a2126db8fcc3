//! http-raw passes its own checker (`cargo run -p check -- http-raw ADDR`,
//! run in this process through the toolbox's library): the lesson's own
//! server passes every stage, and each build-along step passes exactly the
//! stages its header claims.
//!
//! That the checker is fair (a server with one deliberate flaw fails at the
//! stage for that flaw, Node servers pass what they should) is the toolbox's
//! own test: `check/tests/http_raw.rs`.

use std::net::{Ipv4Addr, SocketAddr};

use testkit::checker::{check, example};
use testkit::process;

#[tokio::test]
async fn the_lessons_own_server_passes_every_stage() {
    let mut server = process::spawn(env!("CARGO_BIN_EXE_http-raw"), &[]);
    let port = server.listening_port("http").await;
    let report = check(
        "http-raw",
        SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        false,
    )
    .await;
    report.assert_all_passed("http-raw");
}

/// Runs the build-along step `name` and checks it.
async fn check_step(name: &str, passes: usize) {
    let program = example("http-raw", name);
    let mut step = process::spawn(program.to_str().expect("a UTF-8 path"), &[]);
    let port = step.listening_port("http").await;
    let report = check(
        "http-raw",
        SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        false,
    )
    .await;
    report.assert_stops_after(passes, name);
}

// Each step's header says which stages it passes; these hold it to that.

#[tokio::test]
async fn step1_passes_stage_1_and_fails_route() {
    check_step("step1-respond", 1).await;
}

#[tokio::test]
async fn step2_passes_stages_1_to_2_and_fails_headers() {
    check_step("step2-route", 2).await;
}

#[tokio::test]
async fn step3_passes_stages_1_to_3_and_fails_the_body() {
    check_step("step3-headers", 3).await;
}

#[tokio::test]
async fn step4_passes_stages_1_to_5_and_fails_keep_alive() {
    check_step("step4-body", 5).await;
}

#[tokio::test]
async fn step5_passes_stages_1_to_6_and_fails_chunked() {
    check_step("step5-keep-alive", 6).await;
}

#[tokio::test]
async fn step6_passes_stages_1_to_8_and_fails_head() {
    check_step("step6-chunked", 8).await;
}

#[tokio::test]
async fn step7_passes_stages_1_to_9_and_fails_the_error_statuses() {
    check_step("step7-head", 9).await;
}

#[tokio::test]
async fn step8_passes_stages_1_to_11_and_fails_connection_close() {
    check_step("step8-refuse", 11).await;
}

#[tokio::test]
async fn step9_passes_every_stage() {
    let program = example("http-raw", "step9-connection");
    let mut step = process::spawn(program.to_str().expect("a UTF-8 path"), &[]);
    let port = step.listening_port("http").await;
    check(
        "http-raw",
        SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        false,
    )
    .await
    .assert_all_passed("step9-connection");
}
