//! Helpers for ws-chat's tests: a chat server in this process, and chat
//! clients (tokio-tungstenite) that read lines with a timeout.

#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use http_raw::HttpConfig;
use tcp_echo::config::ServerConfig;
use testkit::in_process::{InProcess, run_in_process};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Bytes, Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use ws_chat::{ChatConfig, ClientSettings};

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

/// A chat server running in this test process.
pub type ChatServer = InProcess<()>;

pub async fn start_chat(clients: ClientSettings) -> ChatServer {
    start_chat_with(http_config(), clients, Vec::new()).await
}

/// Runs `ws_chat::run`, as `main` does, with these settings.
pub async fn start_chat_with(
    http: HttpConfig,
    clients: ClientSettings,
    allowed_origins: Vec<String>,
) -> ChatServer {
    let listener = tcp_echo::bind::bind_tcp(http.server.addr()).expect("bind");
    let config = ChatConfig {
        http,
        allowed_origins,
        clients,
        redis_url: None,
        instance_name: None,
        presence_ttl: ws_chat::shared::rooms::PRESENCE_TTL,
    };
    start_chat_config(listener, config)
}

/// Runs `ws_chat::run` on `listener` with `config`.
pub fn start_chat_config(listener: tokio::net::TcpListener, config: ChatConfig) -> ChatServer {
    let addr = listener.local_addr().expect("addr");
    run_in_process(addr, move |shutdown| async move {
        ws_chat::run(listener, &config, shutdown)
            .await
            .expect("the chat starts");
    })
}

/// What a test does with a chat server running in this process (a trait,
/// because only tcp-echo may add methods to its `InProcess`).
pub trait ChatServerExt {
    /// The chat's WebSocket URL, `ws://127.0.0.1:PORT/ws`.
    fn url(&self) -> String;

    /// Two clients in the lobby; the first has already read the second's
    /// `joined` line, so both start from a quiet queue.
    async fn join_two(&self) -> (ChatClient, ChatClient);

    /// A connected client, its welcome read; `nick` is its guest name.
    async fn join(&self) -> ChatClient;

    /// The WebSocket handshake, within `PATIENCE`.
    async fn open_websocket(&self) -> Result<WebSocket, WsError>;

    /// Joins once a connection slot is free: while every slot is taken the
    /// server answers 503, and this asks again, for up to `PATIENCE`.
    async fn join_when_a_slot_is_free(&self) -> ChatClient;
}

impl ChatServerExt for ChatServer {
    fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Two clients in the lobby; the first has already read the second's
    /// `joined` line, so both start from a quiet queue.
    async fn join_two(&self) -> (ChatClient, ChatClient) {
        let mut first = self.join().await;
        let second = self.join().await;
        first
            .expect_next(&format!("* {} joined #lobby", second.nick))
            .await;
        (first, second)
    }

    /// A connected client, its welcome read; `nick` is its guest name.
    async fn join(&self) -> ChatClient {
        let socket = self.open_websocket().await.expect("WebSocket handshake");
        ChatClient::welcomed(socket).await
    }

    /// The WebSocket handshake, within `PATIENCE`.
    async fn open_websocket(&self) -> Result<WebSocket, WsError> {
        tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(self.url()))
            .await
            .expect("connect timed out")
            .map(|(socket, _)| socket)
    }

    /// Joins once a connection slot is free: while every slot is taken the
    /// server answers 503, and this asks again, for up to `PATIENCE`.
    async fn join_when_a_slot_is_free(&self) -> ChatClient {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            match self.open_websocket().await {
                Ok(socket) => return ChatClient::welcomed(socket).await,
                Err(WsError::Http(response)) if response.status() == 503 => {
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "no slot was freed within {PATIENCE:?}"
                    );
                    // The 503 says `Retry-After: 1`; a test asks more often.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(error) => panic!("WebSocket handshake: {error}"),
            }
        }
    }
}

/// A tungstenite client's WebSocket.
pub type WebSocket = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub struct ChatClient {
    pub socket: WebSocket,
    pub nick: String,
}

impl ChatClient {
    /// A client whose welcome line has been read; `nick` is its guest name.
    async fn welcomed(socket: WebSocket) -> ChatClient {
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

    /// The next line, which must say someone joined; their nick.
    pub async fn expect_joined(&mut self) -> String {
        let line = self.next_line().await;
        line.strip_prefix("* ")
            .and_then(|rest| rest.strip_suffix(" joined #lobby"))
            .unwrap_or_else(|| panic!("{}: expected a joined line, got {line:?}", self.nick))
            .to_string()
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

/// A connection spoken byte by byte, for what a well-behaved client library
/// never sends: split frames, broken lengths, bad UTF-8.
pub struct RawConnection {
    pub stream: TcpStream,
    /// Bytes read but not yet taken.
    received: Vec<u8>,
}

impl RawConnection {
    pub async fn connect(addr: SocketAddr) -> RawConnection {
        let stream = tokio::time::timeout(PATIENCE, TcpStream::connect(addr))
            .await
            .expect("connect timed out")
            .expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        RawConnection {
            stream,
            received: Vec::new(),
        }
    }

    /// A connection that has done the WebSocket handshake (and read the 101).
    pub async fn websocket(addr: SocketAddr) -> RawConnection {
        let mut connection = RawConnection::connect(addr).await;
        connection
            .send(
                b"GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                  Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            )
            .await;
        let answer = connection.read_response().await;
        assert!(
            answer.starts_with("HTTP/1.1 101 "),
            "{}",
            quote(answer.as_bytes())
        );
        connection
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .await
            .expect("write to the server");
    }

    /// Reads more bytes; `false` at the end of the stream.
    async fn fill(&mut self, what: &str) -> bool {
        let mut buf = [0u8; 8192];
        let n = tokio::time::timeout(PATIENCE, self.stream.read(&mut buf))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "waited {PATIENCE:?} for {what}; have {}",
                    quote(&self.received)
                )
            })
            .unwrap_or(0);
        self.received.extend_from_slice(&buf[..n]);
        n > 0
    }

    /// Takes `n` bytes, reading as many times as it takes.
    async fn take(&mut self, n: usize, what: &str) -> Option<Vec<u8>> {
        while self.received.len() < n {
            if !self.fill(what).await {
                return None;
            }
        }
        Some(self.received.drain(..n).collect())
    }

    /// One whole HTTP response, as text: the head, then as many body bytes
    /// as its `Content-Length` says (none for a 101: frames follow it).
    pub async fn read_response(&mut self) -> String {
        let head_end = loop {
            if let Some(at) = self.received.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            assert!(
                self.fill("a response head").await,
                "closed before a whole response head: {}",
                quote(&self.received)
            );
        };
        let head = String::from_utf8_lossy(&self.received[..head_end]).into_owned();
        let length = head
            .split("\r\n")
            .filter_map(|line| line.split_once(": "))
            .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
            .map_or(0, |(_, value)| {
                value.parse().expect("a Content-Length number")
            });
        let whole = self
            .take(head_end + length, "a response body")
            .await
            .unwrap_or_else(|| panic!("closed inside the response: {}", quote(&self.received)));
        String::from_utf8_lossy(&whole).into_owned()
    }

    /// The next frame from the server, `(opcode, payload)`; `None` when the
    /// connection ends. Server frames are never masked (RFC 6455 section 5.1).
    pub async fn next_frame(&mut self) -> Option<(u8, Vec<u8>)> {
        let header = self.take(2, "a frame header").await?;
        let opcode = header[0] & 0x0F;
        let length = match header[1] & 0x7F {
            126 => {
                let bytes = self.take(2, "a 16-bit length").await?;
                usize::from(u16::from_be_bytes([bytes[0], bytes[1]]))
            }
            127 => panic!("the server sent a frame over 64 KiB"),
            short => usize::from(short),
        };
        let payload = self.take(length, "a frame's payload").await?;
        Some((opcode, payload))
    }

    /// Reads frames until the server's close frame; its status code.
    pub async fn close_code(&mut self) -> u16 {
        self.close_frame().await.0
    }

    /// Reads frames until the server's close frame; its code and reason.
    pub async fn close_frame(&mut self) -> (u16, String) {
        loop {
            match self.next_frame().await {
                Some((0x8, payload)) => {
                    assert!(payload.len() >= 2, "a close frame without a code");
                    let code = u16::from_be_bytes([payload[0], payload[1]]);
                    return (code, String::from_utf8_lossy(&payload[2..]).into_owned());
                }
                Some(_) => continue,
                None => panic!("the connection ended without a close frame"),
            }
        }
    }
}

/// A client frame: `first` is FIN, RSV and the opcode (`0x81`: a final text
/// frame); the payload is masked, as every client frame must be.
pub fn client_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
    let mut frame = vec![first];
    match payload.len() {
        short @ 0..=125 => frame.push(0x80 | short as u8),
        medium @ 126..=0xFFFF => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(medium as u16).to_be_bytes());
        }
        long => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(long as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&MASK);
    frame.extend(
        payload
            .iter()
            .enumerate()
            .map(|(i, byte)| byte ^ MASK[i % 4]),
    );
    frame
}

/// The server's TLS configuration from the test CA's files, loaded as
/// `TLS_CERT` / `TLS_KEY` are.
pub fn tls_server_config(ca: &testkit::tls::TestCa) -> std::sync::Arc<rustls::ServerConfig> {
    http_raw::tls::server_config(&ca.cert_pem, &ca.key_pem).expect("usable test certificate")
}
