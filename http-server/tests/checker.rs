//! http-server passes its own checker (`cargo run -p check -- http-server
//! ADDR`, run in this process through the toolbox's library): the lesson's
//! own server passes every stage, and each build-along step passes exactly
//! the stages its header claims.
//!
//! That the checker is fair (an app with one deliberate flaw fails at the
//! stage for that flaw, a Node app passes what it should) is the toolbox's
//! own test: `check/tests/http_server.rs`.

use std::net::{Ipv4Addr, SocketAddr};

use testkit::checker::{check, example};
use testkit::process;

fn local(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

#[tokio::test]
async fn the_lessons_own_server_passes_every_stage() {
    let mut server = process::spawn(env!("CARGO_BIN_EXE_http-server"), &[]);
    let port = server.listening_port("http").await;
    check("http-server", local(port), false)
        .await
        .assert_all_passed("http-server");
}

/// Runs the build-along step `name` and checks it.
async fn check_step(name: &str, passes: usize) {
    let program = example("http-server", name);
    let mut step = process::spawn(program.to_str().expect("a UTF-8 path"), &[]);
    let port = step.listening_port("http").await;
    check("http-server", local(port), false)
        .await
        .assert_stops_after(passes, name);
}

// Each step's header says which stages it passes; these hold it to that.

#[tokio::test]
async fn step1_passes_stage_1_and_fails_the_list() {
    check_step("step1-router", 1).await;
}

#[tokio::test]
async fn step2_passes_stages_1_to_2_and_fails_create() {
    check_step("step2-params", 2).await;
}

#[tokio::test]
async fn step3_passes_stages_1_to_5_and_fails_static_files() {
    check_step("step3-json-api", 5).await;
}

#[tokio::test]
async fn step4_passes_stages_1_to_7_and_fails_etag() {
    check_step("step4-static", 7).await;
}

#[tokio::test]
async fn step5_passes_every_stage() {
    let program = example("http-server", "step5-etag-range");
    let mut step = process::spawn(program.to_str().expect("a UTF-8 path"), &[]);
    let port = step.listening_port("http").await;
    check("http-server", local(port), false)
        .await
        .assert_all_passed("step5-etag-range");
}
