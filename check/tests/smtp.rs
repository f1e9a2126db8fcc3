//! Is the smtp checker fair? It is run against servers whose behaviour we
//! know: a small SMTP server written here (`support/flawed_smtp.rs`) passes
//! every stage, and with one deliberate flaw fails at the stage for that
//! flaw, with a hint naming the mistake; Python's aiosmtpd, a real server,
//! passes every stage; nothing answering is exit status 2 with one sentence.
//!
//! That the lesson's own server and its build-along steps pass is the
//! lesson's own test (`protocols/tests/checker.rs`).

mod support;

use check::Verdict;
use support::flawed_smtp as flawed;
use support::{Outcome, check_all, check_lesson, free_tcp_port, local};

/// Every stage of the smtp checker, by number.
const ALL_STAGES: [usize; 11] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];

/// Starts the server with `flaw` and asserts the checker stops at its stage
/// with `hint_part` in the hint and each of `says` in the report.
async fn assert_flaw_caught(flaw: flawed::Flaw, hint_part: &str, says: &[&str]) -> Outcome {
    let (_, stage) = flawed::FLAWS
        .iter()
        .find(|(candidate, _)| *candidate == flaw)
        .copied()
        .expect("every flaw is in FLAWS");
    let addr = flawed::start(flaw).await;
    let outcome = check_lesson("smtp", addr).await;
    outcome.assert_fails_at(stage, says);
    assert!(
        outcome.hint().contains(hint_part),
        "{flaw:?}: the hint should mention {hint_part:?}:\n{}",
        outcome.out
    );
    outcome
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_flaws_passes_every_stage() {
    let addr = flawed::start(flawed::Flaw::None).await;
    let outcome = check_all("smtp", addr).await;
    assert_eq!(outcome.passed(), ALL_STAGES, "{}", outcome.out);
    assert_eq!(outcome.verdict, Verdict::AllPassed);
    assert_eq!(outcome.err, "");
}

#[tokio::test]
async fn a_greeting_ending_in_a_bare_lf_fails_stage_1() {
    assert_flaw_caught(
        flawed::Flaw::GreetsWithBareLf,
        "bare LF",
        &[r#"got:      "220 flawed.test ESMTP\n" (22 bytes)"#],
    )
    .await;
}

#[tokio::test]
async fn a_server_without_helo_fails_stage_2() {
    assert_flaw_caught(flawed::Flaw::NoHelo, "a server accepts both", &[]).await;
}

#[tokio::test]
async fn a_quit_that_keeps_the_connection_fails_stage_3() {
    assert_flaw_caught(
        flawed::Flaw::QuitKeepsConnection,
        "close the connection",
        &["got:      nothing within 5 s"],
    )
    .await;
}

#[tokio::test]
async fn closing_after_an_unknown_command_fails_stage_4() {
    assert_flaw_caught(
        flawed::Flaw::UnknownCloses,
        "keep reading commands",
        &[r#""XYZZY plugh\r\n", then "NOOP\r\n""#],
    )
    .await;
}

#[tokio::test]
async fn ending_a_message_at_any_dot_fails_stage_5() {
    assert_flaw_caught(
        flawed::Flaw::EndsAtAnyDot,
        "dot-stuffing",
        &["`250` for the NOOP, the next command after the message"],
    )
    .await;
}

#[tokio::test]
async fn commands_in_any_order_fail_stage_6() {
    assert_flaw_caught(
        flawed::Flaw::NoOrder,
        "`RCPT TO` before `MAIL FROM` is out of order",
        &[r#"got:      "250 OK\r\n""#],
    )
    .await;
}

#[tokio::test]
async fn an_rset_that_forgets_nothing_fails_stage_7() {
    assert_flaw_caught(
        flawed::Flaw::RsetKeepsEnvelope,
        "`RSET` must forget the sender and the recipients",
        &[r#"got:      "354 end with a lone dot\r\n""#],
    )
    .await;
}

#[tokio::test]
async fn one_client_at_a_time_fails_stage_8() {
    assert_flaw_caught(
        flawed::Flaw::OneClientAtATime,
        "a thread or a task per connection",
        &["client 2 of 5"],
    )
    .await;
}

#[tokio::test]
async fn no_size_in_ehlo_fails_stage_9() {
    assert_flaw_caught(flawed::Flaw::NoSize, "RFC 1870", &[]).await;
}

#[tokio::test]
async fn a_size_announced_and_not_kept_fails_stage_10() {
    assert_flaw_caught(
        flawed::Flaw::SizeNotKept,
        "compare the count with your limit",
        &["a message of 4500 bytes in lines of 500, 404 more than SIZE"],
    )
    .await;
}

#[tokio::test]
async fn a_bare_lf_dot_ending_a_message_fails_stage_11() {
    assert_flaw_caught(flawed::Flaw::BareLfEndsMessage, "SMTP smuggling", &[]).await;
}

#[tokio::test]
async fn nothing_answering_is_exit_status_2_and_one_sentence() {
    let outcome = check_lesson("smtp", local(free_tcp_port())).await;
    assert_eq!(outcome.verdict, Verdict::Unusable);
    assert_eq!(outcome.err.lines().count(), 1, "{:?}", outcome.err);
    assert!(
        outcome.err.contains("nothing is answering"),
        "{:?}",
        outcome.err
    );
    assert!(outcome.out.is_empty(), "{:?}", outcome.out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs python3-aiosmtpd; .ci/run runs it"]
async fn python_aiosmtpd_passes_every_stage() {
    let server = support::real_servers::start_aiosmtpd(flawed::SIZE_LIMIT).await;
    let outcome = check_all("smtp", server.addr).await;
    assert_eq!(outcome.passed(), ALL_STAGES, "{}", outcome.out);
    assert_eq!(outcome.verdict, Verdict::AllPassed);
}

#[tokio::test]
async fn an_ftp_server_is_named_with_the_command_that_checks_it() {
    // FTP greets with `220` too: stage 1 passes, and EHLO's `5xx` names FTP.
    let folder = support::flawed_ftp::sample_folder();
    let addr = support::flawed_ftp::start(support::flawed_ftp::Flaw::None, folder.path()).await;
    let outcome = check_lesson("smtp", addr).await;
    outcome.assert_fails_at(2, &["got:      \"5"]);
    assert!(
        outcome
            .hint()
            .contains(&format!("an FTP server (its greeting says so), not SMTP: check it with `cargo run -p check -- ftp {addr}`")),
        "{}",
        outcome.out
    );
}

#[tokio::test]
async fn an_http_server_is_named_with_the_command_that_checks_it() {
    // An HTTP server waits for a request; the checker's `QUIT` gets a 400.
    let addr = support::flawed_http::start(support::flawed_http::Flaw::None).await;
    let outcome = check_lesson("smtp", addr).await;
    outcome.assert_fails_at(1, &["got:      nothing within 5 s; to `QUIT`: \"HTTP/1."]);
    assert!(
        outcome.hint().contains(&format!(
            "an HTTP server (it answered `QUIT` with an HTTP response), not SMTP: check it with `cargo run -p check -- http-raw {addr}`"
        )),
        "{}",
        outcome.out
    );
}
