//! Frames no well-behaved client library sends, written byte by byte: the
//! server closes with the code RFC 6455 gives each, and nobody else notices.

mod support;

use support::*;
use ws_chat::ClientSettings;
use ws_chat::limits::MAX_FRAME_BYTES;
use ws_chat::protocol::MAX_MESSAGE_BYTES;

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

/// The next line from the server that answers what the client said: its
/// echo (`<nick> ...`) or an error; `None` if the server closed instead
/// (its close code is then the next thing `close_code` reads).
async fn answer(raw: &mut RawConnection) -> Option<String> {
    loop {
        match raw.next_frame().await {
            Some((0x1, text)) => {
                let line = String::from_utf8(text).expect("UTF-8 lines");
                if line.starts_with('<') || line.starts_with("* error:") {
                    return Some(line);
                }
            }
            Some((0x8, payload)) => {
                let code = u16::from_be_bytes([payload[0], payload[1]]);
                panic!("closed with {code} where a line was expected");
            }
            Some(_) => continue,
            None => return None,
        }
    }
}

/// A masked text frame of `len` bytes of `x`, sent in two writes split in
/// the middle of its payload.
async fn send_text_in_two_writes(raw: &mut RawConnection, len: usize) {
    let frame = client_frame(0x81, &vec![b'x'; len]);
    let (first, rest) = frame.split_at(frame.len() - len / 2);
    raw.send(first).await;
    raw.send(rest).await;
}

#[tokio::test]
async fn a_chat_line_of_4095_or_4096_bytes_is_said_and_4097_gets_an_error() {
    let server = start_chat(ClientSettings::default()).await;
    let mut raw = RawConnection::websocket(server.addr).await;
    for len in [MAX_MESSAGE_BYTES - 1, MAX_MESSAGE_BYTES] {
        send_text_in_two_writes(&mut raw, len).await;
        let line = answer(&mut raw).await.expect("an answer");
        assert!(
            line.starts_with("<guest-") && line.ends_with(&"x".repeat(len)),
            "{len}: {line:.40}"
        );
    }
    send_text_in_two_writes(&mut raw, MAX_MESSAGE_BYTES + 1).await;
    let line = answer(&mut raw).await.expect("an answer");
    assert_eq!(line, "* error: message too long (max 4096 bytes)");
}

#[tokio::test]
async fn a_frame_of_16_kib_gets_an_error_line_and_one_byte_more_closes_with_1009() {
    let server = start_chat(ClientSettings::default()).await;
    let mut raw = RawConnection::websocket(server.addr).await;
    // Up to the frame cap, a message is read whole and refused politely.
    for len in [MAX_FRAME_BYTES - 1, MAX_FRAME_BYTES] {
        send_text_in_two_writes(&mut raw, len).await;
        let line = answer(&mut raw).await.expect("an answer, not a close");
        assert_eq!(line, "* error: message too long (max 4096 bytes)", "{len}");
    }
    // Past it, tungstenite stops reading it: the connection closes.
    send_text_in_two_writes(&mut raw, MAX_FRAME_BYTES + 1).await;
    assert_eq!(raw.close_code().await, 1009);
}
