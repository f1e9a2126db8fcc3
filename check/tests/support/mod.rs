//! What the fairness tests share: run the checker (in this process, or as
//! the built binary), read its report, and start the servers it is run
//! against (Node scripts under `tests/node/`).
//!
//! What to notice: nothing here comes from a lesson. The servers the
//! checker is tested against are written in these tests or in Node, so the
//! checker is proven on servers it shares no code with, as a learner's
//! would be.

#![allow(dead_code)]

pub mod chat_server;
pub mod faulty_proxy;
pub mod flawed_app;
pub mod flawed_dns;
pub mod flawed_ftp;
pub mod flawed_http;
pub mod flawed_smtp;
pub mod real_servers;

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::time::Duration;

use check::Verdict;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long a test waits for a process step (a Node server's first line,
/// the binary's exit).
pub const PATIENCE: Duration = Duration::from_secs(30);

/// What one run of the checker printed and how it ended.
#[derive(Debug)]
pub struct Outcome {
    /// How the run ended.
    pub verdict: Verdict,
    /// The PASS/FAIL lines and the failure reports.
    pub out: String,
    /// The one-sentence errors.
    pub err: String,
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

    /// The stages that passed, by number.
    pub fn passed(&self) -> Vec<usize> {
        self.stages("PASS")
    }

    /// The stages that failed, by number.
    pub fn failed(&self) -> Vec<usize> {
        self.stages("FAIL")
    }

    /// The `hint:` line of the (first) failure.
    pub fn hint(&self) -> &str {
        self.out
            .lines()
            .find(|line| line.starts_with("  hint:"))
            .unwrap_or_default()
    }

    /// Asserts stages 1..`stage` passed, `stage` failed with a whole report
    /// (sent, expected, got, hint), the run stopped there, and the report
    /// says each of `says`.
    pub fn assert_fails_at(&self, stage: usize, says: &[&str]) {
        let before: Vec<usize> = (1..stage).collect();
        assert_eq!(self.passed(), before, "{}", self.out);
        assert_eq!(self.failed(), [stage], "{}", self.out);
        assert_eq!(self.verdict, Verdict::StageFailed, "{}", self.out);
        assert_eq!(self.err, "", "nothing on stderr");
        let labels: Vec<&str> = self
            .out
            .lines()
            .skip(stage)
            .filter_map(|line| line.split(':').next())
            .map(str::trim)
            .collect();
        assert_eq!(labels, ["sent", "expected", "got", "hint"], "{}", self.out);
        for words in says {
            assert!(self.out.contains(words), "{words:?} in:\n{}", self.out);
        }
    }
}

/// Runs the checker in this process, as `check ARGS` would.
pub async fn check(args: &[&str]) -> Outcome {
    let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let verdict = check::run(&args, &mut out, &mut err)
        .await
        .expect("writing to a Vec cannot fail");
    Outcome {
        verdict,
        out: String::from_utf8(out).expect("the checker prints UTF-8"),
        err: String::from_utf8(err).expect("the checker prints UTF-8"),
    }
}

/// Runs `check LESSON ADDR` in this process, stopping at the first failure.
pub async fn check_lesson(lesson: &str, addr: SocketAddr) -> Outcome {
    check(&[lesson, &addr.to_string()]).await
}

/// Runs `check LESSON --all ADDR` in this process.
pub async fn check_all(lesson: &str, addr: SocketAddr) -> Outcome {
    check(&[lesson, "--all", &addr.to_string()]).await
}

/// Runs the built binary, `target/debug/check ARGS` (what
/// `cargo run -p check -- ARGS` runs): (exit status, stdout, stderr).
pub async fn check_binary(args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_check"))
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(PATIENCE, output)
        .await
        .expect("the checker finished")
        .expect("the checker runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `127.0.0.1:port`.
pub fn local(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// A TCP port on 127.0.0.1 where nothing listens: bound, then released.
pub fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// A Node server from `tests/node/`, killed when dropped.
pub struct NodeServer {
    /// The process (killed on drop).
    _child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

/// Starts `node tests/node/SCRIPT` with `PORT=0` and reads its port from
/// the end of its first line (`listening on http://127.0.0.1:PORT`). Node is
/// on every machine these tests run on (a fresh one has Rust, gcc, python3,
/// node and curl), so the tests that use it are not ignored; a script that
/// needs an npm package is (`npm ci --prefix check/tests/node` first).
pub async fn start_node(script: &str) -> NodeServer {
    start_node_with(script, &[]).await
}

/// [`start_node`] with `env` set too.
pub async fn start_node_with(script: &str, env: &[(&str, &str)]) -> NodeServer {
    let script = format!("{}/tests/node/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new("node")
        .arg(&script)
        .env("PORT", "0")
        .env("HOST", "127.0.0.1")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("`node` must be installed (Debian: apt-get install nodejs)");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut first_line = String::new();
    let mut reader = BufReader::new(stdout);
    tokio::time::timeout(PATIENCE, reader.read_line(&mut first_line))
        .await
        .expect("node printed its listening line in time")
        .expect("reading node's stdout");
    let port: u16 = first_line
        .trim()
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("no port in node's first line {first_line:?}"));
    // Keep draining its stdout so it never blocks on a full pipe.
    tokio::spawn(async move {
        let mut lines = reader.lines();
        while let Ok(Some(_)) = lines.next_line().await {}
    });
    NodeServer {
        _child: child,
        addr: local(port),
    }
}
