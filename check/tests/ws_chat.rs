//! Is ws-chat's checker fair? It is run against servers whose behaviour we
//! know.
//!
//! - A small correct chat written here (`support/chat_server.rs`) passes
//!   every stage, given as `host:port` or as a `ws://` URL.
//! - Deliberately broken servers, one per stage, each fail at exactly that
//!   stage, with a message that names the mistake: the correct chat behind a
//!   proxy that makes one mistake (`support/faulty_proxy.rs`).
//! - A Node chat written the way the tutorials write one
//!   (`tests/node/ws-chat.js`, npm's `ws`) passes stages 1 to 4 and fails
//!   first at stage 5 (nick).
//! - Nothing listening at ADDR gives exit status 2 and one sentence.
//! - The binary exits 0, 1 or 2 accordingly.
//!
//! That the lesson's own server and its build-along steps pass is ws-chat's
//! own test (`ws-chat/tests/checker.rs`).

mod support;

use check::Verdict;
use support::faulty_proxy::{self, Fault};
use support::{chat_server, check, check_binary, check_lesson, free_tcp_port, start_node};

/// Every stage of the chat checker, by number.
const ALL_STAGES: &[usize] = &[1, 2, 3, 4, 5, 6, 7];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_chat_passes_every_stage() {
    let addr = chat_server::start().await;
    for given in [addr.to_string(), format!("ws://{addr}/ws")] {
        let outcome = check(&["ws-chat", &given]).await;
        assert_eq!(outcome.passed(), ALL_STAGES, "{given}:\n{}", outcome.out);
        assert_eq!(outcome.verdict, Verdict::AllPassed);
        assert_eq!(outcome.err, "");
    }
}

// ---------------------------------------------------------------------------
// Broken servers: one for each stage, each failing at exactly that stage.

/// Runs the checker (stopping at the first failure) against a correct chat
/// behind a proxy with `fault`, and checks that it passed every stage
/// before `stage`, failed `stage`, and said each of `says`.
async fn assert_fault_fails_at(fault: Fault, stage: usize, says: &[&str]) {
    let upstream = chat_server::start().await;
    let proxy = faulty_proxy::start(upstream, fault).await;
    check_lesson("ws-chat", proxy)
        .await
        .assert_fails_at(stage, says);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_accept_key_fails_stage_1() {
    let says = [
        r"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n",
        "the accept key is base64(SHA-1(key + \"258EAFA5-E914-47DA-95CA-C5AB0DC85B11\"))",
    ];
    assert_fault_fails_at(Fault::WrongAcceptKey, 1, &says).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_welcome_fails_stage_2() {
    let says = [
        "got:      client A: nothing more within 5 s",
        "as soon as the WebSocket is open, send the new client one text frame",
    ];
    assert_fault_fails_at(Fault::NoWelcome, 2, &says).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_echo_to_the_sender_fails_stage_3() {
    let says = ["(its own line comes back)", "the sender included"];
    assert_fault_fails_at(Fault::NoEchoToSender, 3, &says).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_join_notices_fails_stage_4() {
    let says = [
        "joined #lobby\"",
        "tell the others in its room `* NICK joined #ROOM`",
    ];
    assert_fault_fails_at(Fault::NoJoinNotices, 4, &says).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_rename_fails_stage_5() {
    let says = [" is now known as chk", "gets `* OLD is now known as NEW`"];
    assert_fault_fails_at(Fault::NoRenameNotice, 5, &says).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_who_fails_stage_6() {
    let says = ["sent \"/who\"", "`/who` answers the asker"];
    assert_fault_fails_at(Fault::NoWhoAnswer, 6, &says).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_close_fails_stage_7() {
    let says = [
        "client A: a close frame in answer",
        "RFC 6455 section 5.5.1",
    ];
    assert_fault_fails_at(Fault::CloseNotAnswered, 7, &says).await;
}

// ---------------------------------------------------------------------------
// Node, written the way the tutorials write it.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs node and `npm ci --prefix check/tests/node`; .ci/run runs it"]
async fn a_tutorial_node_chat_passes_stages_1_to_4_and_fails_first_at_nick() {
    let node = start_node("ws-chat.js").await;
    let outcome = check(&["ws-chat", "--all", &node.addr.to_string()]).await;
    assert_eq!(outcome.passed(), [1, 2, 3, 4], "{}", outcome.out);
    // No commands at all: `/nick`, `/join` and `/who` are chat lines to it,
    // and it sends on a message of any size.
    assert_eq!(outcome.failed(), [5, 6, 7], "{}", outcome.out);
    assert!(
        outcome.out.contains("FAIL stage 5: nick\n"),
        "{}",
        outcome.out
    );
}

// ---------------------------------------------------------------------------
// Nothing answering, bad usage, and the binary itself.

#[tokio::test]
async fn nothing_listening_is_exit_2_and_one_sentence() {
    let addr = format!("127.0.0.1:{}", free_tcp_port());
    let outcome = check(&["ws-chat", &addr]).await;
    assert_eq!(outcome.verdict, Verdict::Unusable);
    assert_eq!(outcome.out, "", "no stage line when nothing answers");
    assert_eq!(outcome.err.lines().count(), 1, "{}", outcome.err);
    assert!(
        outcome
            .err
            .starts_with(&format!("check: nothing is answering at {addr}")),
        "{}",
        outcome.err
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_exits_0_1_or_2() {
    let addr = chat_server::start().await;
    let (code, out, _) = check_binary(&["ws-chat", &format!("ws://{addr}/ws")]).await;
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out.lines().count(), ALL_STAGES.len(), "{out}");

    let broken = faulty_proxy::start(addr, Fault::WrongAcceptKey).await;
    let (code, out, _) = check_binary(&["ws-chat", &broken.to_string()]).await;
    assert_eq!(code, Some(1), "{out}");
    assert!(out.starts_with("FAIL stage 1: handshake\n"), "{out}");

    let nowhere = format!("127.0.0.1:{}", free_tcp_port());
    let (code, out, err) = check_binary(&["ws-chat", &nowhere]).await;
    assert_eq!((code, out.as_str()), (Some(2), ""));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("nothing is answering"), "{err}");

    for bad in [
        &["ws-chat"][..],
        &["ws-chat", "--everything", "127.0.0.1:8080"],
        &["ws-chat", "ftp://127.0.0.1:8080"],
    ] {
        let (code, out, err) = check_binary(bad).await;
        assert_eq!((code, out.as_str()), (Some(2), ""), "{bad:?}");
        assert_eq!(err.lines().count(), 1, "{bad:?}: {err}");
        assert!(
            err.contains("usage: cargo run -p check -- ws-chat [--all] ADDR"),
            "{err}"
        );
    }
}
