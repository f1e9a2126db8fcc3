//! Ten thousand idle keep-alive connections to the `http-raw` binary, every
//! one still answered afterwards, and the `idle-cost` example the book uses
//! to measure what they cost. (The memory figure itself lives in that
//! example and in the benchmark, `../shared/bench/run idle-10k`, not here.)

// Elsewhere than Unix the tests that send signals (or need what only Unix
// has) are compiled out, and what only they use is unused.
#![cfg_attr(not(unix), allow(unused_imports, dead_code))]

use std::time::Duration;

#[cfg(unix)]
use nix::sys::signal::Signal;
use testkit::idle_crowd::{Exchange, ask_all, open_idle_crowd, raise_file_limit};
use testkit::process::spawn;

const HTTP_RAW: &str = env!("CARGO_BIN_EXE_http-raw");

/// Idle connections held at once.
const CONNECTIONS: usize = 10_000;

/// How long the example may take for a few hundred connections.
const PATIENCE: Duration = Duration::from_secs(60);

const HELLO: Exchange = Exchange {
    request: b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n",
    starts_with: b"HTTP/1.1 200 ",
    ends_with: b"Hello, world",
};

// Unix only: Windows has no signals to send.
#[cfg(unix)]
#[tokio::test]
async fn ten_thousand_idle_keep_alive_connections_are_all_answered_afterwards() {
    // Each side holds one descriptor per connection, plus some to spare.
    if let Err(why) = raise_file_limit(CONNECTIONS as u64 + 1000) {
        eprintln!("skipped: {why}");
        return;
    }
    let mut server = spawn(
        HTTP_RAW,
        &[
            ("RUST_LOG", "warn"),
            ("MAX_CONNECTIONS", "11000"),
            // Idle for as long as the test takes, not the default 5 s.
            ("KEEP_ALIVE_SECS", "600"),
        ],
    );
    let port = server.listening_port("http").await;

    let connections = open_idle_crowd(port, CONNECTIONS, HELLO).await;
    // All of them idle at once; now each asks again.
    let answered = ask_all(connections, HELLO).await;
    assert_eq!(
        answered, CONNECTIONS,
        "idle connections answered afterwards"
    );

    server.signal(Signal::SIGTERM);
    assert_eq!(server.exit_status().await.code(), Some(0));
}

/// `examples/idle-cost.rs`, which the book's "What a waiting connection
/// costs" runs; `cargo test` builds the examples beside the binaries.
fn idle_cost_example() -> std::path::PathBuf {
    let bin_dir = std::path::Path::new(HTTP_RAW)
        .parent()
        .expect("binaries live in a directory");
    bin_dir.join("examples").join("idle-cost")
}

// Linux only: the example reads /proc (and the test sends a signal).
#[cfg(target_os = "linux")]
#[tokio::test]
async fn idle_cost_example_prints_the_growth_per_connection() {
    let mut server = spawn(HTTP_RAW, &[("RUST_LOG", "warn")]);
    let port = server.listening_port("http").await;
    let pid = server.child.id().expect("server running").to_string();

    let run = tokio::process::Command::new(idle_cost_example())
        .args([&format!("127.0.0.1:{port}"), &pid, "200", "http"])
        .output();
    let output = tokio::time::timeout(PATIENCE, run)
        .await
        .expect("idle-cost finished in time")
        .expect("idle-cost runs (built by `cargo test`)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "idle-cost failed: {output:?}");
    assert!(
        stdout.contains("200 idle connections to 127.0.0.1:")
            && stdout.contains("KiB per connection")
            && stdout.contains("kernel TCP memory"),
        "idle-cost printed: {stdout}"
    );

    server.signal(Signal::SIGTERM);
    assert_eq!(server.exit_status().await.code(), Some(0));
}

#[tokio::test]
async fn idle_cost_example_connects_only_to_this_machine() {
    let run = tokio::process::Command::new(idle_cost_example())
        .args(["192.0.2.1:80", "1"])
        .output();
    let output = tokio::time::timeout(PATIENCE, run)
        .await
        .expect("idle-cost finished in time")
        .expect("idle-cost runs (built by `cargo test`)");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("only connects to this machine"));
}
