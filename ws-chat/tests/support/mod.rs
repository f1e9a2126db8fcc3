//! Helpers for ws-chat's tests: a chat server in this process, and chat
//! clients (tokio-tungstenite) that read lines with a timeout.

#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use http_raw::HttpConfig;
use tcp_echo::config::ServerConfig;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use ws_chat::{Chat, ClientSettings, RoomRegistry, respond};

/// How long a test waits for something that should happen.
pub const PATIENCE: Duration = Duration::from_secs(10);

pub fn http_config() -> HttpConfig {
    let mut config = HttpConfig::with_defaults(ServerConfig {
        host: IpAddr::V4(Ipv4Addr::LOCALHOST),
        port: 0,
        shutdown_grace: Duration::from_secs(5),
    });
    config.max_connections = 10_000;
    config
}

// Included, not imported from `tcp_echo::testing`, because `ChatServer`
// below adds methods to `InProcess`, which only its own crate may do.
#[path = "../../../tcp-echo/src/testing/in_process.rs"]
#[allow(dead_code)]
mod in_process;

use in_process::{InProcess, run_in_process};

/// A chat server running in this test process.
pub type ChatServer = InProcess<()>;

pub async fn start_chat(clients: ClientSettings) -> ChatServer {
    start_chat_with(http_config(), clients, Vec::new()).await
}

pub async fn start_chat_with(
    config: HttpConfig,
    clients: ClientSettings,
    allowed_origins: Vec<String>,
) -> ChatServer {
    let listener = tcp_echo::bind::bind_tcp(config.server.addr()).expect("bind");
    let addr = listener.local_addr().expect("addr");
    let chat = Arc::new(Chat {
        registry: Arc::new(RoomRegistry::new()),
        allowed_origins,
        clients,
    });
    run_in_process(addr, move |shutdown| async move {
        http_raw::serve(
            listener,
            &config,
            move |request| respond(Arc::clone(&chat), request),
            shutdown,
        )
        .await
    })
}

impl ChatServer {
    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Two clients in the lobby; the first has already read the second's
    /// `joined` line, so both start from a quiet queue.
    pub async fn join_two(&self) -> (ChatClient, ChatClient) {
        let mut first = self.join().await;
        let second = self.join().await;
        first
            .expect_next(&format!("* {} joined #lobby", second.nick))
            .await;
        (first, second)
    }

    /// A connected client, its welcome read; `nick` is its guest name.
    pub async fn join(&self) -> ChatClient {
        let (socket, _) =
            tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(self.url()))
                .await
                .expect("connect timed out")
                .expect("WebSocket handshake");
        let mut client = ChatClient {
            socket,
            nick: String::new(),
        };
        let welcome = client.next_line().await;
        assert!(
            welcome.starts_with("* welcome, guest-"),
            "first line: {welcome:?}"
        );
        client.nick = welcome["* welcome, ".len()..]
            .split('!')
            .next()
            .unwrap_or_default()
            .to_string();
        client
    }
}

pub struct ChatClient {
    pub socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub nick: String,
}

impl ChatClient {
    pub async fn say(&mut self, text: &str) {
        self.socket.send(Message::text(text)).await.expect("send");
    }

    pub async fn send_binary(&mut self, data: &[u8]) {
        self.socket
            .send(Message::Binary(Bytes::copy_from_slice(data)))
            .await
            .expect("send");
    }

    /// The next text line (pings and pongs are skipped).
    pub async fn next_line(&mut self) -> String {
        loop {
            let frame = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .unwrap_or_else(|_| panic!("{}: no line within {PATIENCE:?}", self.nick))
                .unwrap_or_else(|| panic!("{}: connection ended", self.nick))
                .unwrap_or_else(|error| panic!("{}: {error}", self.nick));
            match frame {
                Message::Text(text) => return text.to_string(),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("{}: expected a text line, got {other:?}", self.nick),
            }
        }
    }

    /// Reads lines until `expected` arrives; fails on timeout.
    pub async fn expect(&mut self, expected: &str) {
        let mut seen = Vec::new();
        loop {
            let line = self.next_line().await;
            if line == expected {
                return;
            }
            seen.push(line);
            assert!(
                seen.len() < 500,
                "{}: never got {expected:?}; saw {seen:#?}",
                self.nick
            );
        }
    }

    /// The next line, which must be exactly `expected`.
    pub async fn expect_next(&mut self, expected: &str) {
        let line = self.next_line().await;
        assert_eq!(line, expected, "{}: next line", self.nick);
    }

    /// Waits for the server's close frame (text lines before it are skipped).
    pub async fn expect_close(&mut self) -> Option<CloseFrame> {
        loop {
            let frame = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .unwrap_or_else(|_| panic!("{}: no close within {PATIENCE:?}", self.nick));
            match frame {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => continue,
                Some(Err(error)) => panic!(
                    "{}: connection failed before a close frame: {error}",
                    self.nick
                ),
                None => panic!("{}: connection ended without a close frame", self.nick),
            }
        }
    }
}

/// Bytes as an escaped string, so `\r\n` shows in a failure message.
pub fn quote(bytes: &[u8]) -> String {
    format!("\"{}\"", bytes.escape_ascii())
}
