//! Ten thousand idle keep-alive connections to the `http-server` binary,
//! every one still answered afterwards: lesson 4 serves on lesson 3's
//! connection loop, and a framework on top must not bring back per-connection
//! buffers or break the wait. (What they cost in memory is measured by
//! the benchmark, `../shared/bench/run idle-10k`, and by http-raw's
//! `idle-cost` example, not here.) Unix only: it stops the server with
//! SIGTERM, and Windows has no signals.
#![cfg(unix)]

use nix::sys::signal::Signal;
use testkit::idle_crowd::{Exchange, ask_all, open_idle_crowd, raise_file_limit};
use testkit::process::spawn;

const HTTP_SERVER: &str = env!("CARGO_BIN_EXE_http-server");

/// Idle connections held at once.
const CONNECTIONS: usize = 10_000;

const HELLO: Exchange = Exchange {
    request: b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n",
    starts_with: b"HTTP/1.1 200 ",
    ends_with: b"Hello, world",
};

#[tokio::test]
async fn ten_thousand_idle_keep_alive_connections_are_all_answered_afterwards() {
    // Each side holds one descriptor per connection, plus some to spare.
    if let Err(why) = raise_file_limit(CONNECTIONS as u64 + 1000) {
        eprintln!("skipped: {why}");
        return;
    }
    let mut server = spawn(
        HTTP_SERVER,
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
