//! Lesson 4's checker (`--bin check`) is fair: the lesson's own server
//! passes every stage; each build-along step passes exactly the stages its
//! header claims; a Node app written the way tutorials write one passes
//! stages 1 to 6 and fails traversal; the lesson's app with one deliberate
//! flaw fails at the stage for that flaw; and nothing answering is exit
//! status 2 with one sentence.

#[path = "../src/bin/check/stages.rs"]
mod stages;

mod flawed;

use std::net::{Ipv4Addr, SocketAddr};

use http_raw::check_client as client;
use http_raw::testing as support;
use http_raw::testing::checker::{check_server, example};
use tcp_echo::check::{self, Verdict};
use tcp_echo::testing::process;

fn local(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

#[tokio::test]
async fn the_lessons_own_server_passes_every_stage() {
    let mut server = process::spawn(env!("CARGO_BIN_EXE_http-server"), &[]);
    let port = server.listening_port("http").await;
    check_server(local(port), stages::STAGES)
        .await
        .assert_stops_after(stages::STAGES, stages::STAGES.len(), "http-server");
}

/// Runs the build-along step `name` and checks it.
async fn check_step(name: &str, passes: usize) {
    let mut step = process::spawn(&example(name), &[]);
    let port = step.listening_port("http").await;
    check_server(local(port), stages::STAGES)
        .await
        .assert_stops_after(stages::STAGES, passes, name);
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
    check_step("step5-etag-range", stages::STAGES.len()).await;
}

/// Starts the lesson's app with `flaw` and asserts the checker stops at
/// that flaw's stage with `hint_part` in its hint.
async fn assert_flaw_caught(flaw: flawed::Flaw, hint_part: &str) {
    let (_, stage) = flawed::FLAWS
        .iter()
        .find(|(candidate, _)| *candidate == flaw)
        .copied()
        .expect("every flaw is in FLAWS");
    let server = flawed::start(flaw).await;
    let report = check_server(server.addr, stages::STAGES).await;
    report.assert_stops_after(stages::STAGES, stage - 1, &format!("{flaw:?}"));
    assert!(
        report.hint().contains(hint_part),
        "{flaw:?}: the hint should mention {hint_part:?}:\n{}",
        report.out
    );
}

#[tokio::test]
async fn a_wrong_greeting_fails_hello() {
    assert_flaw_caught(flawed::Flaw::WrongGreeting, "Hello, world").await;
}

#[tokio::test]
async fn a_list_sent_as_text_fails_the_list() {
    assert_flaw_caught(flawed::Flaw::ListAsText, "application/json").await;
}

#[tokio::test]
async fn a_create_answered_200_fails_create() {
    assert_flaw_caught(flawed::Flaw::CreatedIs200, "201").await;
}

#[tokio::test]
async fn a_delete_answered_200_fails_update_and_delete() {
    assert_flaw_caught(flawed::Flaw::DeleteIs200, "204").await;
}

#[tokio::test]
async fn errors_as_text_fail_api_errors() {
    assert_flaw_caught(flawed::Flaw::TextErrors, "application/json").await;
}

#[tokio::test]
async fn no_static_files_fail_static_files() {
    assert_flaw_caught(flawed::Flaw::NoStaticFiles, "public/index.html").await;
}

#[tokio::test]
async fn a_path_joined_unchecked_fails_traversal() {
    assert_flaw_caught(flawed::Flaw::JoinsPathUnchecked, "`..` segment").await;
}

#[tokio::test]
async fn files_without_etag_fail_etag() {
    assert_flaw_caught(flawed::Flaw::NoEtag, "add an ETag").await;
}

#[tokio::test]
async fn an_ignored_range_fails_range() {
    assert_flaw_caught(flawed::Flaw::IgnoresRange, "206").await;
}

#[tokio::test]
#[ignore = "needs node; .ci/run runs it"]
async fn a_node_tutorial_app_passes_stages_1_to_6_and_fails_traversal() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/node/server.js");
    let mut node = process::spawn(script, &[]);
    let port = node.listening_port("http").await;
    let report = check_server(local(port), stages::STAGES).await;
    report.assert_stops_after(stages::STAGES, 6, "tests/node/server.js");
    assert!(
        report.out.contains("[package]"),
        "the report shows the file that leaked: {}",
        report.out
    );
}

#[tokio::test]
async fn nothing_answering_is_exit_status_2_and_one_sentence() {
    // A port that was free a moment ago: nothing listens there now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let verdict = check::run(
        "http-server",
        "127.0.0.1:4000",
        &[format!("http://127.0.0.1:{port}/")],
        stages::STAGES,
        client::Target::from,
        &mut out,
        &mut err,
    )
    .await
    .expect("writing to a Vec cannot fail");
    assert_eq!(verdict.exit_code(), 2);
    assert_eq!(verdict, Verdict::Unusable);
    let err = String::from_utf8_lossy(&err);
    assert_eq!(err.lines().count(), 1, "one sentence: {err:?}");
    assert!(err.contains("nothing is answering"), "{err:?}");
    assert!(out.is_empty());
}
