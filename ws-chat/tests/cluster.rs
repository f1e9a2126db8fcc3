//! Several copies of the chat sharing one real `redis-server` (`REDIS_URL`):
//! they act as one chat, a copy that dies leaves `/who`, a nick stays one
//! client's, and a Redis that is lost, hangs or is full costs a line that
//! says what became of the sender's line (`* error:` only when it reached no
//! one), never a false echo. Needs `redis-server` on the PATH: ignored by a
//! plain `cargo test`, run by `.ci/run` (which installs it) with `--ignored`.
//!
//! Unix only: redis-server has no native Windows build, and the tests kill
//! and freeze processes with signals.
#![cfg(unix)]

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
const PRESENCE_TTL: Duration = ws_chat::shared::rooms::PRESENCE_TTL;

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
#[ignore = "needs redis-server; .ci/run runs it"]
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
#[ignore = "needs redis-server; .ci/run runs it"]
async fn a_malformed_redis_url_or_instance_name_is_a_bad_setting() {
    process::assert_rejects_config(WS_CHAT, "REDIS_URL", "not a url").await;
    process::assert_rejects_config(WS_CHAT, "INSTANCE_NAME", "has space").await;
}

/// Reads `client`'s lines until someone's rename to `nick` arrives.
async fn expect_renamed(client: &mut ChatClient, nick: &str) {
    let suffix = format!(" is now known as {nick}");
    while !client.next_line().await.ends_with(&suffix) {}
}

/// Sends one command to the Redis at `url` from the test itself.
async fn redis_command(url: &str, args: &[&str]) -> redis::Value {
    let client = redis::Client::open(url).expect("a Redis URL");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("the test connects to its redis-server");
    let mut command = redis::cmd(args[0]);
    for arg in &args[1..] {
        command.arg(*arg);
    }
    command
        .query_async(&mut connection)
        .await
        .expect("a command the test's redis-server runs")
}

/// Stops (SIGSTOP) or continues (SIGCONT) our redis-server, by its PID.
fn freeze(redis: &RedisServer, frozen: bool) {
    use nix::sys::signal::kill;
    use nix::unistd::Pid;
    let signal = if frozen {
        Signal::SIGSTOP
    } else {
        Signal::SIGCONT
    };
    kill(Pid::from_raw(redis.pid()), signal).expect("signal our redis-server");
}

#[tokio::test]
#[ignore = "needs redis-server; .ci/run runs it"]
async fn a_line_said_to_a_hung_redis_gets_a_warning_not_an_error_and_arrives_once() {
    use ws_chat::shared::link::REDIS_WAIT;
    let redis = RedisServer::start().await;
    let one = start_copy(&redis.url(), "one", PRESENCE_TTL);
    let two = start_copy(&redis.url(), "two", PRESENCE_TTL);
    let mut alice = renamed(one.join().await, "alice").await;
    let mut bob = renamed(two.join().await, "bob").await;
    expect_renamed(&mut alice, "bob").await;

    // Frozen, not gone: the connections stay open and nothing answers, but
    // Redis has the line in its socket, and runs it when it wakes up.
    freeze(&redis, true);
    let asked = Instant::now();
    alice.say("hello?").await;
    alice.say("/who").await;
    let mut answers = vec![alice.next_line().await, alice.next_line().await];
    let waited = asked.elapsed();
    freeze(&redis, false);
    answers.sort();
    assert!(
        answers[0].starts_with("* error: Redis did not answer in time; try again"),
        "/who: {answers:?}"
    );
    assert_eq!(
        answers[1],
        "* warning: Redis did not answer in time; this line may still arrive (its echo, if it \
         comes, confirms it): <alice> hello?"
    );
    assert!(waited < REDIS_WAIT + Duration::from_secs(3), "{waited:?}");

    // It arrives, once, for the sender and the others alike, in order.
    alice.say("after").await;
    for client in [&mut alice, &mut bob] {
        client.expect("<alice> hello?").await;
        client.expect_next("<alice> after").await;
    }
}

#[tokio::test]
#[ignore = "needs redis-server; .ci/run runs it"]
async fn a_full_redis_is_an_error_naming_the_full_store_and_the_line_reaches_no_one() {
    let redis = RedisServer::start().await;
    let one = start_copy(&redis.url(), "one", PRESENCE_TTL);
    let two = start_copy(&redis.url(), "two", PRESENCE_TTL);
    let mut alice = renamed(one.join().await, "alice").await;
    let mut bob = renamed(two.join().await, "bob").await;
    expect_renamed(&mut alice, "bob").await;

    redis_command(
        &redis.url(),
        &["CONFIG", "SET", "maxmemory-policy", "noeviction"],
    )
    .await;
    redis_command(&redis.url(), &["CONFIG", "SET", "maxmemory", "1"]).await;
    alice.say("full?").await;
    alice
        .expect_next(
            "* error: the chat's store (Redis) is full, so this line was not sent: <alice> full?",
        )
        .await;
    alice.say("/nick carol").await;
    alice
        .expect_next("* error: the chat's store (Redis) is full; you are still alice")
        .await;
    // What only reads still works.
    bob.say("/who").await;
    bob.expect_next("* users in #lobby: alice, bob").await;
    // A newcomer is told why it cannot join, and let go.
    let socket = one.open_websocket().await.expect("handshake");
    let mut newcomer = ChatClient {
        socket,
        nick: "newcomer".into(),
    };
    let refusal = newcomer.next_line().await;
    assert!(
        refusal.starts_with("* error: the chat's store (Redis) is full"),
        "{refusal:?}"
    );
    newcomer.expect_close().await;

    redis_command(&redis.url(), &["CONFIG", "SET", "maxmemory", "0"]).await;
    alice.say("room again").await;
    for client in [&mut alice, &mut bob] {
        // The refused line never comes: the next one is the one said after.
        client.expect_next("<alice> room again").await;
    }
}

#[tokio::test]
#[ignore = "needs redis-server; .ci/run runs it"]
async fn a_full_redis_is_logged_once_per_episode_and_its_end_once() {
    let redis = RedisServer::start().await;
    let mut server = spawn(WS_CHAT, &[("REDIS_URL", &redis.url())]);
    let port = server.listening_port("http").await;
    let (socket, _) = tokio::time::timeout(
        PATIENCE,
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/ws")),
    )
    .await
    .expect("handshake in time")
    .expect("handshake");
    let mut alice = ChatClient {
        socket,
        nick: "alice".into(),
    };
    assert!(alice.next_line().await.starts_with("* welcome, "));

    redis_command(&redis.url(), &["CONFIG", "SET", "maxmemory", "1"]).await;
    for n in 0..3 {
        alice.say(&format!("full {n}")).await;
        let refused = alice.next_line().await;
        assert!(
            refused.starts_with("* error: the chat's store (Redis) is full"),
            "{refused:?}"
        );
    }
    redis_command(&redis.url(), &["CONFIG", "SET", "maxmemory", "0"]).await;
    for n in 0..3 {
        alice.say(&format!("room {n}")).await;
        let echo = alice.next_line().await;
        assert!(echo.ends_with(&format!("> room {n}")), "{echo:?}");
    }
    drop(alice);

    server.signal(Signal::SIGTERM);
    let (status, stderr) = server.exit_and_stderr().await;
    assert!(status.success(), "{stderr:#?}");
    let full: Vec<&String> = stderr
        .iter()
        .filter(|line| line.contains("out of memory"))
        .collect();
    assert_eq!(full.len(), 1, "{stderr:#?}");
    assert!(
        full[0].contains("WARN") && full[0].contains("OOM"),
        "{full:?}"
    );
    let room = stderr
        .iter()
        .filter(|line| line.contains("Redis has room again"))
        .count();
    assert_eq!(room, 1, "{stderr:#?}");
}

#[tokio::test]
#[ignore = "needs redis-server; .ci/run runs it"]
async fn a_rename_redis_refuses_leaves_the_client_as_it_was() {
    let redis = RedisServer::start().await;
    let one = start_copy(&redis.url(), "one", PRESENCE_TTL);
    let two = start_copy(&redis.url(), "two", PRESENCE_TTL);
    let mut alice = one.join().await;
    let mut bob = renamed(two.join().await, "bob").await;
    expect_renamed(&mut alice, "bob").await;
    let guest = alice.nick.clone();

    // Redis refuses to change who is in which room (an ACL makes the rooms'
    // presence read-only): lines still go through, renames and moves not.
    redis_command(
        &redis.url(),
        &[
            "ACL",
            "SETUSER",
            "default",
            "resetkeys",
            "~netlessons:chat:nick:*",
            "~netlessons:chat:history:*",
            "~netlessons:chat:guests",
            "%R~netlessons:chat:room*",
        ],
    )
    .await;
    alice.say("/nick alice").await;
    alice
        .expect_next(&format!(
            "* error: the chat's Redis refused it; you are still {guest}"
        ))
        .await;
    alice.say("still me").await;
    for client in [&mut alice, &mut bob] {
        client.expect_next(&format!("<{guest}> still me")).await;
    }
    alice.say("/join rust").await;
    alice
        .expect_next("* error: the chat's Redis refused it; you are still in #lobby")
        .await;
    bob.say("here?").await;
    alice.expect_next("<bob> here?").await;
    let taken = redis_command(&redis.url(), &["EXISTS", "netlessons:chat:nick:alice"]).await;
    assert_eq!(
        taken,
        redis::Value::Int(0),
        "a refused rename took the nick"
    );
}

/// A cable between a copy and Redis that the test can cut and mend: while
/// it is cut, bytes wait in it (as for a copy whose machine froze, or whose
/// network is down); mended, they flow again, late.
struct Cable {
    addr: std::net::SocketAddr,
    open: tokio::sync::watch::Sender<bool>,
}

impl Cable {
    async fn to(upstream: u16) -> Cable {
        use tokio::net::{TcpListener, TcpStream};
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local_addr");
        let (open, _) = tokio::sync::watch::channel(true);
        let opened = open.clone();
        tokio::spawn(async move {
            while let Ok((copy, _)) = listener.accept().await {
                let Ok(redis) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                    return;
                };
                let (copy_read, copy_write) = copy.into_split();
                let (redis_read, redis_write) = redis.into_split();
                tokio::spawn(pump(copy_read, redis_write, opened.subscribe()));
                tokio::spawn(pump(redis_read, copy_write, opened.subscribe()));
            }
        });
        Cable { addr, open }
    }

    fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    fn set(&self, open: bool) {
        self.open.send_replace(open);
    }
}

/// Copies bytes one way, holding them while the cable is cut.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut open: tokio::sync::watch::Receiver<bool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buffer = vec![0; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        if open.wait_for(|open| *open).await.is_err() {
            return;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}

#[tokio::test]
#[ignore = "needs redis-server; .ci/run runs it"]
async fn a_nick_lost_while_a_copy_was_cut_off_stays_its_new_owners_and_the_old_holder_becomes_a_guest()
 {
    let redis = RedisServer::start().await;
    let cable = Cable::to(redis.port).await;
    let short = Duration::from_millis(1500);
    let one = start_copy(&cable.url(), "one", short);
    let two = start_copy(&redis.url(), "two", short);
    let mut old = renamed(one.join().await, "alice").await;
    let new = two.join().await;
    old.expect(&format!("* {} joined #lobby", new.nick)).await;

    // Copy one is cut off longer than the presence window: its nick keys
    // expire in Redis, and a client of copy two takes `alice`.
    cable.set(false);
    let deadline = Instant::now() + short + Duration::from_secs(5);
    while redis_command(&redis.url(), &["EXISTS", "netlessons:chat:nick:alice"]).await
        != redis::Value::Int(0)
    {
        assert!(Instant::now() < deadline, "alice's key never expired");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let new = renamed(new, "alice").await;
    cable.set(true);

    // Copy one's heartbeats (those held in the cable too) renew only what
    // is still its own: its client becomes a guest, and is told.
    let mut line = old.next_line().await;
    while !line.starts_with("* your nick alice ") {
        line = old.next_line().await;
    }
    let guest = line
        .rsplit("; you are ")
        .next()
        .expect("the new name")
        .to_string();
    assert!(guest.starts_with("guest-"), "{line:?}");
    old.nick = guest.clone();
    let holder = redis_command(&redis.url(), &["GET", "netlessons:chat:nick:alice"]).await;
    let redis::Value::BulkString(holder) = holder else {
        panic!("alice is held by nobody: {holder:?}")
    };
    assert!(
        holder.starts_with(b"two~"),
        "{}",
        String::from_utf8_lossy(&holder)
    );

    old.say("who am I?").await;
    old.expect(&format!("<{guest}> who am I?")).await;
    let mut new = new;
    new.expect(&format!("* alice is now known as {guest}"))
        .await;
    new.expect(&format!("<{guest}> who am I?")).await;
    wait_for_who(
        &mut new,
        &format!("* users in #lobby: alice, {guest}"),
        PATIENCE,
    )
    .await;
    // The old holder's leaving frees its own name, not alice's place.
    drop(old);
    new.expect(&format!("* {guest} left #lobby")).await;
    wait_for_who(&mut new, "* users in #lobby: alice", PATIENCE).await;
}

/// How long the traffic test stops Redis: longer than `REDIS_WAIT`, so that
/// lines are caught both sent-and-unanswered and never sent.
/// `NETLESSONS_HANG_SECS=10` reproduces the outage the faults review ran.
fn hang() -> Duration {
    let secs = std::env::var("NETLESSONS_HANG_SECS")
        .ok()
        .and_then(|secs| secs.parse().ok())
        .unwrap_or(5);
    Duration::from_secs(secs)
}

/// What a sender learned about each of its lines.
#[derive(Debug, Default)]
struct Fates {
    echoed: Vec<String>,
    errors: Vec<String>,
    warnings: Vec<String>,
}

#[tokio::test]
#[ignore = "needs redis-server; .ci/run runs it"]
async fn after_a_hang_under_traffic_no_line_said_not_sent_was_delivered_and_none_twice() {
    let redis = RedisServer::start().await;
    let one = start_copy(&redis.url(), "one", PRESENCE_TTL);
    let two = start_copy(&redis.url(), "two", PRESENCE_TTL);
    let sender = renamed(one.join().await, "sender").await;
    let mut near = renamed(one.join().await, "near").await;
    let mut far = renamed(two.join().await, "far").await;
    expect_renamed(&mut near, "far").await;
    let (mut sink, mut stream) = sender.socket.split();

    // A line every 100 ms, from a second before the hang to a second after.
    let hang = hang();
    let pace = Duration::from_millis(100);
    let lines = (hang + Duration::from_secs(2)).as_millis() / pace.as_millis();
    let pid = redis.pid();
    let stop = tokio::spawn(async move {
        use nix::sys::signal::kill;
        use nix::unistd::Pid;
        tokio::time::sleep(Duration::from_secs(1)).await;
        kill(Pid::from_raw(pid), Signal::SIGSTOP).expect("stop redis");
        tokio::time::sleep(hang).await;
        kill(Pid::from_raw(pid), Signal::SIGCONT).expect("continue redis");
    });
    let talk = tokio::spawn(async move {
        use futures_util::SinkExt;
        let started = Instant::now();
        for n in 0..lines {
            tokio::time::sleep_until((started + pace * n as u32).into()).await;
            sink.send(Message::text(format!("m{n:03}")))
                .await
                .expect("send");
        }
        // Said once Redis answers again: its echo comes after every line
        // said before it that will ever come.
        sink.send(Message::text("end")).await.expect("send");
        sink
    });
    let mut fates = Fates::default();
    let limit = Instant::now() + hang + Duration::from_secs(30);
    loop {
        let left = limit.saturating_duration_since(Instant::now());
        let frame = tokio::time::timeout(left, stream.next()).await;
        let Ok(Some(Ok(Message::Text(line)))) = frame else {
            panic!("the sender's connection: {frame:?}; so far {fates:?}");
        };
        let line = line.to_string();
        if line == "<sender> end" {
            break;
        }
        let quoted = |line: &str| line.rsplit(": <sender> ").next().map(str::to_string);
        if let Some(said) = line.strip_prefix("<sender> ") {
            fates.echoed.push(said.to_string());
        } else if line.starts_with("* error: ") {
            fates.errors.extend(quoted(&line));
        } else if line.starts_with("* warning: ") {
            fates.warnings.extend(quoted(&line));
        }
    }
    let _sink = talk.await.expect("the talking task");
    stop.await.expect("the stop task");

    // Both others got exactly the sender's echoed lines, once, in order.
    for client in [&mut near, &mut far] {
        let mut got = Vec::new();
        loop {
            let line = client.next_line().await;
            if line == "<sender> end" {
                break;
            }
            if let Some(said) = line.strip_prefix("<sender> ") {
                got.push(said.to_string());
            }
        }
        assert_eq!(got, fates.echoed, "{}", client.nick);
    }
    let mut sorted = fates.echoed.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, fates.echoed, "out of order or twice: {fates:?}");
    // Counted, whatever the errors say: each was for a line that never came.
    assert!(
        fates.errors.len() + fates.echoed.len() <= lines as usize,
        "{} errors and {} lines delivered, of {lines} said: {fates:?}",
        fates.errors.len(),
        fates.echoed.len()
    );
    for line in &fates.errors {
        assert!(
            !fates.echoed.contains(line),
            "{line} was said not sent, and was delivered: {fates:?}"
        );
    }
    // Every line has a fate: echoed, not sent, or maybe (and a warned line
    // that came also has its echo).
    for n in 0..lines {
        let said = format!("m{n:03}");
        assert!(
            fates.echoed.contains(&said)
                || fates.errors.contains(&said)
                || fates.warnings.contains(&said),
            "{said} vanished without a word: {fates:?}"
        );
    }
    assert!(
        !fates.warnings.is_empty(),
        "the hang caught no line: {fates:?}"
    );
    println!(
        "hang {hang:?}: {lines} lines: {} echoed (and delivered to both others), {} errors \
         (none delivered), {} warnings ({} of those delivered)",
        fates.echoed.len(),
        fates.errors.len(),
        fates.warnings.len(),
        fates
            .warnings
            .iter()
            .filter(|line| fates.echoed.contains(line))
            .count()
    );
}
