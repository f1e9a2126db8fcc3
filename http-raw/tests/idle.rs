//! Ten thousand idle keep-alive connections to the `http-raw` binary, every
//! one still answered afterwards. (What they cost in memory is measured by
//! the benchmark, `../shared/bench/run idle-10k`, not here.)

#[path = "../../tcp-echo/tests/support/process.rs"]
mod process;

use std::time::Duration;

use nix::sys::resource::{Resource, getrlimit, setrlimit};
use nix::sys::signal::Signal;
use process::spawn;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HTTP_RAW: &str = env!("CARGO_BIN_EXE_http-raw");

/// Idle connections held at once.
const CONNECTIONS: usize = 10_000;

/// Connections opened at the same moment: the listen backlog (often 4096)
/// must not overflow, or the kernel would make some clients retry for seconds.
const OPENING_AT_ONCE: usize = 200;

/// How long one request on one connection may take; generous, the machine is
/// shared and the binary is a debug build.
const PATIENCE: Duration = Duration::from_secs(60);

const REQUEST: &[u8] = b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n";

/// Sends `GET /hello` and reads the whole response; `true` if it was 200
/// with `Hello, world`.
async fn hello(stream: &mut TcpStream) -> bool {
    let exchange = async {
        stream.write_all(REQUEST).await?;
        let mut received = Vec::new();
        let mut buf = [0u8; 512];
        // The response is small and fixed: its body ends the bytes.
        while !received.ends_with(b"Hello, world") {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            received.extend_from_slice(&buf[..n]);
        }
        std::io::Result::Ok(
            received.starts_with(b"HTTP/1.1 200 ") && received.ends_with(b"Hello, world"),
        )
    };
    matches!(tokio::time::timeout(PATIENCE, exchange).await, Ok(Ok(true)))
}

/// Raises this process's soft limit on open files to at least `needed`
/// (the server, started from here, inherits it). `Err` says why it cannot.
fn raise_file_limit(needed: u64) -> Result<(), String> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).map_err(|error| error.to_string())?;
    if soft >= needed {
        return Ok(());
    }
    if hard < needed {
        return Err(format!(
            "the hard limit on open files is {hard}, and this test needs {needed} (`ulimit -Hn`)"
        ));
    }
    setrlimit(Resource::RLIMIT_NOFILE, needed, hard).map_err(|error| error.to_string())
}

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

    // Open them all, a batch at a time, each with one request answered.
    let mut connections = Vec::with_capacity(CONNECTIONS);
    while connections.len() < CONNECTIONS {
        let batch: Vec<_> = (0..OPENING_AT_ONCE.min(CONNECTIONS - connections.len()))
            .map(|_| {
                tokio::spawn(async move {
                    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
                    hello(&mut stream).await.then_some(stream)
                })
            })
            .collect();
        for opening in batch {
            let stream = opening.await.expect("client task");
            assert!(
                stream.is_some(),
                "connection {} was not answered",
                connections.len() + 1
            );
            connections.extend(stream);
        }
    }

    // All of them idle at once; now each asks again.
    let asking: Vec<_> = connections
        .into_iter()
        .map(|mut stream| tokio::spawn(async move { hello(&mut stream).await }))
        .collect();
    let mut answered = 0;
    for ask in asking {
        if ask.await.expect("client task") {
            answered += 1;
        }
    }
    assert_eq!(
        answered, CONNECTIONS,
        "idle connections answered afterwards"
    );

    server.signal(Signal::SIGTERM);
    assert_eq!(server.exit_status().await.code(), Some(0));
}
