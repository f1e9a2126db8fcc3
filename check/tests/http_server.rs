//! Is http-server's checker fair? It is run against apps whose behaviour we
//! know: a small plants app written here (`support/flawed_app.rs`) passes
//! every stage, and with one deliberate flaw fails at the stage for that
//! flaw; a Node app written the way tutorials write one passes stages 1 to
//! 6 and fails traversal, and the report shows the file it leaked; and
//! nothing answering is exit status 2 with one sentence.
//!
//! That the lesson's own server and its build-along steps pass is
//! http-server's own test (`http-server/tests/checker.rs`).

mod support;

use check::Verdict;
use support::flawed_app as flawed;
use support::{check_lesson, free_tcp_port, local};

#[tokio::test]
async fn an_app_without_flaws_passes_every_stage() {
    let site = flawed::Site::new();
    let addr = flawed::start(flawed::Flaw::None, &site).await;
    let outcome = check_lesson("http-server", addr).await;
    assert_eq!(
        outcome.passed(),
        (1..=9).collect::<Vec<_>>(),
        "{}",
        outcome.out
    );
    assert_eq!(outcome.verdict, Verdict::AllPassed);
}

/// Starts the app with `flaw` and asserts the checker stops at that flaw's
/// stage with `hint_part` in its hint.
async fn assert_flaw_caught(flaw: flawed::Flaw, hint_part: &str) {
    let (_, stage) = flawed::FLAWS
        .iter()
        .find(|(candidate, _)| *candidate == flaw)
        .copied()
        .expect("every flaw is in FLAWS");
    let site = flawed::Site::new();
    let addr = flawed::start(flaw, &site).await;
    let outcome = check_lesson("http-server", addr).await;
    outcome.assert_fails_at(stage, &[]);
    assert!(
        outcome.hint().contains(hint_part),
        "{flaw:?}: the hint should mention {hint_part:?}:\n{}",
        outcome.out
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
async fn a_node_tutorial_app_passes_stages_1_to_6_and_fails_traversal() {
    let site = flawed::Site::new();
    let public = site.public();
    let node = support::start_node_with(
        "http-server.js",
        &[("PUBLIC_DIR", public.to_str().expect("a UTF-8 path"))],
    )
    .await;
    let outcome = check_lesson("http-server", node.addr).await;
    outcome.assert_fails_at(7, &["[package]"]);
}

#[tokio::test]
async fn nothing_answering_is_exit_status_2_and_one_sentence() {
    // A port that was free a moment ago: nothing listens there now.
    let url = format!("http://{}/", local(free_tcp_port()));
    let outcome = support::check(&["http-server", &url]).await;
    assert_eq!(outcome.verdict.exit_code(), 2);
    assert_eq!(outcome.verdict, Verdict::Unusable);
    assert_eq!(
        outcome.err.lines().count(),
        1,
        "one sentence: {:?}",
        outcome.err
    );
    assert!(
        outcome.err.contains("nothing is answering"),
        "{:?}",
        outcome.err
    );
    assert!(outcome.out.is_empty());
}
