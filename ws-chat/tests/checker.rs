//! Is ws-chat's checker fair? It is run against servers whose behaviour we
//! know.
//!
//! - The lesson's own server passes every stage.
//! - Each build-along step (`examples/stepN-*.rs`) passes exactly the stages
//!   its header claims.
//! - Deliberately broken servers, one per stage, each fail at exactly that
//!   stage, with a message that names the mistake (`checker/faulty_proxy.rs`).
//! - A Node chat written the way the tutorials write one (`tests/node/`,
//!   npm's `ws`) passes stages 1 to 4 and fails first at stage 5 (nick).
//! - Nothing listening at ADDR gives exit status 2 and one sentence.
//!
//! Most runs call the checker in-process (lesson 1's `check::run` with this
//! lesson's stages, the very code the binary runs); a few run the binary
//! itself with `cargo run -p ws-chat --bin check`, since every lesson's
//! checker is called `check` and they share `target/debug/check`.

#[path = "../src/bin/check/peer.rs"]
mod peer;
#[path = "../src/bin/check/stages.rs"]
mod stages;

#[path = "checker/faulty_proxy.rs"]
mod faulty_proxy;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use faulty_proxy::Fault;
use tcp_echo::check::{self, Verdict};
use tcp_echo::testing::process::{Running, spawn};
use tokio::net::TcpListener;

const WS_CHAT: &str = env!("CARGO_BIN_EXE_ws-chat");

/// Every stage of the chat checker, by number.
const ALL_STAGES: &[usize] = &[1, 2, 3, 4, 5, 6, 7];

/// What one run of the checker printed and how it ended.
struct Outcome {
    verdict: Verdict,
    out: String,
    err: String,
}

impl Outcome {
    /// The stage numbers on `PASS` lines (or `FAIL` lines).
    fn stages(&self, word: &str) -> Vec<usize> {
        self.out
            .lines()
            .filter_map(|line| line.strip_prefix(&format!("{word} stage ")))
            .filter_map(|rest| rest.split(':').next()?.parse().ok())
            .collect()
    }

    fn passed(&self) -> Vec<usize> {
        self.stages("PASS")
    }

    fn failed(&self) -> Vec<usize> {
        self.stages("FAIL")
    }
}

/// Runs the checker in-process, as `check [--all] ADDR`.
async fn check(addr: &str, all: bool) -> Outcome {
    let mut args = vec![addr.to_string()];
    if all {
        args.insert(0, "--all".to_string());
    }
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let verdict = check::run(
        "ws-chat",
        "127.0.0.1:8080",
        &args,
        stages::STAGES,
        peer::ChatTarget::new,
        &mut out,
        &mut err,
    )
    .await
    .expect("writing to a Vec cannot fail");
    Outcome {
        verdict,
        out: String::from_utf8(out).expect("the checker prints UTF-8"),
        err: String::from_utf8(err).expect("the checker prints UTF-8"),
    }
}

/// The lesson's binary, with no rate limit (the checker sends in bursts).
async fn start_lesson_server() -> (Running, SocketAddr) {
    let mut server = spawn(WS_CHAT, &[("RATE_LIMIT", "0")]);
    let port = server.listening_port("http").await;
    (server, SocketAddr::from(([127, 0, 0, 1], port)))
}

// ---------------------------------------------------------------------------
// The lesson's own server.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lesson_server_passes_every_stage() {
    let (_server, addr) = start_lesson_server().await;
    for given in [addr.to_string(), format!("ws://{addr}/ws")] {
        let outcome = check(&given, false).await;
        assert_eq!(outcome.passed(), ALL_STAGES, "{given}:\n{}", outcome.out);
        assert_eq!(outcome.verdict, Verdict::AllPassed);
        assert_eq!(outcome.err, "");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_path_fails_the_handshake_with_the_servers_answer() {
    let (_server, addr) = start_lesson_server().await;
    let outcome = check(&format!("ws://{addr}/chat"), false).await;
    assert_eq!(outcome.failed(), [1], "{}", outcome.out);
    assert!(
        outcome.out.contains(r"GET /chat HTTP/1.1\r\n"),
        "{}",
        outcome.out
    );
    assert!(
        outcome
            .out
            .contains(r#"got:      "HTTP/1.1 404 Not Found\r\n"#),
        "{}",
        outcome.out
    );
    assert!(
        outcome.out.contains("the WebSocket endpoint?"),
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
        "step1-echo",
        &[1],
        "Checker: passes stage 1; fails stages 2-7.",
    ),
    (
        "step2-handshake",
        &[1, 2],
        "Checker: passes stages 1-2; fails stages 3-7.",
    ),
    (
        "step3-broadcast",
        &[1, 2, 3, 4],
        "Checker: passes stages 1-4; fails stages 5-7.",
    ),
    (
        "step4-nick",
        &[1, 2, 3, 4, 5],
        "Checker: passes stages 1-5; fails stages 6-7.",
    ),
    (
        "step5-rooms",
        &[1, 2, 3, 4, 5, 6],
        "Checker: passes stages 1-6; fails stage 7.",
    ),
    ("step6-limits", ALL_STAGES, "Checker: passes every stage."),
    ("step7-page", ALL_STAGES, "Checker: passes every stage."),
];

/// The built example `name`. The first call builds ws-chat's examples
/// (`cargo build --examples`, nothing to do when `cargo test` already built
/// them), so `cargo test --test checker` alone works too.
pub fn example(name: &str) -> PathBuf {
    static EXAMPLES: OnceLock<PathBuf> = OnceLock::new();
    let dir = EXAMPLES.get_or_init(|| {
        // This test runs as target/PROFILE/deps/checker-HASH.
        let exe = std::env::current_exe().expect("the test knows its own path");
        let profile_dir = exe
            .parent()
            .and_then(|deps| deps.parent())
            .expect("tests run from target/PROFILE/deps");
        let mut build = std::process::Command::new(env!("CARGO"));
        build.args(["build", "--quiet", "-p", "ws-chat", "--examples"]);
        if profile_dir.ends_with("release") {
            build.arg("--release");
        }
        let status = build
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo runs");
        assert!(status.success(), "cargo build --examples failed");
        profile_dir.join("examples")
    });
    dir.join(name)
}

/// Starts an example and returns it with its address.
async fn start_example(name: &str) -> (Running, SocketAddr) {
    let program = example(name);
    let mut running = spawn(program.to_str().expect("a UTF-8 path"), &[]);
    let port = running.listening_port("http").await;
    (running, SocketAddr::from(([127, 0, 0, 1], port)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_step_passes_exactly_the_stages_it_claims() {
    // All at once: a step that fails a stage makes the checker wait out its
    // timeout, and six steps one after the other would wait minutes.
    let runs = STEP_CLAIMS
        .iter()
        .map(|&(name, claimed, sentence)| async move {
            let path = format!("{}/examples/{name}.rs", env!("CARGO_MANIFEST_DIR"));
            let source = std::fs::read_to_string(path).expect("the step's source");
            assert!(
                source.contains(sentence),
                "{name}.rs should say {sentence:?} in its header"
            );
            let (_step, addr) = start_example(name).await;
            let outcome = check(&addr.to_string(), true).await;
            assert_eq!(outcome.passed(), claimed, "{name}:\n{}", outcome.out);
            let failed: Vec<usize> = (claimed.len() + 1..=ALL_STAGES.len()).collect();
            assert_eq!(outcome.failed(), failed, "{name}:\n{}", outcome.out);
        });
    futures_util::future::join_all(runs).await;
}

// ---------------------------------------------------------------------------
// Broken servers: one for each stage, each failing at exactly that stage.

/// Runs the checker (stopping at the first failure) against the lesson's
/// server behind a proxy with `fault`, and checks that it passed every stage
/// before `stage`, failed `stage`, and said each of `says`.
async fn assert_fault_fails_at(fault: Fault, stage: usize, says: &[&str]) {
    let (_server, upstream) = start_lesson_server().await;
    let proxy = faulty_proxy::start(upstream, fault).await;
    let outcome = check(&proxy.to_string(), false).await;
    let before: Vec<usize> = (1..stage).collect();
    assert_eq!(outcome.passed(), before, "{fault:?}:\n{}", outcome.out);
    assert_eq!(outcome.failed(), [stage], "{fault:?}:\n{}", outcome.out);
    assert_eq!(outcome.verdict, Verdict::StageFailed);
    let labels: Vec<&str> = outcome
        .out
        .lines()
        .skip(stage)
        .filter_map(|line| line.split(':').next())
        .map(str::trim)
        .collect();
    assert_eq!(
        labels,
        ["sent", "expected", "got", "hint"],
        "{}",
        outcome.out
    );
    for words in says {
        assert!(
            outcome.out.contains(words),
            "{words:?} in:\n{}",
            outcome.out
        );
    }
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

/// Starts `tests/node/chat.js`; returns it and its address.
async fn start_node_chat() -> (tokio::process::Child, SocketAddr) {
    let script = format!("{}/tests/node/chat.js", env!("CARGO_MANIFEST_DIR"));
    let mut node = tokio::process::Command::new("node")
        .arg(&script)
        .env("PORT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("`node` must be installed (Debian: apt-get install nodejs)");
    let stdout = node.stdout.take().expect("stdout is piped");
    let mut first_line = String::new();
    let mut reader = tokio::io::BufReader::new(stdout);
    tokio::time::timeout(
        Duration::from_secs(10),
        tokio::io::AsyncBufReadExt::read_line(&mut reader, &mut first_line),
    )
    .await
    .expect("node printed its listening line within 10 s")
    .expect("reading node's stdout");
    let port: u16 = first_line
        .trim()
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| {
            panic!("no port in node's first line {first_line:?} (did `npm ci` run?)")
        });
    (node, SocketAddr::from(([127, 0, 0, 1], port)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs node and `npm ci --prefix ws-chat/tests/node`; .ci/run runs it"]
async fn a_tutorial_node_chat_passes_stages_1_to_4_and_fails_first_at_nick() {
    let (_node, addr) = start_node_chat().await;
    let outcome = check(&addr.to_string(), true).await;
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

/// A port on 127.0.0.1 where nothing listens: bound by us, then released.
async fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("local_addr").port()
}

#[tokio::test]
async fn nothing_listening_is_exit_2_and_one_sentence() {
    let addr = format!("127.0.0.1:{}", free_port().await);
    let outcome = check(&addr, false).await;
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

/// Runs `cargo run -p ws-chat --bin check -- ARGS`: (exit status, stdout, stderr).
async fn check_binary(args: &[&str]) -> (Option<i32>, String, String) {
    let output = tokio::process::Command::new(env!("CARGO"))
        .args(["run", "--quiet", "-p", "ws-chat", "--bin", "check", "--"])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    // Generous: the first run may compile the checker.
    let output = tokio::time::timeout(Duration::from_secs(300), output)
        .await
        .expect("cargo run finished")
        .expect("cargo runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_exits_0_1_or_2() {
    let (_server, addr) = start_lesson_server().await;
    let (code, out, _) = check_binary(&[&format!("ws://{addr}/ws")]).await;
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out.lines().count(), ALL_STAGES.len(), "{out}");

    let broken = faulty_proxy::start(addr, Fault::WrongAcceptKey).await;
    let (code, out, _) = check_binary(&[&broken.to_string()]).await;
    assert_eq!(code, Some(1), "{out}");
    assert!(out.starts_with("FAIL stage 1: handshake\n"), "{out}");

    let nowhere = format!("127.0.0.1:{}", free_port().await);
    let (code, out, err) = check_binary(&[&nowhere]).await;
    assert_eq!((code, out.as_str()), (Some(2), ""));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("nothing is answering"), "{err}");

    for bad in [
        &[][..],
        &["--everything", "127.0.0.1:8080"],
        &["ftp://127.0.0.1:8080"],
    ] {
        let (code, out, err) = check_binary(bad).await;
        assert_eq!((code, out.as_str()), (Some(2), ""), "{bad:?}");
        assert_eq!(err.lines().count(), 1, "{bad:?}: {err}");
        assert!(
            err.contains("usage: cargo run -p ws-chat --bin check"),
            "{err}"
        );
    }
}
