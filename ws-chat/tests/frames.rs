//! Frames no well-behaved client library sends, written byte by byte: the
//! server closes with the code RFC 6455 gives each, and nobody else notices.

mod support;

use support::*;
use ws_chat::ClientSettings;

/// Text that is not UTF-8: the first bytes of Autobahn's case 6.4.1
/// (`κόσμε`, then `0xf4 0x90`, which no UTF-8 sequence starts with).
const NOT_UTF8: &[u8] = &[
    0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xf4, 0x90, 0x80, 0x80,
];

#[tokio::test]
async fn a_frame_length_with_its_top_bit_set_is_a_protocol_error_1002() {
    let server = start_chat(ClientSettings::default()).await;
    let mut bob = server.join().await;
    let mut raw = RawConnection::websocket(server.addr).await;
    let nick = bob.expect_joined().await;
    // RFC 6455 section 5.2: "the most significant bit MUST be 0".
    let mut header = vec![0x81, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 5];
    header.extend_from_slice(&[1, 2, 3, 4]);
    raw.send(&header).await;
    assert_eq!(raw.close_code().await, 1002);
    bob.expect_next(&format!("* {nick} left #lobby")).await;
}

#[tokio::test]
async fn a_first_fragment_that_is_not_utf8_is_refused_at_once_with_1007() {
    let server = start_chat(ClientSettings::default()).await;
    let mut raw = RawConnection::websocket(server.addr).await;
    // A text frame without FIN: more fragments would follow. They never
    // come; the close does not wait for them.
    raw.send(&client_frame(0x01, NOT_UTF8)).await;
    assert_eq!(raw.close_code().await, 1007);
}

#[tokio::test]
async fn bad_utf8_early_in_one_frame_is_refused_with_1007_when_the_frame_is_complete() {
    let server = start_chat(ClientSettings::default()).await;
    let mut raw = RawConnection::websocket(server.addr).await;
    let mut text = NOT_UTF8.to_vec();
    text.extend_from_slice(&[b'a'; 100]);
    let frame = client_frame(0x81, &text);
    // The bad bytes arrive first; the close comes once the frame is whole
    // (tungstenite reads frames whole: see `end_for` in client.rs).
    let (first, rest) = frame.split_at(20);
    raw.send(first).await;
    raw.send(rest).await;
    assert_eq!(raw.close_code().await, 1007);
}
