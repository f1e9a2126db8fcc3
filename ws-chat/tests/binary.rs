//! The `ws-chat` binary as a learner meets it.

// Elsewhere than Unix the tests that send signals (or need what only Unix
// has) are compiled out, and what only they use is unused.
#![cfg_attr(not(unix), allow(unused_imports, dead_code))]

use testkit::process;

use futures_util::StreamExt;
#[cfg(unix)]
use nix::sys::signal::Signal;
use process::{STEP_TIMEOUT, assert_rejects_config, next_line, spawn};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const WS_CHAT: &str = env!("CARGO_BIN_EXE_ws-chat");

// Unix only: Windows has no signals to send.
#[cfg(unix)]
#[tokio::test]
async fn prints_listening_line_and_a_hint_and_sigterm_closes_clients_with_1001() {
    let mut server = spawn(WS_CHAT, &[]);
    let port = server.listening_port("http").await;
    let hint = next_line(&mut server.stdout, "hint").await;
    assert_eq!(
        hint,
        Some(format!(
            "try: open http://127.0.0.1:{port}/ in a browser, or websocat ws://127.0.0.1:{port}/ws"
        ))
    );
    let connect = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/ws"));
    let (mut socket, _) = tokio::time::timeout(STEP_TIMEOUT, connect)
        .await
        .expect("handshake within the step timeout")
        .expect("handshake");
    let welcome = tokio::time::timeout(STEP_TIMEOUT, socket.next())
        .await
        .expect("a welcome within the step timeout")
        .expect("a frame")
        .expect("ok");
    assert!(matches!(welcome, Message::Text(ref text) if text.starts_with("* welcome, ")));

    server.signal(Signal::SIGTERM);
    let close = tokio::time::timeout(STEP_TIMEOUT, async {
        while let Some(Ok(frame)) = socket.next().await {
            if let Message::Close(frame) = frame {
                return frame;
            }
        }
        None
    })
    .await
    .expect("a close frame within the step timeout");
    assert_eq!(close.map(|frame| frame.code), Some(CloseCode::Away));
    assert_eq!(server.exit_status().await.code(), Some(0));
}

#[tokio::test]
async fn bad_settings_exit_2_with_one_line() {
    for (name, value) in [
        ("PORT", "eighty"),
        ("MAX_CONNECTIONS", "0"),
        ("HOST", "example.com"),
    ] {
        assert_rejects_config(WS_CHAT, name, value).await;
    }
}
