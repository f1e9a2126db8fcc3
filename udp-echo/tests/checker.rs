//! Is udp-echo's checker fair? It is run against servers whose behaviour we know.
//!
//! - The lesson's own server passes every stage; with `UDP_BUFFER_BYTES=1024`
//!   it fails exactly stage 3.
//! - Each build-along step (`examples/stepN-*.rs`) passes exactly the stages
//!   its header claims.
//! - Deliberately broken servers, one per stage (and two for stage 3), each
//!   fail at exactly that stage, with the hint that names their mistake.
//! - A Node server written the way tutorials write it (`tests/node/echo.js`,
//!   `dgram`) passes every stage.
//! - Nothing listening at ADDR gives exit status 2 and one sentence.
//!
//! Most runs call the checker in-process (the stages are included from
//! `src/bin/check/stages.rs`, the file the binary uses); a few run the binary
//! itself with `cargo run -p udp-echo --bin check`, since every lesson's
//! checker is called `check` and they share `target/debug/check`.

#[path = "../src/bin/check/stages.rs"]
mod stages;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use stages::{STAGES, UdpClient};
use tcp_echo::check::{self, Verdict};
use tcp_echo::config::ServerConfig;
use tcp_echo::testing::in_process::{InProcess, run_in_process};
use tcp_echo::testing::process::spawn;
use tokio::net::UdpSocket;
use udp_echo::{MAX_DATAGRAM, UdpEchoConfig, bind_udp};

/// Every stage of udp-echo's checker, by number.
const ALL_STAGES: &[usize] = &[1, 2, 3, 4];

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

/// Runs the checker in-process against `addr`, as `check [--all] ADDR`.
async fn check(addr: SocketAddr, all: bool) -> Outcome {
    let mut args = vec![addr.to_string()];
    if all {
        args.insert(0, "--all".to_string());
    }
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let verdict = check::run(
        "udp-echo",
        "127.0.0.1:7007",
        &args,
        STAGES,
        UdpClient::new,
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

// ---------------------------------------------------------------------------
// The lesson's own server.

fn config(buffer_size: usize) -> UdpEchoConfig {
    UdpEchoConfig {
        server: ServerConfig::localhost_any_port(),
        buffer_size,
        loop_window: udp_echo::loop_guard::LOOP_WINDOW,
    }
}

async fn start_server(config: UdpEchoConfig) -> InProcess<std::io::Result<udp_echo::EchoSummary>> {
    let socket = bind_udp(config.server.addr())
        .await
        .expect("bind 127.0.0.1:0");
    let addr = socket.local_addr().expect("local_addr");
    run_in_process(addr, move |shutdown| async move {
        udp_echo::run(socket, &config, shutdown).await
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lesson_server_passes_every_stage() {
    let server = start_server(config(MAX_DATAGRAM)).await;
    let outcome = check(server.addr, false).await;
    assert_eq!(outcome.passed(), ALL_STAGES, "{}", outcome.out);
    assert_eq!(outcome.verdict, Verdict::AllPassed);
    assert_eq!(outcome.err, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lesson_server_with_a_1024_byte_buffer_fails_only_stage_3() {
    let server = start_server(config(1024)).await;
    let outcome = check(server.addr, true).await;
    assert_eq!(outcome.passed(), [1, 2, 4], "{}", outcome.out);
    assert_eq!(outcome.failed(), [3], "{}", outcome.out);
    assert!(
        outcome
            .out
            .contains("the first 1024 of the 65507 bytes, the rest cut off"),
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
        "step1-one-datagram",
        &[1],
        "Checker: passes stage 1; fails stages 2-4",
    ),
    (
        "step2-loop",
        &[1, 2, 4],
        "Checker: passes stages 1, 2 and 4; fails stage 3",
    ),
    (
        "step3-full-size",
        ALL_STAGES,
        "Checker: passes every stage.",
    ),
    ("step4-tokio", ALL_STAGES, "Checker: passes every stage."),
];

/// The built example `name`. The first call builds udp-echo's examples
/// (`cargo build --examples`, nothing to do when `cargo test` already built
/// them), so `cargo test --test checker` alone works too.
fn example(name: &str) -> PathBuf {
    static EXAMPLES: OnceLock<PathBuf> = OnceLock::new();
    let dir = EXAMPLES.get_or_init(|| {
        // This test runs as target/PROFILE/deps/checker-HASH.
        let exe = std::env::current_exe().expect("the test knows its own path");
        let profile_dir = exe
            .parent()
            .and_then(|deps| deps.parent())
            .expect("tests run from target/PROFILE/deps");
        let mut build = std::process::Command::new(env!("CARGO"));
        build.args(["build", "--quiet", "-p", "udp-echo", "--examples"]);
        if profile_dir.ends_with("release") {
            build.arg("--release");
        }
        // The same target directory as this test, however it was chosen.
        if let Some(target_dir) = profile_dir.parent() {
            build.arg("--target-dir").arg(target_dir);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_step_passes_exactly_the_stages_it_claims() {
    for &(name, claimed, sentence) in STEP_CLAIMS {
        let source =
            std::fs::read_to_string(format!("{}/examples/{name}.rs", env!("CARGO_MANIFEST_DIR")))
                .expect("the step's source");
        assert!(
            source.contains(sentence),
            "{name}.rs should say {sentence:?} in its header"
        );

        let program = example(name);
        let mut running = spawn(program.to_str().expect("a UTF-8 path"), &[]);
        let port = running.listening_port("udp").await;
        let outcome = check(SocketAddr::from(([127, 0, 0, 1], port)), true).await;
        assert_eq!(outcome.passed(), claimed, "{name}:\n{}", outcome.out);
    }
}

// ---------------------------------------------------------------------------
// Broken servers: one for each stage, each failing at exactly that stage.

/// A UDP socket on 127.0.0.1:0 for a broken server, and its address.
async fn broken_socket() -> (UdpSocket, SocketAddr) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let addr = socket.local_addr().expect("local_addr");
    (socket, addr)
}

/// Stage 1: replies from a second socket, so the reply comes from another
/// port, and a client that asked ADDR never sees it.
async fn start_replying_from_another_socket() -> SocketAddr {
    let (socket, addr) = broken_socket().await;
    let (replies, _) = broken_socket().await;
    tokio::spawn(async move {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        while let Ok((len, peer)) = socket.recv_from(&mut buf).await {
            let _ = replies.send_to(&buf[..len], peer).await;
        }
    });
    addr
}

/// Stage 2: treats a datagram like a stream and echoes it line by line.
async fn start_splitting_lines() -> SocketAddr {
    let (socket, addr) = broken_socket().await;
    tokio::spawn(async move {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        while let Ok((len, peer)) = socket.recv_from(&mut buf).await {
            for line in buf[..len].split_inclusive(|&byte| byte == b'\n') {
                let _ = socket.send_to(line, peer).await;
            }
        }
    });
    addr
}

/// Stage 3: takes an empty datagram for "nothing" and does not answer it.
async fn start_ignoring_empty_datagrams() -> SocketAddr {
    let (socket, addr) = broken_socket().await;
    tokio::spawn(async move {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        while let Ok((len, peer)) = socket.recv_from(&mut buf).await {
            if len > 0 {
                let _ = socket.send_to(&buf[..len], peer).await;
            }
        }
    });
    addr
}

/// Stage 4: `connect`s its socket to the first client, to use `send`
/// instead of `send_to`; from then on the kernel drops everyone else's
/// datagrams.
async fn start_connecting_to_the_first_client() -> SocketAddr {
    let (socket, addr) = broken_socket().await;
    let socket = Arc::new(socket);
    tokio::spawn(async move {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        let mut connected = false;
        while let Ok((len, peer)) = socket.recv_from(&mut buf).await {
            if !connected {
                connected = socket.connect(peer).await.is_ok();
            }
            let _ = socket.send(&buf[..len]).await;
        }
    });
    addr
}

/// Runs the checker (stopping at the first failure) and checks that it
/// passed every stage before `stage`, failed `stage`, and said each of `says`.
async fn assert_fails_at(addr: SocketAddr, stage: usize, says: &[&str]) {
    let outcome = check(addr, false).await;
    let before: Vec<usize> = (1..stage).collect();
    assert_eq!(outcome.passed(), before, "{}", outcome.out);
    assert_eq!(outcome.failed(), [stage], "{}", outcome.out);
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
async fn a_server_replying_from_another_socket_fails_stage_1() {
    let addr = start_replying_from_another_socket().await;
    let says = [
        "got:      nothing within 5 s",
        "from the socket that received it",
    ];
    assert_fails_at(addr, 1, &says).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_splitting_lines_fails_stage_2() {
    let addr = start_splitting_lines().await;
    let says = [
        r#"got:      "first line\n" (11 bytes)"#,
        "UDP keeps message",
    ];
    assert_fails_at(addr, 2, &says).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_ignoring_empty_datagrams_fails_stage_3() {
    let addr = start_ignoring_empty_datagrams().await;
    let says = [
        r#"sent:     "" (0 bytes)"#,
        "an empty datagram is a datagram",
    ];
    assert_fails_at(addr, 3, &says).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_connected_to_its_first_client_fails_stage_4() {
    let addr = start_connecting_to_the_first_client().await;
    let says = [
        "client A got nothing within 5 s",
        "reply to the address each",
    ];
    assert_fails_at(addr, 4, &says).await;
}

// ---------------------------------------------------------------------------
// Node, written the way the tutorials write it.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs node; .ci/run runs it"]
async fn node_dgram_passes_every_stage() {
    let script = format!("{}/tests/node/echo.js", env!("CARGO_MANIFEST_DIR"));
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
        .unwrap_or_else(|| panic!("no port in node's first line {first_line:?}"));
    let outcome = check(SocketAddr::from(([127, 0, 0, 1], port)), true).await;
    assert_eq!(outcome.passed(), ALL_STAGES, "{}", outcome.out);
}

// ---------------------------------------------------------------------------
// Nothing answering, bad usage, and the binary itself.

/// A UDP port on 127.0.0.1 where nothing listens: bound by us, then released.
async fn free_port() -> u16 {
    let (_, addr) = broken_socket().await;
    addr.port()
}

#[tokio::test]
async fn nothing_listening_is_exit_2_and_one_sentence() {
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port().await));
    let outcome = check(addr, false).await;
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

/// Runs `cargo run -p udp-echo --bin check -- ARGS`: (exit status, stdout, stderr).
async fn check_binary(args: &[&str]) -> (Option<i32>, String, String) {
    let output = tokio::process::Command::new(env!("CARGO"))
        .args(["run", "--quiet", "-p", "udp-echo", "--bin", "check", "--"])
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
    let server = start_server(config(MAX_DATAGRAM)).await;
    let (code, out, _) = check_binary(&[&server.addr.to_string()]).await;
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out.lines().count(), 4, "{out}");

    let splitter = start_splitting_lines().await;
    let (code, out, _) = check_binary(&[&splitter.to_string()]).await;
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("FAIL stage 2: boundaries kept\n"), "{out}");

    let nowhere = format!("127.0.0.1:{}", free_port().await);
    let (code, out, err) = check_binary(&[&nowhere]).await;
    assert_eq!((code, out.as_str()), (Some(2), ""));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("nothing is answering"), "{err}");

    let (code, _, err) = check_binary(&[]).await;
    assert_eq!(code, Some(2));
    assert!(
        err.contains("usage: cargo run -p udp-echo --bin check"),
        "{err}"
    );
}
