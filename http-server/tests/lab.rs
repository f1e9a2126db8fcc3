//! The lab (`docs/lab/run`): Redis, two http-servers, three ws-chats and
//! nginx in front, from one command, stopped by one Ctrl+C.
//!
//! These run the real script, as a learner does, with real `redis-server`
//! and `nginx` (so they are `#[ignore]`d in a plain `cargo test`; `.ci/run`
//! installs both and runs them), and check what the production chapter shows:
//! everything answers through nginx, the copies share their plants, a
//! request in flight survives its copy's SIGTERM while nginx moves on to the
//! other copy, and SIGINT leaves no process and no open port behind.
//!
//! Unix only: the lab is a bash script, and the tests signal its processes.
#![cfg(unix)]

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// How long one step may take (a request, a stop) on a loaded machine.
const STEP: Duration = Duration::from_secs(20);

/// How long the lab may take to be ready. The script builds http-server and
/// ws-chat first (`cargo build`), which is quick when they are built, and
/// minutes on a cold, busy machine.
const READY_PATIENCE: Duration = Duration::from_secs(900);

/// How many ports the lab uses from `LAB_PORT` on.
const LAB_PORTS: u16 = 7;

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/lab/run")
}

/// A base port with the lab's seven ports all free just now (each bound and
/// released; the lab refuses with a clear line if one is taken meanwhile).
/// Below the kernel's ephemeral range (32768 and up), where outgoing
/// connections would take ports in the middle of the seven.
fn free_base_port() -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .subsec_nanos();
    let mut seed = nanos ^ std::process::id().wrapping_mul(2_654_435_761);
    for _ in 0..100 {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let base = 10_000 + (seed >> 8) as u16 % 20_000;
        if (base..base + LAB_PORTS).all(|port| TcpListener::bind(("127.0.0.1", port)).is_ok()) {
            return base;
        }
    }
    panic!("found no 7 free ports in a row");
}

/// A running lab. Dropped early (a failed assertion), it sends the script
/// SIGTERM, and the script stops its children.
struct Lab {
    child: Child,
    base: u16,
    /// Every line the lab printed, as it comes.
    lines: mpsc::UnboundedReceiver<String>,
    /// Process name (`http-server-1`, `nginx`, ...) -> PID, from the lab's
    /// listing before its ready line.
    pids: HashMap<String, i32>,
    client: reqwest::Client,
}

impl Lab {
    async fn start() -> Lab {
        Lab::start_with("on").await
    }

    /// The lab with `LAB_REDIS` set to `redis` (`on` or `off`).
    async fn start_with(redis: &str) -> Lab {
        let base = free_base_port();
        let mut child = Command::new("bash")
            .arg(script())
            .env("LAB_PORT", base.to_string())
            .env("LAB_REDIS", redis)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bash runs docs/lab/run");
        let (lines_tx, lines) = mpsc::unbounded_channel();
        for pipe in [
            Box::new(child.stdout.take().expect("piped"))
                as Box<dyn tokio::io::AsyncRead + Unpin + Send>,
            Box::new(child.stderr.take().expect("piped")),
        ] {
            let lines_tx = lines_tx.clone();
            tokio::spawn(async move {
                let mut pipe = BufReader::new(pipe).lines();
                while let Ok(Some(line)) = pipe.next_line().await {
                    let _ = lines_tx.send(line);
                }
            });
        }
        let mut lab = Lab {
            child,
            base,
            lines,
            pids: HashMap::new(),
            client: reqwest::Client::builder()
                .timeout(STEP)
                .build()
                .expect("a client"),
        };
        let mut seen = Vec::new();
        loop {
            let line = tokio::time::timeout(READY_PATIENCE, lab.lines.recv())
                .await
                .unwrap_or_else(|_| panic!("the lab was not ready in time; it said: {seen:#?}"))
                .unwrap_or_else(|| panic!("the lab ended before it was ready; it said: {seen:#?}"));
            if let Some(listing) = line.strip_prefix("lab: ") {
                let words: Vec<&str> = listing.split_whitespace().collect();
                if let [name, "pid", pid] = words[..] {
                    lab.pids
                        .insert(name.to_string(), pid.parse().expect("a PID"));
                }
                if listing.starts_with("ready: ") {
                    break;
                }
            }
            seen.push(line);
        }
        let processes = if redis == "on" { 7 } else { 6 };
        assert_eq!(
            lab.pids.len(),
            processes,
            "processes listed: {:?}",
            lab.pids
        );
        lab
    }

    fn front(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.base)
    }

    /// http-server copy `n` (1 or 2), directly.
    fn copy(&self, n: u16, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.base + n)
    }

    async fn get(&self, url: &str) -> (u16, String, String) {
        let response = self.client.get(url).send().await.expect("GET");
        let status = response.status().as_u16();
        let instance = response
            .headers()
            .get("x-instance")
            .map(|value| value.to_str().expect("ASCII").to_string())
            .unwrap_or_default();
        (status, instance, response.text().await.expect("a body"))
    }

    /// Waits for a line of the lab's output containing `needle`.
    async fn line_containing(&mut self, needle: &str) -> String {
        let mut seen = Vec::new();
        loop {
            match tokio::time::timeout(STEP, self.lines.recv()).await {
                Ok(Some(line)) if line.contains(needle) => return line,
                Ok(Some(line)) => seen.push(line),
                _ => panic!("no line containing {needle:?}; saw: {seen:#?}"),
            }
        }
    }

    /// Ctrl+C, as a terminal sends it to the script; returns how it exited.
    async fn interrupt(&mut self) -> ExitStatus {
        let pid = self.child.id().expect("running") as i32;
        kill(Pid::from_raw(pid), Signal::SIGINT).expect("SIGINT the lab");
        tokio::time::timeout(STEP, self.child.wait())
            .await
            .expect("the lab stops within 20 s of SIGINT")
            .expect("wait for the lab")
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let (Ok(None), Some(pid)) = (self.child.try_wait(), self.child.id()) {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
        }
    }
}

fn is_running(pid: i32) -> bool {
    kill(Pid::from_raw(pid), None).is_ok()
}

/// A chat client speaking WebSocket by hand through nginx, as the page does
/// (its `Origin` and `Host` are the lab's address).
struct ChatClient {
    stream: TcpStream,
}

impl ChatClient {
    /// Opens `/ws` on `port` and checks the 101.
    async fn open(port: u16) -> ChatClient {
        let mut stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        let request = format!(
            "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:{port}\r\n\
             Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .await
            .expect("send the upgrade");
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let byte = tokio::time::timeout(STEP, stream.read_u8())
                .await
                .expect("the 101 in time")
                .expect("the 101");
            head.push(byte);
        }
        let head = String::from_utf8_lossy(&head);
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        ChatClient { stream }
    }

    /// The next text frame (RFC 6455 section 5.2: from a server, unmasked).
    async fn next_line(&mut self) -> String {
        let mut frame_head = [0u8; 2];
        tokio::time::timeout(STEP, self.stream.read_exact(&mut frame_head))
            .await
            .expect("a frame in time")
            .expect("a frame");
        assert_eq!(frame_head[0], 0x81, "a final text frame");
        let length = match frame_head[1] {
            126 => usize::from(self.stream.read_u16().await.expect("a length")),
            short => usize::from(short),
        };
        let mut payload = vec![0; length];
        self.stream
            .read_exact(&mut payload)
            .await
            .expect("its payload");
        String::from_utf8(payload).expect("UTF-8")
    }

    /// Reads lines until one contains `needle`.
    async fn line_containing(&mut self, needle: &str) -> String {
        loop {
            let line = self.next_line().await;
            if line.contains(needle) {
                return line;
            }
        }
    }

    /// Sends `text` in one text frame, masked as a client must (section 5.3).
    async fn say(&mut self, text: &str) {
        assert!(text.len() < 126, "a short line");
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        let mut frame = vec![0x81, 0x80 | text.len() as u8];
        frame.extend_from_slice(&mask);
        frame.extend(text.bytes().enumerate().map(|(i, byte)| byte ^ mask[i % 4]));
        self.stream.write_all(&frame).await.expect("send a line");
    }
}

#[tokio::test]
#[ignore = "needs nginx and redis-server; .ci/run runs it"]
async fn the_lab_serves_through_nginx_shares_plants_and_stops_on_sigint() {
    let mut lab = Lab::start().await;

    let (status, instance, body) = lab.get(&lab.front("/hello")).await;
    assert_eq!((status, body.as_str()), (200, "Hello, world"));
    assert!(
        instance.starts_with("127.0.0.1:"),
        "x-instance: {instance:?}"
    );

    let (status, _, page) = lab.get(&lab.front("/chat/")).await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"location.host + "/ws""#), "the chat page");
    let welcome = ChatClient::open(lab.base).await.next_line().await;
    assert!(welcome.starts_with("* welcome"), "{welcome:?}");

    let created: Value = lab
        .client
        .post(lab.front("/api/plants"))
        .json(&json!({"name": "Mint"}))
        .send()
        .await
        .expect("POST through nginx")
        .json()
        .await
        .expect("JSON");
    let path = format!("/api/plants/{}", created["id"]);
    let mut instances = Vec::new();
    for copy in [1, 2] {
        let (status, instance, body) = lab.get(&lab.copy(copy, &path)).await;
        assert_eq!(status, 200, "copy {copy}: {body}");
        assert_eq!(serde_json::from_str::<Value>(&body).expect("JSON"), created);
        assert_eq!(instance, format!("127.0.0.1:{}", lab.base + copy));
        instances.push(instance);
    }
    assert_ne!(instances[0], instances[1]);

    let status = lab.interrupt().await;
    assert!(status.success(), "the lab exits 0 after Ctrl+C: {status}");
    for port in lab.base..lab.base + LAB_PORTS {
        assert!(
            TcpStream::connect(("127.0.0.1", port)).await.is_err(),
            "port {port} still open"
        );
    }
    for (name, pid) in &lab.pids {
        assert!(!is_running(*pid), "{name} (pid {pid}) still running");
    }
}

#[tokio::test]
#[ignore = "needs nginx and redis-server; .ci/run runs it"]
async fn a_copy_stopped_mid_request_finishes_it_and_nginx_moves_on() {
    let mut lab = Lab::start().await;

    // The first request for the site opens nginx's first connection to a
    // copy; the copy's log line says which.
    let sleeper = {
        let client = lab.client.clone();
        let url = lab.front("/sleep?ms=3000");
        tokio::spawn(async move { client.get(url).send().await })
    };
    let opened = lab.line_containing("connection opened").await;
    let busy = if opened.starts_with("http-server-1") {
        1
    } else {
        assert!(opened.starts_with("http-server-2"), "{opened}");
        2
    };
    let busy_pid = lab.pids[&format!("http-server-{busy}")];
    kill(Pid::from_raw(busy_pid), Signal::SIGTERM).expect("SIGTERM the copy");

    let response = tokio::time::timeout(STEP, sleeper)
        .await
        .expect("the request in flight ends in time")
        .expect("the task")
        .expect("a response");
    assert_eq!(response.status(), 200, "the request in flight finishes");
    assert_eq!(
        response.headers()["x-instance"],
        format!("127.0.0.1:{}", lab.base + busy).as_str()
    );
    lab.line_containing(&format!(
        "http-server-{busy} (pid {busy_pid}) exited with status 0"
    ))
    .await;

    // nginx finds the copy gone and sends every request to the other one.
    let other = format!("127.0.0.1:{}", lab.base + 3 - busy);
    for _ in 0..6 {
        let (status, instance, _) = lab.get(&lab.front("/hello")).await;
        assert_eq!((status, instance.as_str()), (200, other.as_str()));
    }

    assert!(lab.interrupt().await.success());
}

#[tokio::test]
#[ignore = "needs nginx and redis-server; .ci/run runs it"]
async fn two_clients_on_two_chat_copies_talk_through_redis() {
    let mut lab = Lab::start().await;
    // nginx's least_conn: while Alice's WebSocket is open on one copy, Bob's
    // goes to another.
    let mut alice = ChatClient::open(lab.base).await;
    let alice_welcome = alice.next_line().await;
    let mut bob = ChatClient::open(lab.base).await;
    let bob_welcome = bob.next_line().await;
    let copy = |welcome: &str| {
        let (_, rest) = welcome
            .split_once(" on 127.0.0.1:")
            .expect("names its copy");
        rest.split(';').next().expect("a port").to_string()
    };
    assert_ne!(
        copy(&alice_welcome),
        copy(&bob_welcome),
        "{alice_welcome} / {bob_welcome}"
    );

    alice.say("/nick alice").await;
    bob.line_containing("is now known as alice").await;
    alice.say("hi bob").await;
    assert_eq!(bob.line_containing("hi bob").await, "<alice> hi bob");
    bob.say("/who").await;
    let who = bob.line_containing("users in #lobby").await;
    assert!(who.contains("alice"), "{who}");

    assert!(lab.interrupt().await.success());
}

#[tokio::test]
#[ignore = "needs nginx; .ci/run runs it"]
async fn without_redis_each_copy_keeps_its_own_plants_and_its_own_chat() {
    let mut lab = Lab::start_with("off").await;
    let created: Value = lab
        .client
        .post(lab.copy(1, "/api/plants"))
        .json(&json!({"name": "Mint"}))
        .send()
        .await
        .expect("POST to copy 1")
        .json()
        .await
        .expect("JSON");
    let path = format!("/api/plants/{}", created["id"]);
    let (status, _, _) = lab.get(&lab.copy(1, &path)).await;
    assert_eq!(status, 200, "copy 1 has it");
    let (status, _, _) = lab.get(&lab.copy(2, &path)).await;
    assert_eq!(status, 404, "copy 2 never heard of it");

    // Two chat clients through nginx, on two copies: both guest-1, each
    // alone in a #lobby of its own.
    let mut alice = ChatClient::open(lab.base).await;
    let mut bob = ChatClient::open(lab.base).await;
    for client in [&mut alice, &mut bob] {
        let welcome = client.next_line().await;
        assert!(
            welcome.starts_with("* welcome, guest-1! you are in #lobby;"),
            "{welcome}"
        );
    }
    bob.say("/who").await;
    assert_eq!(bob.next_line().await, "* users in #lobby: guest-1");
    assert!(lab.interrupt().await.success());
}

#[tokio::test]
async fn the_lab_without_redis_server_says_how_to_install_it() {
    let empty = tempfile::tempdir().expect("a temporary directory");
    let output = Command::new("/bin/bash")
        .arg(script())
        .env("PATH", empty.path())
        .output()
        .await
        .expect("bash runs docs/lab/run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr,
        "lab: redis-server is not installed; install it with: sudo apt-get install redis-server nginx\n"
    );
}
