//! Is tcp-echo's checker fair? It is run against servers whose behaviour we know.
//!
//! - The lesson's own server passes every stage (the one-at-a-time
//!   `blocking` mode fails exactly stage 3, as it should).
//! - Each build-along step (`examples/stepN-*.rs`) passes exactly the stages
//!   its header claims.
//! - Deliberately broken servers, one per stage, each fail at exactly that
//!   stage, with the hint that names their mistake.
//! - Two Node servers written the way tutorials write them (`tests/node/`):
//!   `socket.pipe(socket)` passes every stage; reading the data as UTF-8 text
//!   passes stage 1 and fails first at stage 2 (binary-safe).
//! - Nothing listening at ADDR gives exit status 2 and one sentence.
//!
//! Most runs call the checker in-process (`tcp_echo::check::run`, the same
//! function the binary runs); a few run the binary itself with
//! `cargo run -p tcp-echo --bin check`, since every lesson's checker is
//! called `check` and they share `target/debug/check`.

mod support;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use support::{config, start_server};
use tcp_echo::EchoMode;
use tcp_echo::check::{self, Verdict, echo_stages::STAGES};
use tcp_echo::testing::process::spawn;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Every stage of tcp-echo's checker, by number.
const ALL_STAGES: &[usize] = &[1, 2, 3, 4, 5];

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
        "tcp-echo",
        "127.0.0.1:7007",
        &args,
        STAGES,
        |target| target,
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lesson_server_passes_every_stage() {
    for mode in [EchoMode::Async, EchoMode::Threads] {
        let server = start_server(config(mode)).await;
        let outcome = check(server.addr, false).await;
        assert_eq!(outcome.passed(), ALL_STAGES, "{mode}:\n{}", outcome.out);
        assert_eq!(outcome.verdict, Verdict::AllPassed);
        assert_eq!(outcome.err, "");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lesson_blocking_server_fails_only_five_clients_at_once() {
    let server = start_server(config(EchoMode::Blocking)).await;
    let outcome = check(server.addr, true).await;
    assert_eq!(outcome.passed(), [1, 2, 4, 5], "{}", outcome.out);
    assert_eq!(outcome.failed(), [3], "{}", outcome.out);
    assert_eq!(outcome.verdict, Verdict::StageFailed);
}

// ---------------------------------------------------------------------------
// The build-along steps: each passes exactly the stages it claims.

/// Each step, the stages it passes, and the sentence in its `//!` header
/// that says so (the header must not drift from the truth).
const STEP_CLAIMS: &[(&str, &[usize], &str)] = &[
    (
        "step1-lines",
        &[1],
        "Checker: passes stage 1; fails stages 2-5",
    ),
    (
        "step2-bytes",
        &[1, 2, 4, 5],
        "Checker: passes stages 1, 2, 4 and 5; fails stage 3",
    ),
    ("step3-threads", ALL_STAGES, "Checker: passes every stage."),
    ("step4-tasks", ALL_STAGES, "Checker: passes every stage."),
    ("step5-limits", ALL_STAGES, "Checker: passes every stage."),
];

/// The built example `name`. The first call builds tcp-echo's examples
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
        build.args(["build", "--quiet", "-p", "tcp-echo", "--examples"]);
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
        let port = running.listening_port("tcp").await;
        let outcome = check(SocketAddr::from(([127, 0, 0, 1], port)), true).await;
        assert_eq!(outcome.passed(), claimed, "{name}:\n{}", outcome.out);
        let verdict = if claimed == ALL_STAGES {
            Verdict::AllPassed
        } else {
            Verdict::StageFailed
        };
        assert_eq!(outcome.verdict, verdict, "{name}:\n{}", outcome.out);
    }
}

// ---------------------------------------------------------------------------
// Broken servers: one for each stage, each failing at exactly that stage.

type Handler = fn(TcpStream) -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// A server on 127.0.0.1:0 giving each connection its own task running
/// `handle`; it lives as long as the test's runtime.
async fn start_broken(handle: Handler) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(handle(stream));
        }
    });
    addr
}

/// Stage 1: answers in capitals.
async fn shouting(mut stream: TcpStream) {
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = stream.read(&mut buf).await {
        buf[..n].make_ascii_uppercase();
        if stream.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Stage 2: decodes what it reads as UTF-8 text and writes the text back.
async fn lossy_text(mut stream: TcpStream) {
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = stream.read(&mut buf).await {
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if stream.write_all(text.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Stage 4: takes a 0-byte read for "nothing yet" and keeps waiting, so
/// it never closes after the client half-closes.
async fn never_closes(mut stream: TcpStream) {
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) => tokio::time::sleep(Duration::from_millis(50)).await,
            Ok(n) => {
                if stream.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
            Err(_) => return,
        }
    }
}

/// Stage 5: "protects itself" with a cap of 1 MiB per connection, a limit
/// that is not an echo server's to set.
async fn capped_at_one_mib(mut stream: TcpStream) {
    const CAP: usize = 1024 * 1024;
    let mut buf = [0u8; 4096];
    let mut total = 0;
    while let Ok(n @ 1..) = stream.read(&mut buf).await {
        total += n;
        if total > CAP || stream.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Echoes correctly until the client finishes.
async fn good_echo(mut stream: TcpStream) {
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = stream.read(&mut buf).await {
        if stream.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
    let _ = stream.shutdown().await;
}

/// Stage 3: a correct echo, one client at a time.
async fn start_one_at_a_time() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            good_echo(stream).await;
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
    let details: Vec<&str> = outcome.out.lines().skip(stage).collect();
    let labels: Vec<&str> = details
        .iter()
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
async fn a_server_that_shouts_fails_stage_1() {
    let addr = start_broken(|stream| Box::pin(shouting(stream))).await;
    assert_fails_at(addr, 1, &[r#"got:      "HELLO\n" (6 bytes)"#]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_reads_text_fails_stage_2_binary_safe() {
    let addr = start_broken(|stream| Box::pin(lossy_text(stream))).await;
    let says = [
        r#"differ from byte 128 on: "\xef\xbf\xbd"#,
        "echo bytes, not text",
    ];
    assert_fails_at(addr, 2, &says).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_serves_one_client_at_a_time_fails_stage_3() {
    let addr = start_one_at_a_time().await;
    assert_fails_at(
        addr,
        3,
        &["nothing within 5 s", "serves one client at a time"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_ignores_the_half_close_fails_stage_4() {
    let addr = start_broken(|stream| Box::pin(never_closes(stream))).await;
    let says = [
        r#""last words" (10 bytes), then nothing more within 5 s"#,
        "a read of 0 bytes means the client has finished",
    ];
    assert_fails_at(addr, 4, &says).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_caps_each_connection_fails_stage_5() {
    let addr = start_broken(|stream| Box::pin(capped_at_one_mib(stream))).await;
    // How much of the echo arrives varies: closing with unread bytes makes
    // the kernel reset the connection, which can discard some in flight.
    let says = [
        "of the 4194304 bytes (right so far), then",
        "an echo has no message size",
    ];
    assert_fails_at(addr, 5, &says).await;
}

// ---------------------------------------------------------------------------
// Node, written the way the tutorials write it.

/// Runs the checker (`--all`) against `tests/node/NAME.js`.
async fn check_node(name: &str) -> Outcome {
    let script = format!("{}/tests/node/{name}.js", env!("CARGO_MANIFEST_DIR"));
    let mut command = tokio::process::Command::new("node");
    command
        .arg(&script)
        .env("PORT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let mut node = command
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
    check(SocketAddr::from(([127, 0, 0, 1], port)), true).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs node; .ci/run runs it"]
async fn node_with_socket_pipe_passes_every_stage() {
    let outcome = check_node("echo").await;
    assert_eq!(outcome.passed(), ALL_STAGES, "{}", outcome.out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs node; .ci/run runs it"]
async fn node_reading_text_fails_first_at_stage_2_binary_safe() {
    let outcome = check_node("echo-text").await;
    // UTF-8 decoding breaks stage 2, and the 4 MiB of stage 5 (bytes of
    // every value) for the same reason.
    assert_eq!(outcome.passed(), [1, 3, 4], "{}", outcome.out);
    assert_eq!(outcome.failed(), [2, 5], "{}", outcome.out);
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
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port().await));
    let outcome = check(addr, false).await;
    assert_eq!(outcome.verdict, Verdict::Unusable);
    assert_eq!(outcome.verdict.exit_code(), 2);
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

/// Runs `cargo run -p tcp-echo --bin check -- ARGS`: (exit status, stdout, stderr).
async fn check_binary(args: &[&str]) -> (Option<i32>, String, String) {
    let output = tokio::process::Command::new(env!("CARGO"))
        .args(["run", "--quiet", "-p", "tcp-echo", "--bin", "check", "--"])
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
    let server = start_server(config(EchoMode::Async)).await;
    let (code, out, _) = check_binary(&[&server.addr.to_string()]).await;
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out.lines().count(), 5, "{out}");

    let shouter = start_broken(|stream| Box::pin(shouting(stream))).await;
    let (code, out, _) = check_binary(&[&shouter.to_string()]).await;
    assert_eq!(code, Some(1), "{out}");
    assert!(out.starts_with("FAIL stage 1: echo\n"), "{out}");

    let nowhere = format!("127.0.0.1:{}", free_port().await);
    let (code, out, err) = check_binary(&[&nowhere]).await;
    assert_eq!((code, out.as_str()), (Some(2), ""));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("nothing is answering"), "{err}");

    for bad in [&[][..], &["--everything", "127.0.0.1:7007"], &["127.0.0.1"]] {
        let (code, out, err) = check_binary(bad).await;
        assert_eq!((code, out.as_str()), (Some(2), ""), "{bad:?}");
        assert_eq!(err.lines().count(), 1, "{bad:?}: {err}");
        assert!(
            err.contains("usage: cargo run -p tcp-echo --bin check"),
            "{err}"
        );
    }
}
