//! The chat with the clients a learner uses: websocat in a terminal and two
//! real browsers (headless Chromium, driven over WebDriver by fantoccini).
//! Ignored by a plain `cargo test` because they need those installed;
//! `.ci/run` installs them and runs these with `--ignored`, and then a
//! missing tool is a failure.

use testkit::process;

use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::StreamExt;
use process::spawn;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;
use tokio_tungstenite::tungstenite::Message;

const WS_CHAT: &str = env!("CARGO_BIN_EXE_ws-chat");

#[tokio::test]
#[ignore = "needs websocat; .ci/run runs it"]
async fn websocat_chats_with_a_websocket_client() {
    let mut server = spawn(WS_CHAT, &[]);
    let port = server.listening_port("http").await;
    let url = format!("ws://127.0.0.1:{port}/ws");
    let (mut other, _) = tokio_tungstenite::connect_async(&url)
        .await
        .expect("handshake");
    let _welcome = other.next().await;

    let mut websocat = Command::new("websocat")
        .arg(&url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("`websocat` must be installed (cargo install websocat)");
    let mut stdin = websocat.stdin.take().expect("stdin");
    let mut lines = BufReader::new(websocat.stdout.take().expect("stdout")).lines();
    assert!(
        websocat_line(&mut lines)
            .await
            .starts_with("* welcome, guest-")
    );
    stdin
        .write_all(b"/nick term\nhello from a terminal\n")
        .await
        .expect("write");
    stdin.flush().await.expect("flush");
    assert!(
        websocat_line(&mut lines)
            .await
            .ends_with("is now known as term")
    );
    assert_eq!(
        websocat_line(&mut lines).await,
        "<term> hello from a terminal"
    );

    // The other client saw the same lines, as the same text frames.
    let mut seen = Vec::new();
    while seen.len() < 3 {
        if let Some(Ok(Message::Text(text))) = other.next().await {
            seen.push(text.to_string());
        }
    }
    assert!(seen[0].ends_with("joined #lobby"), "{seen:?}");
    assert_eq!(seen[2], "<term> hello from a terminal");
}

/// The next line websocat printed.
async fn websocat_line(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
) -> String {
    tokio::time::timeout(process::STEP_TIMEOUT, lines.next_line())
        .await
        .expect("websocat printed a line")
        .expect("read")
        .expect("websocat still running")
}

/// chromedriver, started on a free port, stopped when dropped.
struct ChromeDriver {
    _process: tokio::process::Child,
    port: u16,
}

async fn start_chromedriver() -> ChromeDriver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("addr")
        .port();
    let mut process = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("`chromedriver` must be installed (Debian: apt-get install chromium-driver)");
    let mut lines = BufReader::new(process.stdout.take().expect("stdout")).lines();
    loop {
        let line = tokio::time::timeout(process::STEP_TIMEOUT, lines.next_line())
            .await
            .expect("chromedriver started")
            .expect("read")
            .expect("chromedriver printed its banner");
        if line.contains("started successfully") {
            break;
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    ChromeDriver {
        _process: process,
        port,
    }
}

async fn browser(driver: &ChromeDriver) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_string(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage"]
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a browser session")
}

/// Waits until the page's message list has a line with exactly `text`.
async fn wait_for_line(page: &Client, text: &str) {
    let script = "const want = arguments[0];
        return [...document.querySelectorAll('#messages li')].some((li) => li.textContent === want);";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let found = page
            .execute(script, vec![serde_json::json!(text)])
            .await
            .expect("script");
        if found == serde_json::json!(true) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the page never showed {text:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn text_of(page: &Client, id: &str) -> String {
    page.find(Locator::Id(id))
        .await
        .expect("element")
        .text()
        .await
        .expect("text")
}

async fn type_line(page: &Client, line: &str) {
    let input = page.find(Locator::Id("input")).await.expect("input");
    input.send_keys(line).await.expect("type");
    page.find(Locator::Id("send"))
        .await
        .expect("send button")
        .click()
        .await
        .expect("click");
}

#[tokio::test]
#[ignore = "needs Debian's chromium and chromium-driver; .ci/run runs it"]
async fn two_browsers_chat_rename_switch_rooms_and_html_stays_text() {
    two_browsers_chat(WS_CHAT).await;
}

#[tokio::test]
#[ignore = "needs Debian's chromium and chromium-driver; .ci/run runs it"]
async fn the_chat_page_works_with_the_build_alongs_last_step() {
    let program = testkit::checker::example("ws-chat", "step7-page");
    two_browsers_chat(program.to_str().expect("a UTF-8 path")).await;
}

/// Two browsers open `program`'s chat page and chat, rename, and switch
/// rooms; HTML in a message stays text.
async fn two_browsers_chat(program: &str) {
    let mut server = spawn(program, &[]);
    let port = server.listening_port("http").await;
    let driver = start_chromedriver().await;
    let (alice, bob) = (browser(&driver).await, browser(&driver).await);
    let page = format!("http://127.0.0.1:{port}/");
    alice.goto(&page).await.expect("open page");
    bob.goto(&page).await.expect("open page");

    // Wait until both are connected and know their nicks.
    let nick_of = |client: &Client| {
        let client = client.clone();
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            loop {
                let nick = text_of(&client, "nick").await;
                if nick.starts_with("guest-") {
                    return nick;
                }
                assert!(tokio::time::Instant::now() < deadline, "never connected");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let alice_nick = nick_of(&alice).await;
    let bob_nick = nick_of(&bob).await;
    wait_for_line(&alice, &format!("* {bob_nick} joined #lobby")).await;

    type_line(&alice, "hello from alice").await;
    wait_for_line(&bob, &format!("{alice_nick}hello from alice")).await;

    type_line(&alice, "/nick alice").await;
    wait_for_line(&bob, &format!("* {alice_nick} is now known as alice")).await;
    assert_eq!(text_of(&alice, "nick").await, "alice");

    let hostile = "<img src=x onerror=\"document.title='pwned'\">";
    type_line(&alice, hostile).await;
    wait_for_line(&bob, &format!("alice{hostile}")).await;
    let images = bob
        .find_all(Locator::Css("#messages img"))
        .await
        .expect("query");
    assert!(images.is_empty(), "the message became HTML");
    assert_ne!(bob.title().await.expect("title"), "pwned");

    type_line(&bob, "/join garden").await;
    wait_for_line(&alice, &format!("* {bob_nick} left #lobby")).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while text_of(&bob, "room").await != "#garden" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the page did not switch rooms"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    alice.close().await.expect("close alice");
    bob.close().await.expect("close bob");
    // Windows has no SIGTERM: there the server is killed when `server` drops.
    #[cfg(unix)]
    server.signal(nix::sys::signal::Signal::SIGTERM);
}
