//! The `http-raw` binary as a learner meets it.

// Elsewhere than Unix the tests that send signals (or need what only Unix
// has) are compiled out, and what only they use is unused.
#![cfg_attr(not(unix), allow(unused_imports, dead_code))]

use testkit::process;

#[cfg(unix)]
use nix::sys::signal::Signal;
use process::{assert_rejects_config, next_line, spawn};

const HTTP_RAW: &str = env!("CARGO_BIN_EXE_http-raw");

// Unix only: Windows has no signals to send.
#[cfg(unix)]
#[tokio::test]
async fn prints_listening_line_and_a_curl_hint_then_stops_on_sigterm() {
    let mut server = spawn(HTTP_RAW, &[]);
    let port = server.listening_port("http").await;
    let hint = next_line(&mut server.stdout, "hint").await;
    assert_eq!(
        hint,
        Some(format!("try: curl -v http://127.0.0.1:{port}/hello"))
    );
    let body = reqwest::get(format!("http://127.0.0.1:{port}/hello"))
        .await
        .expect("GET /hello")
        .text()
        .await
        .expect("body");
    assert_eq!(body, "Hello, world");
    server.signal(Signal::SIGTERM);
    assert_eq!(server.exit_status().await.code(), Some(0));
}

// Unix only: Windows has no signals to send.
#[cfg(unix)]
#[tokio::test]
async fn ctrl_c_with_a_request_in_flight_lets_it_finish() {
    let mut server = spawn(HTTP_RAW, &[("RUST_LOG", "debug")]);
    let port = server.listening_port("http").await;
    let slow = tokio::spawn(async move {
        reqwest::get(format!("http://127.0.0.1:{port}/sleep?ms=1000")).await
    });
    // The request is in flight once the server has parsed its head.
    process::line_containing(&mut server.stderr, "head parsed").await;
    server.signal(Signal::SIGINT);
    let response = slow
        .await
        .expect("task")
        .expect("the in-flight request completes");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["connection"], "close");
    assert_eq!(server.exit_status().await.code(), Some(0));
}

#[tokio::test]
async fn bad_settings_exit_2_with_one_line() {
    for (name, value) in [
        ("PORT", "http"),
        ("HOST", "localhost"),
        ("HEADER_TIMEOUT_SECS", "0"),
        ("KEEP_ALIVE_SECS", "x"),
        ("BODY_TIMEOUT_SECS", "-3"),
        ("MAX_CONNECTIONS", "lots"),
    ] {
        assert_rejects_config(HTTP_RAW, name, value).await;
    }
}

#[tokio::test]
async fn port_in_use_is_explained() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let mut server = spawn(HTTP_RAW, &[("PORT", &port.to_string())]);
    let (status, stderr) = server.exit_and_stderr().await;
    assert!(!status.success());
    assert!(stderr.join("\n").contains("already in use"), "{stderr:?}");
}
