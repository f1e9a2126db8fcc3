//! Exercises that check themselves.
//!
//! Each exercise in the book's "Build it yourself" page has a test here
//! named `exercise_...`, switched off (`#[ignore]`) until you switch it on:
//!
//! ```text
//! cargo test -p ws-chat --test exercises -- --ignored
//! ```
//!
//! It fails until the exercise is done, and passes once it is. Its solution
//! is an example too (`examples/solution-*.rs`), and the `solution_...` test
//! beside it, which always runs, proves the solution passes the very same
//! check. (CI runs every other ignored test, but skips `exercise_` ones: they
//! are meant to fail until you do them.)

#[path = "../../tcp-echo/tests/support/process.rs"]
mod process;

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use process::spawn;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for a line.
const PATIENCE: Duration = Duration::from_secs(10);

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The built example `name` (built here if `cargo test` did not already).
fn example(name: &str) -> PathBuf {
    static EXAMPLES: OnceLock<PathBuf> = OnceLock::new();
    let dir = EXAMPLES.get_or_init(|| {
        // This test runs as target/PROFILE/deps/exercises-HASH.
        let exe = std::env::current_exe().expect("the test knows its own path");
        let profile_dir = exe
            .parent()
            .and_then(|deps| deps.parent())
            .expect("tests run from target/PROFILE/deps");
        let mut build = std::process::Command::new(env!("CARGO"));
        build.args(["build", "--quiet", "-p", "ws-chat", "--examples"]);
        if profile_dir.ends_with("release") {
            build.arg("--release");
        }
        let status = build
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo runs");
        assert!(status.success(), "cargo build --examples failed");
        profile_dir.join("examples")
    });
    dir.join(name)
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
    let mut seen = Vec::new();
    loop {
        match tokio::time::timeout(PATIENCE, client.next()).await {
            Ok(Some(Ok(Message::Text(text)))) if matches(&text) => return text.to_string(),
            Ok(Some(Ok(Message::Text(text)))) => seen.push(text.to_string()),
            Ok(Some(Ok(_))) => {}
            other => panic!("waited {PATIENCE:?} for {what}; got {seen:?}, then {other:?}"),
        }
    }
}

// ANCHOR: me_check
/// The `/me` exercise: `/me waves` reaches the whole room, the sender
/// included, as `* NICK waves`; `/me` with nothing after it is an error to
/// the sender.
async fn me_sends_an_action_to_the_room(program: &str) {
    let mut server = spawn(program, &[]);
    let port = server.listening_port("http").await;
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
}
// ANCHOR_END: me_check

#[tokio::test]
#[ignore = "exercise: add /me to examples/step6-limits.rs, then run with --ignored"]
async fn exercise_me_in_step6() {
    me_sends_an_action_to_the_room(example("step6-limits").to_str().expect("UTF-8 path")).await;
}

#[tokio::test]
async fn solution_me_passes_the_me_exercise() {
    me_sends_an_action_to_the_room(example("solution-me").to_str().expect("UTF-8 path")).await;
}
