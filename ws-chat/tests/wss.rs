//! The chat over HTTPS and WSS: the WebSocket upgrade hands over the TLS
//! stream, and the chat works inside it exactly as over plain TCP.

#[path = "../../tcp-echo/tests/support/process.rs"]
mod process;
mod support;
#[path = "../../http-raw/tests/support/tls.rs"]
mod tls;

use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use rustls::SupportedProtocolVersion;
use support::*;
use tls::{TestCa, VERSIONS};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
    config.tls = Some(ca.server_config());
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
async fn the_chat_page_is_served_over_https() {
    let ca = TestCa::new();
    let mut config = http_config();
    config.tls = Some(ca.server_config());
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
