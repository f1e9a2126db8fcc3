//! The chat over HTTPS and WSS: the WebSocket upgrade hands over the TLS
//! stream, and the chat works inside it exactly as over plain TCP.

use testkit::process;
mod support;
use testkit::tls;

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rustls::SupportedProtocolVersion;
use support::*;
use tls::{TestCa, VERSIONS};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use ws_chat::ClientSettings;

type Wss = WebSocketStream<TlsStream<TcpStream>>;

/// A `wss://` client: TLS first (trusting only `ca`), then the WebSocket
/// handshake inside it.
async fn join_wss(
    ca: &TestCa,
    addr: SocketAddr,
    version: &'static SupportedProtocolVersion,
) -> Wss {
    let tls = ca.connect(addr, version).await;
    let url = format!("wss://localhost:{}/ws", addr.port());
    let (socket, _) = tokio::time::timeout(PATIENCE, tokio_tungstenite::client_async(url, tls))
        .await
        .expect("WebSocket handshake within the patience")
        .expect("WebSocket handshake");
    socket
}

async fn next_text(socket: &mut Wss) -> String {
    loop {
        let frame = tokio::time::timeout(PATIENCE, socket.next())
            .await
            .expect("a line within the patience")
            .expect("the connection is open")
            .expect("a valid frame");
        match frame {
            Message::Text(text) => return text.to_string(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a text line, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn two_wss_clients_chat_over_tls_1_2_and_1_3() {
    let ca = TestCa::new();
    let mut config = http_config();
    config.tls = Some(tls_server_config(&ca));
    let server = start_chat_with(config, ClientSettings::default(), Vec::new()).await;

    let [v12, v13] = VERSIONS;
    let mut alice = join_wss(&ca, server.addr, v12).await;
    let welcome = next_text(&mut alice).await;
    assert!(welcome.starts_with("* welcome, guest-"), "{welcome}");
    let mut bob = join_wss(&ca, server.addr, v13).await;
    let bob_welcome = next_text(&mut bob).await;
    let bob_nick = bob_welcome["* welcome, ".len()..]
        .split('!')
        .next()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        next_text(&mut alice).await,
        format!("* {bob_nick} joined #lobby")
    );

    bob.send(Message::text("hello over TLS"))
        .await
        .expect("send");
    let line = format!("<{bob_nick}> hello over TLS");
    assert_eq!(next_text(&mut bob).await, line);
    assert_eq!(next_text(&mut alice).await, line);
}

#[tokio::test]
async fn a_wss_client_joins_while_stalled_handshakes_take_every_slot() {
    // The chat's HTTPS is http-raw's: the same budget of handshakes in
    // progress (half of the 8 slots here) lets the newcomer in, though
    // neither timeout could free a slot within the test's patience.
    let ca = TestCa::new();
    let mut config = http_config();
    config.tls = Some(tls_server_config(&ca));
    config.max_connections = 8;
    config.header_timeout = 6 * PATIENCE;
    config.handshake_timeout = 6 * PATIENCE;
    let server = start_chat_with(config, ClientSettings::default(), Vec::new()).await;
    let mut stalled = Vec::new();
    for _ in 0..8 {
        let mut stream = TcpStream::connect(server.addr).await.expect("connect");
        // A TLS record header, then nothing.
        stream.write_all(&[0x16, 0x03, 0x01]).await.expect("write");
        stalled.push(stream);
    }
    let mut alice = join_wss(&ca, server.addr, VERSIONS[1]).await;
    let welcome = next_text(&mut alice).await;
    assert!(welcome.starts_with("* welcome, guest-"), "{welcome}");
    // The oldest stalled handshake made room: closed, nothing sent.
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(PATIENCE, stalled[0].read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0) | Err(_))),
        "the oldest stalled handshake is still open: {read:?}"
    );
}

#[tokio::test]
async fn the_chat_page_is_served_over_https() {
    let ca = TestCa::new();
    let mut config = http_config();
    config.tls = Some(tls_server_config(&ca));
    let server = start_chat_with(config, ClientSettings::default(), Vec::new()).await;
    let mut tls = ca.connect(server.addr, VERSIONS[1]).await;
    tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut page = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, tls.read_to_end(&mut page)).await;
    let page = String::from_utf8_lossy(&page);
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    // The page picks wss:// itself when it was loaded over https://.
    assert!(page.contains(r#"location.protocol === "https:" ? "wss://" : "ws://""#));
}

/// A Python `websockets` client with an SSL context that trusts the CA:
/// prints the welcome, says a line, prints its echo.
const PYTHON_WSS_CLIENT: &str = r#"
import asyncio, ssl, sys
import websockets
async def main():
    context = ssl.create_default_context(cafile=sys.argv[2])
    async with websockets.connect(sys.argv[1], ssl=context) as ws:
        print(await ws.recv(), flush=True)
        await ws.send("hi from python")
        while True:
            line = await ws.recv()
            if line.endswith("hi from python"):
                print(line, flush=True)
                return
asyncio.run(main())
"#;

#[tokio::test]
#[ignore = "needs Debian's python3-websockets; .ci/run runs it"]
async fn the_binary_serves_wss_to_a_python_websockets_client() {
    let ca = TestCa::new();
    let cert = ca.cert_pem.to_string_lossy().into_owned();
    let key = ca.key_pem.to_string_lossy().into_owned();
    let mut server = process::spawn(
        env!("CARGO_BIN_EXE_ws-chat"),
        &[("TLS_CERT", &cert), ("TLS_KEY", &key)],
    );
    let port = server.listening_port("https").await;
    let hint = process::next_line(&mut server.stdout, "hint")
        .await
        .unwrap_or_default();
    assert!(
        hint.contains(&format!("wss://127.0.0.1:{port}/ws")),
        "{hint}"
    );

    let output = tokio::time::timeout(
        PATIENCE,
        // Debian's python3, the one python3-websockets installs for (a
        // python3 earlier in PATH, such as pyenv's, may not have it).
        tokio::process::Command::new("/usr/bin/python3")
            .arg("-c")
            .arg(PYTHON_WSS_CLIENT)
            .arg(format!("wss://localhost:{port}/ws"))
            .arg(&ca.ca_pem)
            .output(),
    )
    .await
    .expect("python within the patience")
    .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("* welcome, guest-"), "{stdout}");
    assert!(lines[1].ends_with("> hi from python"), "{stdout}");
}

/// A headless Chromium, through chromedriver on a free port, that accepts
/// the test CA's certificate without knowing the CA (`acceptInsecureCerts`:
/// the browser's form of `curl -k`, for this test only).
async fn browser_accepting_any_certificate() -> (tokio::process::Child, fantoccini::Client) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let mut driver = tokio::process::Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("`chromedriver` must be installed (Debian: apt-get install chromium-driver)");
    let mut lines = BufReader::new(driver.stdout.take().expect("stdout")).lines();
    loop {
        let line = tokio::time::timeout(PATIENCE, lines.next_line())
            .await
            .expect("chromedriver started")
            .expect("read")
            .expect("chromedriver printed its banner");
        if line.contains("started successfully") {
            break;
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("acceptInsecureCerts".to_string(), serde_json::json!(true));
    capabilities.insert(
        "goog:chromeOptions".to_string(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--disable-dev-shm-usage"]
        }),
    );
    let client =
        fantoccini::ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a browser session");
    (driver, client)
}

/// Polls the page until `script` returns true (the page updates itself).
async fn wait_until(page: &fantoccini::Client, script: &str, what: &str) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let done = page.execute(script, vec![]).await.expect("script");
        if done == serde_json::json!(true) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the page never showed {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
#[ignore = "needs Debian's chromium and chromium-driver; .ci/run runs it"]
async fn a_browser_on_the_https_page_chats_over_wss_with_a_rustls_client() {
    let ca = TestCa::new();
    let mut config = http_config();
    config.tls = Some(tls_server_config(&ca));
    let server = start_chat_with(config, ClientSettings::default(), Vec::new()).await;
    let (_driver, page) = browser_accepting_any_certificate().await;
    page.goto(&format!("https://localhost:{}/", server.addr.port()))
        .await
        .expect("open the page over https");
    wait_until(
        &page,
        "return document.getElementById('nick').textContent.startsWith('guest-');",
        "its nick (the page's wss:// connection)",
    )
    .await;

    let mut bob = join_wss(&ca, server.addr, VERSIONS[1]).await;
    next_text(&mut bob).await;
    bob.send(Message::text("hello, browser"))
        .await
        .expect("send");
    wait_until(
        &page,
        "return [...document.querySelectorAll('#messages li')].some((li) => li.textContent.endsWith('hello, browser'));",
        "bob's line",
    )
    .await;
    page.close().await.expect("close the browser");
}
