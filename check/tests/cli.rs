//! The command line: `cargo run -p check -- LESSON [--all] ADDR`.
//!
//! - `--help` (or `-h`) lists every lesson and exits 0; `LESSON --help`
//!   lists that lesson's stages.
//! - No lesson, an unknown lesson, or an ADDR where LESSON should be: exit 2
//!   and one line on stderr that says what is wrong and shows the usage.
//! - `--all` may come before or after LESSON.

mod support;

use check::{LESSONS, Verdict};
use support::{check, check_binary};

#[tokio::test]
async fn help_lists_every_lesson_and_exits_0() {
    for flag in ["--help", "-h"] {
        let (code, out, err) = check_binary(&[flag]).await;
        assert_eq!(code, Some(0), "{flag}: {err}");
        assert_eq!(err, "", "{flag}");
        assert!(
            out.contains("usage: cargo run -p check -- LESSON [--all] ADDR"),
            "{out}"
        );
        for lesson in LESSONS {
            assert!(
                out.contains(&format!("  {}", lesson.name)),
                "{flag} names {}:\n{out}",
                lesson.name
            );
        }
    }
}

#[tokio::test]
async fn a_lessons_help_lists_its_stages_in_order() {
    let outcome = check(&["udp-echo", "--help"]).await;
    assert_eq!(outcome.verdict, Verdict::HelpShown);
    assert_eq!(outcome.verdict.exit_code(), 0);
    assert!(
        outcome.out.contains(
            "usage: cargo run -p check -- udp-echo [--all] ADDR (for example 127.0.0.1:7007)"
        ),
        "{}",
        outcome.out
    );
    assert!(
        outcome.out.contains(
            "  1. echo\n  2. boundaries kept\n  3. empty and 65,507-byte datagrams\n  4. replies go to each sender\n"
        ),
        "{}",
        outcome.out
    );
}

/// Asserts a run was bad usage: exit 2, nothing on stdout, one line on
/// stderr starting `check: ` and saying `says`, with the usage.
async fn assert_usage_error(args: &[&str], says: &str) {
    let (code, out, err) = check_binary(args).await;
    assert_eq!(code, Some(2), "{args:?}: {err}");
    assert_eq!(out, "", "{args:?}");
    assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
    assert!(err.starts_with("check: "), "{args:?}: {err}");
    assert!(err.contains(says), "{args:?}: {says:?} in {err}");
    assert!(
        err.contains("usage: cargo run -p check -- "),
        "{args:?}: {err}"
    );
}

#[tokio::test]
async fn no_lesson_is_exit_2_and_names_the_lessons() {
    assert_usage_error(&[], "name the LESSON to check").await;
    assert_usage_error(
        &["--all"],
        "tcp-echo, udp-echo, http-raw, http-server, ws-chat",
    )
    .await;
}

#[tokio::test]
async fn an_unknown_lesson_is_exit_2() {
    assert_usage_error(
        &["smtp-relay", "127.0.0.1:25"],
        "there is no lesson \"smtp-relay\"",
    )
    .await;
}

#[tokio::test]
async fn an_addr_where_the_lesson_should_be_is_exit_2_with_what_to_do() {
    assert_usage_error(
        &["127.0.0.1:7007"],
        "name the LESSON before ADDR (127.0.0.1:7007 looks like an ADDR)",
    )
    .await;
}

#[tokio::test]
async fn a_lessons_usage_errors_show_that_lessons_usage() {
    assert_usage_error(&["http-raw"], "give the ADDR of the server to check").await;
    assert_usage_error(
        &["http-raw", "--everything", "127.0.0.1:3000"],
        "unknown option --everything",
    )
    .await;
    assert_usage_error(&["http-raw", "127.0.0.1"], "has no port").await;
    let (_, _, err) = check_binary(&["http-raw"]).await;
    assert!(
        err.contains(
            "usage: cargo run -p check -- http-raw [--all] ADDR (for example 127.0.0.1:3000)"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn all_may_come_before_or_after_the_lesson() {
    // Nothing listens there, so both end "nothing is answering": what
    // matters is that both forms were read as LESSON and ADDR.
    let addr = support::local(support::free_tcp_port()).to_string();
    for args in [
        ["--all", "tcp-echo", addr.as_str()],
        ["tcp-echo", "--all", addr.as_str()],
        ["tcp-echo", addr.as_str(), "--all"],
    ] {
        let outcome = check(&args).await;
        assert_eq!(outcome.verdict, Verdict::Unusable, "{args:?}");
        assert!(
            outcome.err.contains("nothing is answering"),
            "{args:?}: {}",
            outcome.err
        );
    }
}
