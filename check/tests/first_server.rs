//! Is the first-server checker fair? The courses' Node practice, written as
//! they write it, passes every stage; broken first servers (Node, in
//! `tests/node/first-server-broken.js`) each fail at their stage.

mod support;

use check::Verdict;
use support::{check_lesson, start_node, start_node_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_courses_node_practice_passes_every_stage() {
    let server = start_node("first-server.js").await;
    let outcome = check_lesson("first-server", server.addr).await;
    assert_eq!(outcome.passed(), [1, 2, 3, 4, 5], "{}", outcome.out);
    assert_eq!(outcome.verdict, Verdict::AllPassed);
}

/// Starts `first-server-broken.js` with FLAW=`flaw`.
async fn broken(flaw: &str) -> support::NodeServer {
    start_node_with("first-server-broken.js", &[("FLAW", flaw)]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_closes_without_answering_fails_stage_1() {
    let server = broken("closes-silently").await;
    let outcome = check_lesson("first-server", server.addr).await;
    outcome.assert_fails_at(1, &["the connection closed with no response"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_sends_a_status_line_fails_stage_1() {
    let server = broken("no-status-line").await;
    let outcome = check_lesson("first-server", server.addr).await;
    outcome.assert_fails_at(
        1,
        &[
            "not an HTTP response",
            r#"got:      "Hello from my first server!\n""#,
            "a response starts `HTTP/1.1 200 OK",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_dies_after_the_first_request_fails_stage_2() {
    let server = broken("dies-after-one").await;
    let outcome = check_lesson("first-server", server.addr).await;
    outcome.assert_fails_at(2, &["the server answered once, then stopped"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_raws_node_server_passes_the_first_server_too() {
    let server = start_node("http-raw.js").await;
    let outcome = check_lesson("first-server", server.addr).await;
    assert_eq!(outcome.verdict, Verdict::AllPassed, "{}", outcome.out);
}
