//! Every line of the chat protocol, on real sockets with a real WebSocket
//! client (tokio-tungstenite).

mod support;

use std::time::Duration;

use tokio::time::Instant;

use futures_util::{SinkExt, StreamExt};
use support::*;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use ws_chat::ClientSettings;

#[tokio::test]
async fn a_newcomer_is_welcomed_and_announced() {
    let server = start_chat(ClientSettings::default()).await;
    let mut alice = server.join().await;
    assert!(alice.nick.starts_with("guest-"));
    let bob = server.join().await;
    alice
        .expect_next(&format!("* {} joined #lobby", bob.nick))
        .await;
}

#[tokio::test]
async fn a_message_goes_to_everyone_in_the_room_sender_included() {
    let server = start_chat(ClientSettings::default()).await;
    let (mut alice, mut bob) = server.join_two().await;
    alice.say("hello, room").await;
    let line = format!("<{}> hello, room", alice.nick);
    alice.expect_next(&line).await;
    bob.expect_next(&line).await;
}

#[tokio::test]
async fn nick_renames_and_a_taken_nick_is_an_error_for_the_asker_only() {
    let server = start_chat(ClientSettings::default()).await;
    let (mut alice, mut bob) = server.join_two().await;

    alice.say("/nick alice").await;
    let renamed = format!("* {} is now known as alice", alice.nick);
    alice.expect_next(&renamed).await;
    bob.expect_next(&renamed).await;

    bob.say("/nick alice").await;
    bob.expect_next("* error: the nick alice is taken").await;
    bob.say("/nick not valid!").await;
    assert!(bob.next_line().await.starts_with("* error: usage: /nick"));
    // Alice heard none of Bob's errors: her next line is his next message.
    bob.say("still me").await;
    alice.expect_next(&format!("<{}> still me", bob.nick)).await;
}

#[tokio::test]
async fn join_moves_between_rooms_and_who_and_rooms_answer() {
    let server = start_chat(ClientSettings::default()).await;
    let (mut alice, mut bob) = server.join_two().await;

    alice.say("/join rust").await;
    alice
        .expect_next(&format!("* {} joined #rust", alice.nick))
        .await;
    bob.expect_next(&format!("* {} left #lobby", alice.nick))
        .await;

    alice.say("/who").await;
    alice
        .expect_next(&format!("* users in #rust: {}", alice.nick))
        .await;
    bob.say("/rooms").await;
    bob.expect_next("* rooms: #lobby (1), #rust (1)").await;

    bob.say("/join #rust").await;
    let joined = format!("* {} joined #rust", bob.nick);
    alice.expect_next(&joined).await;
    bob.expect_next(&joined).await;
    bob.say("/who").await;
    let mut nicks = [alice.nick.clone(), bob.nick.clone()];
    nicks.sort();
    bob.expect_next(&format!("* users in #rust: {}", nicks.join(", ")))
        .await;

    // Messages stay in their room.
    bob.say("only in rust").await;
    alice
        .expect_next(&format!("<{}> only in rust", bob.nick))
        .await;

    alice.say("/help").await;
    assert!(alice.next_line().await.starts_with("* commands: /nick"));
    alice.say("/dance").await;
    alice
        .expect_next("* error: unknown command /dance; try /help")
        .await;
}

#[tokio::test]
async fn a_newcomer_gets_the_rooms_recent_history_up_to_50_lines() {
    // 55 lines at once: over the default rate, so this test raises it.
    let settings = ClientSettings {
        messages_per_second: 1000,
        ..ClientSettings::default()
    };
    let server = start_chat(settings).await;
    let mut alice = server.join().await;
    for n in 0..55 {
        alice.say(&format!("line {n}")).await;
        alice
            .expect_next(&format!("<{}> line {n}", alice.nick))
            .await;
    }
    let mut carol = server.join().await;
    for n in 5..55 {
        carol
            .expect_next(&format!("<{}> line {n}", alice.nick))
            .await;
    }
}

#[tokio::test]
async fn too_long_and_binary_messages_get_an_error_and_are_not_broadcast() {
    let server = start_chat(ClientSettings::default()).await;
    let (mut alice, mut bob) = server.join_two().await;

    alice.say(&"x".repeat(4097)).await;
    alice
        .expect_next("* error: message too long (max 4096 bytes)")
        .await;
    alice.send_binary(b"\x00\x01").await;
    alice
        .expect_next("* error: binary frames are not supported; send text")
        .await;
    let exactly = "y".repeat(4096);
    alice.say(&exactly).await;
    // Bob's next line is the 4096-byte message: nothing before it reached him.
    bob.expect_next(&format!("<{}> {exactly}", alice.nick))
        .await;
}

#[tokio::test]
async fn a_message_over_the_hard_cap_closes_with_1009() {
    let server = start_chat(ClientSettings::default()).await;
    let (mut alice, mut bob) = server.join_two().await;
    alice.say(&"z".repeat(20_000)).await;
    let frame = alice.expect_close().await.expect("a close frame");
    assert_eq!(frame.code, CloseCode::Size);
    bob.expect_next(&format!("* {} left #lobby", alice.nick))
        .await;
}

/// Sends `frames` in one write (as a script would), then, if the server
/// has not closed yet, a close frame; reads everything the server sends
/// until its close frame. The text lines, and the close code.
async fn flood(
    client: &mut ChatClient,
    frames: impl IntoIterator<Item = Message>,
) -> (Vec<String>, Option<CloseCode>) {
    let mut sent = Ok(());
    for frame in frames {
        sent = sent.and(client.socket.feed(frame).await);
    }
    // The server may close the connection while the flood is still arriving.
    let _ = sent.and(client.socket.flush().await);
    let _ = client.socket.send(Message::Close(None)).await;
    let mut lines = Vec::new();
    loop {
        let frame = tokio::time::timeout(PATIENCE, client.socket.next())
            .await
            .unwrap_or_else(|_| panic!("no close within {PATIENCE:?}; {} lines", lines.len()));
        match frame {
            Some(Ok(Message::Text(line))) => lines.push(line.to_string()),
            Some(Ok(Message::Close(frame))) => return (lines, frame.map(|frame| frame.code)),
            Some(Ok(_)) => continue,
            Some(Err(error)) => panic!("ended without a close frame: {error}"),
            None => panic!("ended without a close frame"),
        }
    }
}

/// How many of `lines` start with `prefix`.
fn count(lines: &[String], prefix: &str) -> usize {
    lines.iter().filter(|line| line.starts_with(prefix)).count()
}

#[tokio::test]
async fn flooding_is_refused_beyond_the_rate_limit_with_one_error_line() {
    let server = start_chat(ClientSettings::default()).await;
    let mut alice = server.join().await;
    let (lines, _) = flood(
        &mut alice,
        (0..60).map(|n| Message::text(format!("flood {n}"))),
    )
    .await;
    let delivered = count(&lines, &format!("<{}> flood", alice.nick));
    let refused = count(&lines, "* error: too many messages");
    assert!(
        (40..50).contains(&delivered),
        "the burst of 40 goes through, the rest is refused ({delivered})"
    );
    // One line when refusing begins, not one per refused message (a token
    // that refills during the flood may let one through and start another
    // run of refusals).
    assert!(
        (1..=3).contains(&refused),
        "{refused} error lines: {lines:#?}"
    );
}

#[tokio::test]
async fn a_flood_of_binary_frames_is_cut_off_with_1008_as_text_is() {
    // Round 3's F5: 1,000 binary frames got 1,000 error lines back and the
    // connection stayed open.
    let server = start_chat(ClientSettings::default()).await;
    let mut alice = server.join().await;
    let binary = Message::Binary(tokio_tungstenite::tungstenite::Bytes::from_static(b"\x00"));
    let (lines, close) = flood(&mut alice, std::iter::repeat_n(binary, 1000)).await;
    assert_eq!(close, Some(CloseCode::Policy), "{} lines", lines.len());
    let refused = count(&lines, "* error: too many messages");
    assert!((1..=3).contains(&refused), "{refused} rate-limit lines");
    let answered = count(&lines, "* error: binary frames");
    assert!(answered < 50, "only the burst is answered ({answered})");

    // Pings count too: a flood of them ends the same way.
    let mut bob = server.join().await;
    let ping = Message::Ping(tokio_tungstenite::tungstenite::Bytes::new());
    let (_, close) = flood(&mut bob, std::iter::repeat_n(ping, 1000)).await;
    assert_eq!(close, Some(CloseCode::Policy));
}

#[tokio::test]
async fn the_rate_limit_refusal_names_the_configured_rate() {
    let settings = ClientSettings {
        messages_per_second: 5,
        ..ClientSettings::default()
    };
    let server = start_chat(settings).await;
    let mut alice = server.join().await;
    // A burst of 10 (two seconds' worth) goes through; the rest is refused.
    for n in 0..15 {
        alice.say(&format!("flood {n}")).await;
    }
    alice
        .expect("* error: too many messages; slow down (5 per second)")
        .await;
}

#[tokio::test]
async fn a_silent_client_is_closed_after_the_idle_limit() {
    let settings = ClientSettings {
        ping_every: Duration::from_millis(100),
        idle_limit: Duration::from_millis(300),
        ..ClientSettings::default()
    };
    let server = start_chat(settings).await;
    // A client that reads but never answers a ping: silence.
    let mut quiet = RawConnection::websocket(server.addr).await;
    assert_eq!(
        quiet.close_frame().await,
        (1000, "idle timeout".to_string())
    );
}

#[tokio::test]
async fn a_client_that_vanishes_without_a_close_frame_is_announced_as_left() {
    let server = start_chat(ClientSettings::default()).await;
    let (mut alice, bob) = server.join_two().await;
    let nick = bob.nick.clone();
    // Drop the TCP connection without a WebSocket close.
    drop(bob.socket.into_inner());
    alice.expect_next(&format!("* {nick} left #lobby")).await;
}

#[tokio::test]
async fn fifty_clients_times_twenty_messages_all_arrive_in_order_per_sender() {
    let server = start_chat(ClientSettings::default()).await;
    let mut clients = Vec::new();
    for _ in 0..50 {
        clients.push(server.join().await);
    }
    let nicks: Vec<String> = clients.iter().map(|client| client.nick.clone()).collect();
    let mut tasks = Vec::new();
    for (index, mut client) in clients.into_iter().enumerate() {
        let nicks = nicks.clone();
        tasks.push(tokio::spawn(async move {
            // Everyone after me joined after my welcome: skip those notices.
            for later in &nicks[index + 1..] {
                client
                    .expect_next(&format!("* {later} joined #lobby"))
                    .await;
            }
            for n in 0..20 {
                client.say(&format!("msg {n}")).await;
            }
            let mut next_from: std::collections::HashMap<String, usize> =
                std::collections::HashMap::new();
            let mut received = 0;
            while received < 50 * 20 {
                let line = client.next_line().await;
                let (sender, text) = line[1..].split_once("> ").expect("a chat line");
                let expected = next_from.entry(sender.to_string()).or_insert(0);
                assert_eq!(
                    text,
                    format!("msg {expected}"),
                    "from {sender}, out of order"
                );
                *expected += 1;
                received += 1;
            }
            client
        }));
    }
    for task in tasks {
        task.await.expect("client task");
    }
}

#[tokio::test]
async fn shutdown_says_goodbye_and_closes_everyone_with_1001() {
    let server = start_chat(ClientSettings::default()).await;
    let (mut alice, mut bob) = server.join_two().await;
    let mut server = server;
    server.begin_shutdown();
    for client in [&mut alice, &mut bob] {
        client
            .expect_next("* server shutting down; reconnect in a moment")
            .await;
        let frame = client.expect_close().await.expect("a close frame");
        assert_eq!(frame.code, CloseCode::Away);
    }
    server.wait_stopped(PATIENCE).await;
}

/// Four slots: a talker, a listener, a client that never reads, and one
/// spare. The talker says 4 KiB lines, read by itself and the listener line
/// by line, until the server drops the slow client (its kernel buffers full,
/// then its queue of 8 lines). Returns the three clients (the slow one
/// first), and when the drop was announced.
async fn drop_a_client_that_stops_reading(server: &ChatServer) -> ([ChatClient; 3], Instant) {
    let mut talker = server.join().await;
    let mut listener = server.join().await;
    let slow = server.join().await;
    for client in [&mut talker, &mut listener] {
        client
            .expect(&format!("* {} joined #lobby", slow.nick))
            .await;
    }
    let big = "b".repeat(4000);
    let left = format!("* {} left #lobby", slow.nick);
    let chat_line = format!("<{}> {big}", talker.nick);
    let mut sent = 0;
    let mut dropped = None;
    loop {
        talker.say(&big).await;
        sent += 1;
        assert!(sent < 20_000, "the slow client was never dropped");
        // The talker and the listener keep up, line by line, all along.
        for client in [&mut talker, &mut listener] {
            loop {
                let line = client.next_line().await;
                if line == left {
                    dropped.get_or_insert_with(Instant::now);
                } else {
                    assert!(
                        line == chat_line,
                        "{}: expected the chat line, got {:.60}",
                        client.nick,
                        line
                    );
                    break;
                }
            }
        }
        if let Some(dropped) = dropped {
            return ([slow, talker, listener], dropped);
        }
    }
}

/// The slow client's socket was closed: after what was already in flight, a
/// close frame (1008) or the end of the stream.
async fn expect_closed_for_being_slow(slow: &mut ChatClient) {
    loop {
        match tokio::time::timeout(PATIENCE, slow.socket.next()).await {
            Err(_) => panic!("the slow client's connection is still open"),
            Ok(Some(Ok(Message::Close(frame)))) => {
                assert_eq!(frame.map(|frame| frame.code), Some(CloseCode::Policy));
                break;
            }
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(_)) | None) => break,
        }
    }
}

#[tokio::test]
async fn a_slow_client_is_dropped_closed_and_its_slot_freed_while_the_others_keep_receiving() {
    let mut config = http_config();
    config.max_connections = 4;
    let settings = ClientSettings {
        queue_lines: 8,
        messages_per_second: 0,
        write_timeout: Duration::from_millis(500),
        ..ClientSettings::default()
    };
    let server = start_chat_with(config, settings, Vec::new()).await;
    let ([mut slow, _talker, _listener], _) = drop_a_client_that_stops_reading(&server).await;
    // Two newcomers fit in the four slots again, while the slow client still
    // reads nothing. (Until then a newcomer past the limit gets 503.)
    let _first = server.join_when_a_slot_is_free().await;
    let _second = server.join_when_a_slot_is_free().await;
    expect_closed_for_being_slow(&mut slow).await;
}

#[tokio::test]
async fn a_dropped_slow_client_frees_its_slot_within_2_s_whatever_its_write_timeout() {
    // Round 3: the dropped client's task sat in a write it would never
    // finish until the write timeout (10 s), then 2 s more for a close
    // frame it would never take; its slot was held for 12 s. Here the write
    // timeout is longer than this test's patience: only the drop itself can
    // free the slot in time.
    let mut config = http_config();
    config.max_connections = 4;
    let settings = ClientSettings {
        queue_lines: 8,
        messages_per_second: 0,
        write_timeout: 6 * PATIENCE,
        ..ClientSettings::default()
    };
    let server = start_chat_with(config, settings, Vec::new()).await;
    let ([mut slow, _talker, _listener], dropped) = drop_a_client_that_stops_reading(&server).await;
    let _first = server.join_when_a_slot_is_free().await;
    let _second = server.join_when_a_slot_is_free().await;
    // The close frame's deadline (1 s) is the only wait; the rest is slack
    // for a busy machine.
    let waited = dropped.elapsed();
    assert!(
        waited < Duration::from_secs(2),
        "the slot was free {waited:?} after the drop"
    );
    expect_closed_for_being_slow(&mut slow).await;
}

#[tokio::test]
async fn a_client_past_max_connections_gets_503_with_retry_after() {
    let mut config = http_config();
    config.max_connections = 1;
    let server = start_chat_with(config, ClientSettings::default(), Vec::new()).await;
    let alice = server.join().await;
    match server.open_websocket().await {
        Err(WsError::Http(response)) => {
            assert_eq!(response.status(), 503);
            assert_eq!(
                response
                    .headers()
                    .get("retry-after")
                    .map(|value| value.as_bytes()),
                Some(&b"1"[..])
            );
        }
        Err(error) => panic!("expected a 503, got {error}"),
        Ok(_) => panic!("a client past the limit got in"),
    }
    // Once Alice leaves, there is room again.
    drop(alice);
    let _bob = server.join_when_a_slot_is_free().await;
}
