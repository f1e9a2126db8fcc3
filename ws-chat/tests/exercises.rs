//! The exercises of lesson 5's "Build it yourself" page, checking themselves.
//!
//! Each test is ignored until you switch it on:
//! `cargo test -p ws-chat --test exercises -- --ignored` runs them against
//! your code in `examples/exercise-*.rs`, and they fail until the exercise
//! is done. With `NETLESSONS_SOLUTIONS=1` they run against the solutions in
//! `examples/solutions/` instead: CI does that, to prove each solution
//! passes the test you are given.
//!
//! The chat runs inside the test's process (its `run(listener)`), on a port
//! the OS picks, and real WebSocket clients talk to it.

#[allow(dead_code)]
#[path = "../examples/exercise-me.rs"]
mod exercise_me;

#[allow(dead_code)]
#[path = "../examples/solutions/me.rs"]
mod solution_me;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for a line.
const PATIENCE: Duration = Duration::from_secs(10);

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Starts your chat, or the solution when `NETLESSONS_SOLUTIONS` is set, on
/// 127.0.0.1 and a port the OS picks; returns the port.
async fn start_chat() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("local_addr").port();
    if std::env::var_os("NETLESSONS_SOLUTIONS").is_some() {
        tokio::spawn(solution_me::run(listener));
    } else {
        tokio::spawn(exercise_me::run(listener));
    }
    port
}

/// Connects to the chat at `port` and returns the client and its nick,
/// read from the welcome.
async fn join(port: u16) -> (Client, String) {
    let (mut client, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/ws"))
        .await
        .expect("the WebSocket handshake");
    let welcome = line_where(&mut client, "a welcome", |line| {
        line.starts_with("* welcome, ")
    })
    .await;
    let nick = welcome["* welcome, ".len()..]
        .split('!')
        .next()
        .unwrap_or_default()
        .to_string();
    (client, nick)
}

/// Reads lines until one `matches`, failing after [`PATIENCE`] with what
/// came instead.
async fn line_where(client: &mut Client, what: &str, matches: impl Fn(&str) -> bool) -> String {
    let mut lines = lines_until(client, what, matches).await;
    lines.pop().unwrap_or_default()
}

/// Every line up to and including the first that `matches`, failing after
/// [`PATIENCE`] with what came instead.
async fn lines_until(
    client: &mut Client,
    what: &str,
    matches: impl Fn(&str) -> bool,
) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        match tokio::time::timeout(PATIENCE, client.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                seen.push(text.to_string());
                if matches(&text) {
                    return seen;
                }
            }
            Ok(Some(Ok(_))) => {}
            Err(_) => panic!("waited {PATIENCE:?} for {what}; got {seen:?}, then nothing more"),
            Ok(other) => panic!("waited for {what}; got {seen:?}, then {other:?}"),
        }
    }
}

// ANCHOR: me_check
#[tokio::test]
#[ignore = "exercise: edit examples/exercise-me.rs, then run with -- --ignored"]
async fn me_sends_an_action_to_the_room_an_error_to_the_sender_alone_and_is_in_help() {
    let port = start_chat().await;
    let (mut alice, alice_nick) = join(port).await;
    let (mut bob, _) = join(port).await;

    alice.send(Message::text("/me waves")).await.expect("send");
    let action = format!("* {alice_nick} waves");
    for client in [&mut alice, &mut bob] {
        let line = line_where(client, "a line about waving", |line| line.contains("waves")).await;
        assert_eq!(
            line, action,
            "`/me waves` should reach the room as `* NICK waves`"
        );
    }

    alice.send(Message::text("/me")).await.expect("send");
    let line = line_where(&mut alice, "an answer to `/me`", |line| {
        line.starts_with("* ")
    })
    .await;
    assert!(
        line.starts_with("* error: "),
        "`/me` alone should get `* error: ...`, got {line:?}"
    );
    // The error was alice's alone: the next thing bob hears is her next line.
    alice
        .send(Message::text("after the error"))
        .await
        .expect("send");
    let heard = lines_until(&mut bob, "alice's line after the error", |line| {
        line.ends_with("> after the error")
    })
    .await;
    assert!(
        !heard.iter().any(|line| line.starts_with("* error: ")),
        "the error for alice's `/me` should go to alice only; bob heard {heard:?}"
    );

    alice.send(Message::text("/help")).await.expect("send");
    let help = line_where(&mut alice, "the answer to `/help`", |line| {
        line.starts_with("* commands")
    })
    .await;
    assert!(
        help.contains("/me ACTION"),
        "`/help` should list `/me ACTION`, got {help:?}"
    );
}
// ANCHOR_END: me_check

#[test]
fn the_exercise_is_step_6_line_for_line_but_for_its_marked_holes() {
    testkit::exercises::assert_is_step_with_holes(
        env!("CARGO_MANIFEST_DIR"),
        "examples/step6-limits.rs",
        "examples/exercise-me.rs",
    );
}

#[test]
fn the_solution_is_the_exercise_with_every_hole_filled_and_nothing_else_changed() {
    testkit::exercises::assert_solution_fills_holes(
        env!("CARGO_MANIFEST_DIR"),
        "examples/exercise-me.rs",
        "examples/solutions/me.rs",
    );
}
