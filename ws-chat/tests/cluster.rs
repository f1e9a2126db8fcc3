//! Several copies of the chat sharing one real `redis-server` (`REDIS_URL`):
//! they act as one chat, a copy that dies leaves `/who`, and losing Redis
//! costs an error line, never a false echo. The tests that start a
//! `redis-server` are ignored in a plain `cargo test` (a fresh machine has
//! none): `.ci/run` installs it and runs them with `-- --ignored`.

mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::future::join_all;
use nix::sys::signal::Signal;
use support::{ChatClient, ChatServer, ChatServerExt, PATIENCE, http_config, start_chat_config};
use testkit::process::{self, spawn};
use testkit::redis::{RedisServer, free_port};
use tokio_tungstenite::tungstenite::Message;
use ws_chat::{ChatConfig, ClientSettings};

const WS_CHAT: &str = env!("CARGO_BIN_EXE_ws-chat");

/// A copy of the chat in this process, named `name`, sharing the Redis at
/// `url`, its presence renewed every third of `presence_ttl`.
fn start_copy(url: &str, name: &str, presence_ttl: Duration) -> ChatServer {
    let http = http_config();
    let listener = tcp_echo::bind::bind_tcp(http.server.addr()).expect("bind");
    let config = ChatConfig {
        http,
        allowed_origins: Vec::new(),
        clients: ClientSettings {
            // The tests send in bursts; the rate limit is tested elsewhere.
            messages_per_second: 0,
            ..ClientSettings::default()
        },
        redis_url: Some(url.to_string()),
        instance_name: Some(name.to_string()),
        presence_ttl,
    };
    start_chat_config(listener, config)
}

/// The default presence period: what a learner's copies run with.
const PRESENCE_TTL: Duration = ws_chat::shared_rooms::PRESENCE_TTL;

/// The next line, within `wait`, or `None`.
async fn line_within(client: &mut ChatClient, wait: Duration) -> Option<String> {
    let read = tokio::time::timeout(wait, async {
        loop {
            match client.socket.next().await {
                Some(Ok(Message::Text(text))) => return text.to_string(),
                Some(Ok(_)) => continue,
                other => panic!("{}: connection ended: {other:?}", client.nick),
            }
        }
    });
    read.await.ok()
}

/// Asks `/who` until the answer is `expected` (presence can take a moment to
/// change), within `limit`; returns how long it took.
async fn wait_for_who(client: &mut ChatClient, expected: &str, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        client.say("/who").await;
        let mut answer = client.next_line().await;
        while !answer.starts_with("* users in") {
            answer = client.next_line().await;
        }
        if answer == expected {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "{}: /who still says {answer:?} after {limit:?}; expected {expected:?}",
            client.nick
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
#[ignore = "needs redis-server; .ci/run runs it"]
async fn lines_and_notices_cross_copies_in_the_order_sent() {
    let redis = RedisServer::start().await;
    let one = start_copy(&redis.url(), "one", PRESENCE_TTL);
    let two = start_copy(&redis.url(), "two", PRESENCE_TTL);

    let socket = one.open_websocket().await.expect("handshake");
    let mut alice = ChatClient {
        socket,
        nick: String::new(),
    };
    let welcome = alice.next_line().await;
    assert!(
        welcome.starts_with("* welcome, guest-") && welcome.contains("#lobby on one;"),
        "{welcome:?}"
    );
    alice.nick = welcome["* welcome, ".len()..]
        .split('!')
        .next()
        .unwrap_or_default()
        .to_string();
    let mut bob = two.join().await;
    alice
        .expect_next(&format!("* {} joined #lobby", bob.nick))
        .await;

    for n in 0..50 {
        alice.say(&format!("line {n}")).await;
    }
    for n in 0..50 {
        let line = format!("<{}> line {n}", alice.nick);
        bob.expect_next(&line).await;
        alice.expect_next(&line).await;
    }

    bob.say("/nick bob").await;
    let renamed = format!("* {} is now known as bob", bob.nick);
    alice.expect_next(&renamed).await;
    bob.expect_next(&renamed).await;
    bob.nick = "bob".into();

    bob.say("/join rust").await;
    alice.expect_next("* bob left #lobby").await;
    bob.expect_next("* bob joined #rust").await;
    alice.say("/join rust").await;
    alice
        .expect_next(&format!("* {} joined #rust", alice.nick))
        .await;
    bob.expect_next(&format!("* {} joined #rust", alice.nick))
        .await;

    // History is shared: a newcomer on copy two gets what was said in the
    // lobby through copy one.
    let mut carol = two.join().await;
    carol.expect_next(&format!("<{}> line 0", alice.nick)).await;

    drop(bob);
    alice.expect("* bob left #rust").await;
    drop(carol);
}

#[tokio::test]
#[ignore = "needs redis-server; .ci/run runs it"]
async fn guest_numbers_and_nicks_are_unique_across_copies_joining_at_once() {
    let redis = RedisServer::start().await;
    let copies = [
        start_copy(&redis.url(), "one", PRESENCE_TTL),
        start_copy(&redis.url(), "two", PRESENCE_TTL),
        start_copy(&redis.url(), "three", PRESENCE_TTL),
    ];
    let joins = (0..30).map(|n| copies[n % 3].join());
    let mut clients: Vec<ChatClient> = join_all(joins).await;
    let nicks: HashSet<&str> = clients.iter().map(|client| client.nick.as_str()).collect();
    assert_eq!(nicks.len(), 30, "a guest number was given out twice");

    // Six clients, two per copy, ask for the same nick at once: one wins.
    let asks = clients.iter_mut().take(6).map(|client| async move {
        client.say("/nick winner").await;
        loop {
            let line = client.next_line().await;
            // Everyone in the lobby hears the winner's notice; each waits
            // for its own answer.
            let own = format!("* {} is now known as winner", client.nick);
            if line == own || line.starts_with("* error:") {
                return (client.nick.clone(), line);
            }
        }
    });
    let answers = join_all(asks).await;
    let won: Vec<&(String, String)> = answers
        .iter()
        .filter(|(nick, line)| *line == format!("* {nick} is now known as winner"))
        .collect();
    let refused = answers
        .iter()
        .filter(|(_, line)| line == "* error: the nick winner is taken")
        .count();
    assert_eq!((won.len(), refused), (1, 5), "{answers:#?}");
}

/// A client that has taken `nick` and read its own rename notice.
async fn renamed(mut client: ChatClient, nick: &str) -> ChatClient {
    client.say(&format!("/nick {nick}")).await;
    client
        .expect(&format!("* {} is now known as {nick}", client.nick))
        .await;
    client.nick = nick.to_string();
    client
}

#[tokio::test]
#[ignore = "needs redis-server; .ci/run runs it"]
async fn who_and_rooms_count_members_on_every_copy() {
    let redis = RedisServer::start().await;
    let one = start_copy(&redis.url(), "one", PRESENCE_TTL);
    let two = start_copy(&redis.url(), "two", PRESENCE_TTL);
    let mut alice = renamed(one.join().await, "alice").await;
    let bob = renamed(two.join().await, "bob").await;
    let mut carol = renamed(two.join().await, "carol").await;
    carol.say("/join rust").await;
    carol.expect("* carol joined #rust").await;

    wait_for_who(&mut alice, "* users in #lobby: alice, bob", PATIENCE).await;
    alice.say("/rooms").await;
    alice.expect("* rooms: #lobby (2), #rust (1)").await;
    carol.say("/who").await;
    carol.expect("* users in #rust: carol").await;

    drop(bob);
    alice.expect("* bob left #lobby").await;
    wait_for_who(&mut alice, "* users in #lobby: alice", PATIENCE).await;
}

#[tokio::test]
#[ignore = "needs redis-server; .ci/run runs it"]
async fn a_killed_copy_drops_out_of_who_within_15_s() {
    let redis = RedisServer::start().await;
    let one = start_copy(&redis.url(), "one", PRESENCE_TTL);
    let mut alice = renamed(one.join().await, "alice").await;

    let mut doomed = spawn(
        WS_CHAT,
        &[("REDIS_URL", &redis.url()), ("INSTANCE_NAME", "doomed")],
    );
    let port = doomed.listening_port("http").await;
    let (socket, _) = tokio::time::timeout(
        PATIENCE,
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/ws")),
    )
    .await
    .expect("handshake in time")
    .expect("handshake");
    let mut bob = ChatClient {
        socket,
        nick: String::new(),
    };
    let welcome = bob.next_line().await;
    assert!(welcome.contains(" on doomed;"), "{welcome:?}");
    let bob = renamed(
        ChatClient {
            nick: welcome["* welcome, ".len()..]
                .split('!')
                .next()
                .unwrap_or_default()
                .to_string(),
            ..bob
        },
        "bob",
    )
    .await;
    wait_for_who(&mut alice, "* users in #lobby: alice, bob", PATIENCE).await;

    // No goodbye: the process is gone at once, its clients' sockets with it.
    doomed.signal(Signal::SIGKILL);
    let _ = doomed.exit_status().await;
    drop(bob);
    let took = wait_for_who(
        &mut alice,
        "* users in #lobby: alice",
        PRESENCE_TTL + Duration::from_secs(5),
    )
    .await;
    assert!(took <= PRESENCE_TTL + Duration::from_secs(1), "{took:?}");
}

/// Says `probe-N` lines until one comes back; the outage's error lines and
/// missing echoes are skipped. Returns the echoed line.
async fn say_until_echoed(client: &mut ChatClient, limit: Duration) -> String {
    let started = Instant::now();
    for n in 0.. {
        assert!(
            started.elapsed() < limit,
            "{}: no echo within {limit:?} of Redis coming back",
            client.nick
        );
        client.say(&format!("probe-{n}")).await;
        while let Some(line) = line_within(client, Duration::from_secs(1)).await {
            if line.starts_with(&format!("<{}> probe-", client.nick)) {
                return line;
            }
        }
    }
    unreachable!("the loop above returns or fails")
}

#[tokio::test]
#[ignore = "needs redis-server; .ci/run runs it"]
async fn a_redis_restart_costs_error_lines_never_a_false_echo_and_the_chat_recovers() {
    let redis = RedisServer::start().await;
    let short = Duration::from_secs(3);
    let one = start_copy(&redis.url(), "one", short);
    let two = start_copy(&redis.url(), "two", short);
    let mut alice = renamed(one.join().await, "alice").await;
    let mut bob = renamed(two.join().await, "bob").await;
    alice.say("before").await;
    bob.expect("<alice> before").await;
    alice.expect("<alice> before").await;

    let port = redis.kill().await;
    alice.say("during").await;
    let answer = alice.next_line().await;
    assert!(answer.starts_with("* error: "), "{answer:?}");
    bob.say("/who").await;
    let answer = bob.next_line().await;
    assert!(answer.starts_with("* error: "), "{answer:?}");

    let _redis = RedisServer::start_on(port).await;
    // Each copy finds Redis again by itself: both see their own echo.
    let limit = Duration::from_secs(20);
    say_until_echoed(&mut alice, limit).await;
    say_until_echoed(&mut bob, limit).await;
    alice.say("after").await;
    let mut seen = Vec::new();
    loop {
        let line = bob.next_line().await;
        assert_ne!(line, "<alice> during", "a line that failed was delivered");
        if line == "<alice> after" {
            break;
        }
        seen.push(line);
    }
    // The heartbeat puts both back in /who (Redis forgot everything).
    wait_for_who(&mut bob, "* users in #lobby: alice, bob", limit).await;
}

#[tokio::test]
async fn an_unreachable_redis_at_start_is_one_line_and_a_non_zero_exit() {
    let url = format!("redis://127.0.0.1:{}", free_port());
    let mut server = spawn(WS_CHAT, &[("REDIS_URL", &url)]);
    let (status, stderr) = server.exit_and_stderr().await;
    assert!(!status.success(), "{stderr:#?}");
    assert_eq!(stderr.len(), 1, "{stderr:#?}");
    assert!(
        stderr[0].contains("REDIS_URL") && stderr[0].contains(&url),
        "{stderr:#?}"
    );
}

#[tokio::test]
async fn a_malformed_redis_url_or_instance_name_is_a_bad_setting() {
    process::assert_rejects_config(WS_CHAT, "REDIS_URL", "not a url").await;
    process::assert_rejects_config(WS_CHAT, "INSTANCE_NAME", "has space").await;
}

#[tokio::test]
#[ignore = "needs redis-server; .ci/run runs it"]
async fn a_redis_that_stops_answering_costs_a_bounded_wait_not_a_hang() {
    use nix::sys::signal::kill;
    use nix::unistd::Pid;
    use ws_chat::shared_rooms::REDIS_WAIT;
    let redis = RedisServer::start().await;
    let one = start_copy(&redis.url(), "one", PRESENCE_TTL);
    let mut alice = renamed(one.join().await, "alice").await;
    // Frozen, not gone: the connections stay open and nothing answers.
    let pid = Pid::from_raw(redis.pid());
    kill(pid, Signal::SIGSTOP).expect("stop our redis-server");
    let asked = Instant::now();
    alice.say("hello?").await;
    alice.say("/who").await;
    let first = alice.next_line().await;
    let second = alice.next_line().await;
    let waited = asked.elapsed();
    kill(pid, Signal::SIGCONT).expect("continue our redis-server");
    assert!(first.starts_with("* error: "), "{first:?}");
    assert!(second.starts_with("* error: "), "{second:?}");
    assert!(
        waited < 2 * REDIS_WAIT + Duration::from_secs(3),
        "{waited:?}"
    );
}
