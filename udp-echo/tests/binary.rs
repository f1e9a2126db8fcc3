//! The `udp-echo` binary as a learner meets it.

// Elsewhere than Unix the tests that send signals (or need what only Unix
// has) are compiled out, and what only they use is unused.
#![cfg_attr(not(unix), allow(unused_imports, dead_code))]

use testkit::process;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[cfg(unix)]
use nix::sys::signal::Signal;
use process::{assert_rejects_config, line_containing, spawn};
use tokio::net::UdpSocket;

const UDP_ECHO: &str = env!("CARGO_BIN_EXE_udp-echo");

async fn echo_once(port: u16, data: &[u8]) -> Vec<u8> {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind client");
    socket.connect(("127.0.0.1", port)).await.expect("connect");
    socket.send(data).await.expect("send");
    let mut buf = vec![0u8; 70_000];
    let n = tokio::time::timeout(process::STEP_TIMEOUT, socket.recv(&mut buf))
        .await
        .expect("no echo")
        .expect("recv");
    buf.truncate(n);
    buf
}

// Unix only: Windows has no signals to send.
#[cfg(unix)]
#[tokio::test]
async fn prints_listening_line_then_echoes_then_stops_on_sigterm() {
    let mut server = spawn(UDP_ECHO, &[]);
    let port = server.listening_port("udp").await;
    let hint = process::next_line(&mut server.stdout, "hint").await;
    assert_eq!(hint, Some(format!("try: nc -u 127.0.0.1 {port}")));
    assert_eq!(echo_once(port, b"ping").await, b"ping");
    server.signal(Signal::SIGTERM);
    assert_eq!(server.exit_status().await.code(), Some(0));
}

// Unix only: Windows has no signals to send.
#[cfg(unix)]
#[tokio::test]
async fn ctrl_c_stops_it_with_exit_0() {
    let mut server = spawn(UDP_ECHO, &[]);
    server.listening_port("udp").await;
    server.signal(Signal::SIGINT);
    assert_eq!(server.exit_status().await.code(), Some(0));
}

#[tokio::test]
async fn truncation_is_logged() {
    let mut server = spawn(UDP_ECHO, &[("UDP_BUFFER_BYTES", "16")]);
    let port = server.listening_port("udp").await;
    assert_eq!(echo_once(port, &[b'x'; 100]).await, [b'x'; 16]);
    let line = line_containing(&mut server.stderr, "truncated").await;
    assert!(line.contains("16-byte buffer"), "{line}");
}

#[tokio::test]
async fn bad_settings_exit_2_with_one_line() {
    for (name, value) in [
        ("PORT", "abc"),
        ("PORT", "70000"),
        ("HOST", "nonsense"),
        ("UDP_BUFFER_BYTES", "0"),
        ("UDP_BUFFER_BYTES", "65508"),
    ] {
        assert_rejects_config(UDP_ECHO, name, value).await;
    }
}

#[tokio::test]
async fn port_in_use_is_explained_not_panicked() {
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let mut server = spawn(UDP_ECHO, &[("PORT", &port.to_string())]);
    let (status, stderr) = server.exit_and_stderr().await;
    assert!(!status.success(), "exit status {status}");
    let text = stderr.join("\n");
    assert!(text.contains(&format!("udp://127.0.0.1:{port}")), "{text}");
    assert!(text.contains("already in use"), "{text}");
}

// Unix only: Windows has no signals to send.
#[cfg(unix)]
#[tokio::test]
async fn sigterm_stops_it_with_exit_0_while_datagrams_pour_in() {
    let mut server = spawn(UDP_ECHO, &[("SHUTDOWN_GRACE_SECS", "1")]);
    let port = server.listening_port("udp").await;
    assert_eq!(echo_once(port, b"ready?").await, b"ready?");
    // Three clients that send as fast as they can and never read the echoes,
    // bounded in count and time, so the server's socket never runs dry.
    let stop = Arc::new(AtomicBool::new(false));
    let mut pouring = Vec::new();
    let flood: Vec<_> = (0..3)
        .map(|_| {
            let stop = Arc::clone(&stop);
            let (started, pours) = tokio::sync::oneshot::channel();
            pouring.push(pours);
            std::thread::spawn(move || {
                let client = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind client");
                let mut started = Some(started);
                for i in 0u32..5_000_000 {
                    let sent = client.send_to(&i.to_le_bytes(), ("127.0.0.1", port));
                    if sent.is_err() || stop.load(Ordering::Relaxed) {
                        break;
                    }
                    if i == 10_000 {
                        started.take().map(|started| started.send(()));
                    }
                }
            })
        })
        .collect();
    for pours in pouring {
        tokio::time::timeout(process::STEP_TIMEOUT, pours)
            .await
            .expect("the flood starts")
            .expect("flooding thread alive");
    }

    let signalled = tokio::time::Instant::now();
    server.signal(Signal::SIGTERM);
    let status = server.exit_status().await;
    stop.store(true, Ordering::Relaxed);
    for client in flood {
        client.join().expect("flooding thread");
    }
    assert_eq!(status.code(), Some(0));
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "took {:?} to stop",
        signalled.elapsed()
    );
}

/// Sends a datagram from 127.0.0.1:`port` to itself, although the server
/// holds that port: a raw socket writes the UDP header itself, source port
/// included, as a forger would. Needs CAP_NET_RAW (root); `false` without.
/// Unix only (nix's raw sockets).
#[cfg(unix)]
fn send_self_addressed(port: u16, payload: &[u8]) -> bool {
    use nix::sys::socket::{
        AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType, SockaddrIn, sendto, socket,
    };
    use std::os::fd::AsRawFd;

    let Ok(raw) = socket(
        AddressFamily::Inet,
        SockType::Raw,
        SockFlag::empty(),
        SockProtocol::Udp,
    ) else {
        return false;
    };
    // The UDP header (RFC 768): source port, destination port, length,
    // checksum (0: none, allowed over IPv4). The kernel adds the IP header.
    let mut datagram = Vec::new();
    datagram.extend_from_slice(&port.to_be_bytes());
    datagram.extend_from_slice(&port.to_be_bytes());
    datagram.extend_from_slice(&(8 + payload.len() as u16).to_be_bytes());
    datagram.extend_from_slice(&[0, 0]);
    datagram.extend_from_slice(payload);
    let to = SockaddrIn::new(127, 0, 0, 1, port);
    sendto(raw.as_raw_fd(), &datagram, &to, MsgFlags::empty()).expect("send the forged datagram");
    true
}

// Unix only: Windows has no signals to send.
#[cfg(unix)]
#[tokio::test]
async fn a_self_addressed_datagram_gets_no_echo_and_sigterm_still_stops_it() {
    let mut server = spawn(UDP_ECHO, &[("SHUTDOWN_GRACE_SECS", "1")]);
    let port = server.listening_port("udp").await;
    if !send_self_addressed(port, b"echo me forever") {
        eprintln!("skipped: forging a sender's address needs a raw socket (CAP_NET_RAW)");
        return;
    }
    // Still serving (this datagram is queued behind the forged one), and
    // SIGTERM stops it in time.
    assert_eq!(echo_once(port, b"still here").await, b"still here");
    let signalled = tokio::time::Instant::now();
    server.signal(Signal::SIGTERM);
    let (status, stderr) = server.exit_and_stderr().await;
    assert_eq!(status.code(), Some(0));
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "took {:?} to stop",
        signalled.elapsed()
    );
    assert!(
        stderr
            .iter()
            .any(|line| line.contains("no echo") && line.contains("our own port")),
        "the forged datagram should be refused: {stderr:#?}"
    );
}
