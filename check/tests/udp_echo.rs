//! Is udp-echo's checker fair? It is run against servers whose behaviour we know.
//!
//! - A correct UDP echo server, written here, passes every stage.
//! - Deliberately broken servers, one per stage, each fail at exactly that
//!   stage, with the hint that names their mistake.
//! - A Node server written the way tutorials write it
//!   (`tests/node/udp-echo.js`, `dgram`) passes every stage.
//! - Nothing listening at ADDR gives exit status 2 and one sentence.
//! - The binary exits 0, 1 or 2 accordingly.
//!
//! That the lesson's own server and its build-along steps pass is
//! udp-echo's own test (`udp-echo/tests/checker.rs`).

mod support;

use std::net::SocketAddr;
use std::sync::Arc;

use check::Verdict;
use support::{check_all, check_binary, check_lesson, start_node};
use tokio::net::UdpSocket;

/// Every stage of udp-echo's checker, by number.
const ALL_STAGES: &[usize] = &[1, 2, 3, 4];

/// The largest UDP payload over IPv4 (65,535 - 20 - 8).
const MAX_DATAGRAM: usize = 65_507;

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

/// A correct echo: every datagram back to its sender, whole.
async fn start_correct() -> SocketAddr {
    let (socket, addr) = broken_socket().await;
    tokio::spawn(async move {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        while let Ok((len, peer)) = socket.recv_from(&mut buf).await {
            let _ = socket.send_to(&buf[..len], peer).await;
        }
    });
    addr
}

/// Runs the checker (stopping at the first failure) and checks that it
/// passed every stage before `stage`, failed `stage`, and said each of `says`.
async fn assert_fails_at(addr: SocketAddr, stage: usize, says: &[&str]) {
    check_lesson("udp-echo", addr)
        .await
        .assert_fails_at(stage, says);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_echo_server_passes_every_stage() {
    let outcome = check_lesson("udp-echo", start_correct().await).await;
    assert_eq!(outcome.passed(), ALL_STAGES, "{}", outcome.out);
    assert_eq!(outcome.verdict, Verdict::AllPassed);
    assert_eq!(outcome.err, "");
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
async fn node_dgram_passes_every_stage() {
    let node = start_node("udp-echo.js").await;
    let outcome = check_all("udp-echo", node.addr).await;
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
    let outcome = check_lesson("udp-echo", addr).await;
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
    let good = start_correct().await;
    let (code, out, _) = check_binary(&["udp-echo", &good.to_string()]).await;
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out.lines().count(), 4, "{out}");

    let splitter = start_splitting_lines().await;
    let (code, out, _) = check_binary(&["udp-echo", &splitter.to_string()]).await;
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("FAIL stage 2: boundaries kept\n"), "{out}");

    let nowhere = format!("127.0.0.1:{}", free_port().await);
    let (code, out, err) = check_binary(&["udp-echo", &nowhere]).await;
    assert_eq!((code, out.as_str()), (Some(2), ""));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("nothing is answering"), "{err}");

    let (code, _, err) = check_binary(&["udp-echo"]).await;
    assert_eq!(code, Some(2));
    assert!(
        err.contains("usage: cargo run -p check -- udp-echo [--all] ADDR"),
        "{err}"
    );
}
