//! The `udp-echo` binary as a learner meets it.

#[path = "../../tcp-echo/tests/support/process.rs"]
mod process;

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
