//! Is the ftp checker fair? It is run against servers whose behaviour we
//! know: a small FTP server written here (`support/flawed_ftp.rs`) passes
//! every stage, and with one deliberate flaw fails at the stage for that
//! flaw, with a hint naming the mistake; pyftpdlib, a real server, passes
//! every stage; nothing answering is exit status 2 with one sentence.
//!
//! That the lesson's own server and its build-along steps pass is the
//! lesson's own test (`protocols/tests/checker.rs`).

mod support;

use check::Verdict;
use support::flawed_ftp as flawed;
use support::{check_all, check_lesson, free_tcp_port, local};

/// Every stage of the ftp checker, by number.
const ALL_STAGES: [usize; 14] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];

/// Starts the server with `flaw` and asserts the checker stops at its stage
/// with `hint_part` in the hint and each of `says` in the report.
async fn assert_flaw_caught(flaw: flawed::Flaw, hint_part: &str, says: &[&str]) {
    let (_, stage) = flawed::FLAWS
        .iter()
        .find(|(candidate, _)| *candidate == flaw)
        .copied()
        .expect("every flaw is in FLAWS");
    let folder = flawed::sample_folder();
    let addr = flawed::start(flaw, folder.path()).await;
    let outcome = check_lesson("ftp", addr).await;
    outcome.assert_fails_at(stage, says);
    assert!(
        outcome.hint().contains(hint_part),
        "{flaw:?}: the hint should mention {hint_part:?}:\n{}",
        outcome.out
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_flaws_passes_every_stage() {
    let folder = flawed::sample_folder();
    let addr = flawed::start(flawed::Flaw::None, folder.path()).await;
    let outcome = check_all("ftp", addr).await;
    assert_eq!(outcome.passed(), ALL_STAGES, "{}", outcome.out);
    assert_eq!(outcome.verdict, Verdict::AllPassed);
    assert_eq!(outcome.err, "");
}

#[tokio::test]
async fn a_greeting_that_waits_for_the_client_fails_stage_1() {
    assert_flaw_caught(
        flawed::Flaw::GreetsAfterTheClient,
        "the server speaks first",
        &["got:      nothing within 5 s"],
    )
    .await;
}

#[tokio::test]
async fn refusing_anonymous_fails_stage_2() {
    assert_flaw_caught(flawed::Flaw::NoAnonymous, "anonymous FTP", &[]).await;
}

#[tokio::test]
async fn a_pwd_without_quotes_fails_stage_3() {
    assert_flaw_caught(
        flawed::Flaw::PwdWithoutQuotes,
        "double quotes",
        &[r#"got:      "257 /\r\n" (7 bytes)"#],
    )
    .await;
}

#[tokio::test]
async fn a_quit_without_221_fails_stage_4() {
    assert_flaw_caught(flawed::Flaw::QuitWith200, "`221`", &[]).await;
}

#[tokio::test]
async fn a_cwd_that_checks_nothing_fails_stage_5() {
    assert_flaw_caught(
        flawed::Flaw::CwdChecksNothing,
        "does not exist gets `550`",
        &[r#""CWD no-such-folder\r\n""#],
    )
    .await;
}

#[tokio::test]
async fn pasv_naming_0_0_0_0_fails_stage_6() {
    assert_flaw_caught(
        flawed::Flaw::PasvNamesAnyAddress,
        "not 0.0.0.0",
        &["(0,0,0,0,"],
    )
    .await;
}

#[tokio::test]
async fn nlst_ignoring_its_folder_fails_stage_7() {
    assert_flaw_caught(
        flawed::Flaw::NlstIgnoresItsArgument,
        "that folder's names",
        &[r#"on the data connection: "README.txt\r\nplants\r\n""#],
    )
    .await;
}

#[tokio::test]
async fn line_ends_changed_in_binary_mode_fail_stage_8() {
    assert_flaw_caught(
        flawed::Flaw::RetrChangesLineEnds,
        "change no line end in binary mode",
        &[r#"keep it in a pot.\r\n" (45 bytes)"#],
    )
    .await;
}

#[tokio::test]
async fn one_client_at_a_time_fails_stage_9() {
    assert_flaw_caught(
        flawed::Flaw::OneClientAtATime,
        "a thread or a task per connection",
        &["client 2, while client 1 is logged in"],
    )
    .await;
}

#[tokio::test]
async fn no_epsv_fails_stage_10() {
    assert_flaw_caught(flawed::Flaw::NoEpsv, "RFC 2428", &[]).await;
}

#[tokio::test]
async fn a_folder_without_a_jail_fails_stage_11() {
    assert_flaw_caught(
        flawed::Flaw::NoJail,
        "never above `/`",
        &[r#"got:      "257 \"/..\" is the current folder\r\n""#],
    )
    .await;
}

#[tokio::test]
async fn taking_uploads_fails_stage_12() {
    assert_flaw_caught(
        flawed::Flaw::TakesStor,
        "FTP_WRITABLE=1",
        &[r#"got:      "150 here it comes\r\n" (19 bytes), then on the data connection: nothing"#],
    )
    .await;
}

#[tokio::test]
async fn a_size_for_folders_fails_stage_13() {
    assert_flaw_caught(flawed::Flaw::SizeOfFolders, "SIZE is for files", &[]).await;
}

#[tokio::test]
async fn no_cdup_fails_stage_14() {
    assert_flaw_caught(flawed::Flaw::NoCdup, "CDUP is `CWD ..`", &[]).await;
}

#[tokio::test]
async fn nothing_answering_is_exit_status_2_and_one_sentence() {
    let outcome = check_lesson("ftp", local(free_tcp_port())).await;
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
#[ignore = "needs python3-pyftpdlib; .ci/run runs it"]
async fn pyftpdlib_passes_every_stage() {
    let server = support::real_servers::start_pyftpdlib(flawed::sample_folder()).await;
    let outcome = check_all("ftp", server.addr).await;
    assert_eq!(outcome.passed(), ALL_STAGES, "{}", outcome.out);
    assert_eq!(outcome.verdict, Verdict::AllPassed);
}

#[tokio::test]
async fn an_smtp_server_is_named_with_the_command_that_checks_it() {
    // SMTP greets with `220` too: stage 1 passes, and USER's `5xx` names SMTP.
    let addr = support::flawed_smtp::start(support::flawed_smtp::Flaw::None).await;
    let outcome = check_lesson("ftp", addr).await;
    outcome.assert_fails_at(2, &["got:      \"5"]);
    assert!(
        outcome
            .hint()
            .contains(&format!("an SMTP server (its greeting says so), not FTP: check it with `cargo run -p check -- smtp {addr}`")),
        "{}",
        outcome.out
    );
}

#[tokio::test]
async fn an_echo_server_is_named_with_the_command_that_checks_it() {
    // An echo server waits for bytes; the checker's `QUIT` comes back.
    let server = support::start_node("tcp-echo.js").await;
    let outcome = check_lesson("ftp", server.addr).await;
    outcome.assert_fails_at(1, &["got:      nothing within 5 s; to `QUIT`: \"QUIT"]);
    assert!(
        outcome.hint().contains(&format!(
            "as lesson 1's echo server does, and does not speak FTP: check it with `cargo run -p check -- tcp-echo {}`",
            server.addr
        )),
        "{}",
        outcome.out
    );
}
