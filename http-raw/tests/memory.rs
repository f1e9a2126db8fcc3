//! What a connection can make the `http-raw` binary hold in memory, measured
//! from the outside: the resident set size in `/proc/PID/status`. Linux
//! only: other systems have no `/proc`.
#![cfg(target_os = "linux")]

use testkit::process;

use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;
use process::spawn;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Barrier;

const HTTP_RAW: &str = env!("CARGO_BIN_EXE_http-raw");

/// How long one client may take; generous, the machine is shared.
const PATIENCE: Duration = Duration::from_secs(60);

/// Clients sending a body at the same time.
const CLIENTS: usize = 1000;

/// What each sends: 1 MiB - 1 KiB, the largest body that used to be read
/// whole wherever it was sent.
const BODY: usize = 1024 * 1024 - 1024;

/// The most a connection to a route without a body may add to the server's
/// memory, as the book states it: the head buffer (at most ~20 KiB), the
/// write buffer (at most ~80 KiB) and small change; no body at all.
const WORST_CASE_PER_CONNECTION: u64 = 128 * 1024;

/// A `kB` field of `/proc/PID/status` (`VmRSS`, `VmHWM`), in bytes.
fn status_field(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc status");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"));
    kib * 1024
}

/// One client: the head of a POST to `/hello` (a route that takes no body),
/// then all of the body but its last byte; then it waits until every client
/// has got that far (the moment a server that reads bodies holds them all),
/// and sends the last byte. Meanwhile it reads whatever the server answers,
/// and returns the status, if a response arrived before the connection closed.
async fn post_a_body(port: u16, chunk: Arc<Vec<u8>>, all_sent: Arc<Barrier>) -> Option<u16> {
    let Ok(stream) = TcpStream::connect(("127.0.0.1", port)).await else {
        all_sent.wait().await;
        return None;
    };
    let (mut reader, mut writer) = stream.into_split();
    let writing = async move {
        let head = format!("POST /hello HTTP/1.1\r\nHost: t\r\nContent-Length: {BODY}\r\n\r\n");
        let all_but_last = async {
            writer.write_all(head.as_bytes()).await?;
            let mut sent = 0;
            while sent < BODY - 1 {
                let n = chunk.len().min(BODY - 1 - sent);
                writer.write_all(&chunk[..n]).await?;
                sent += n;
            }
            std::io::Result::Ok(())
        };
        // Fails once the server refuses and closes: expected.
        let _ = tokio::time::timeout(PATIENCE, all_but_last).await;
        all_sent.wait().await;
        let _ = writer.write_all(b"x").await;
    };
    let reading = async move {
        let mut received = Vec::new();
        let mut buf = [0u8; 1024];
        while !received.windows(4).any(|window| window == b"\r\n\r\n") {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
        std::str::from_utf8(received.get(9..12)?).ok()?.parse().ok()
    };
    let (_, status) = tokio::join!(writing, tokio::time::timeout(PATIENCE, reading));
    status.ok().flatten()
}

#[tokio::test]
async fn a_thousand_1_mib_bodies_to_a_route_without_one_leave_memory_bounded() {
    let mut server = spawn(HTTP_RAW, &[("RUST_LOG", "warn")]);
    let port = server.listening_port("http").await;
    let pid = server.child.id().expect("the server is running");
    let before = status_field(pid, "VmRSS");

    let chunk = Arc::new(vec![b'x'; 64 * 1024]);
    let all_sent = Arc::new(Barrier::new(CLIENTS));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| tokio::spawn(post_a_body(port, Arc::clone(&chunk), Arc::clone(&all_sent))))
        .collect();
    let mut refused = 0;
    for client in clients {
        if client.await.expect("client task") == Some(413) {
            refused += 1;
        }
    }
    let peak = status_field(pid, "VmHWM");
    server.signal(Signal::SIGTERM);
    assert_eq!(server.exit_status().await.code(), Some(0));

    let growth = peak.saturating_sub(before);
    let bound = WORST_CASE_PER_CONNECTION * CLIENTS as u64;
    assert!(
        growth < bound,
        "{CLIENTS} clients each sending {BODY} bytes to /hello grew the server by {} KiB \
         ({} KiB per connection); the bound is {} KiB",
        growth / 1024,
        growth / 1024 / CLIENTS as u64,
        bound / 1024
    );
    // Most see the 413; a few may lose it to the reset that follows when
    // they are still sending after the server has stopped listening.
    assert!(
        refused > CLIENTS / 2,
        "only {refused} of {CLIENTS} clients got 413"
    );
}
