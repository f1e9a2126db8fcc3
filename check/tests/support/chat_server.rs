//! A small chat server written here, the way a learner might write lesson 5
//! in one file, for the chat checker's fairness tests: it passes every
//! stage, and `faulty_proxy.rs` in front of it makes one mistake at a time.
//!
//! What to notice: it shares no code with ws-chat. The upgrade is done by
//! hand (RFC 6455 section 4.2.2: the accept key is base64(SHA-1(key +
//! GUID))), then tokio-tungstenite speaks the frames; it answers pings and
//! close frames itself as long as the connection is read. Each client has a
//! bounded queue; a client whose queue is full is skipped, never waited for.
//! It is a test double: the lesson's server is the real thing.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures_util::{SinkExt, StreamExt};
use sha1::{Digest, Sha1};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;

/// The longest chat message, in bytes (the lesson's limit).
const MAX_MESSAGE_BYTES: usize = 4096;

/// The longest upgrade request head read.
const MAX_HEAD_BYTES: usize = 8 * 1024;

/// Lines queued for one client before it is skipped.
const QUEUE: usize = 256;

/// Who is connected: by id, each with a nick, a room and a queue.
#[derive(Default)]
struct Chat {
    next_guest: u64,
    clients: HashMap<u64, Client>,
}

struct Client {
    nick: String,
    room: String,
    queue: mpsc::Sender<String>,
}

type Shared = Arc<Mutex<Chat>>;

/// Starts the chat on 127.0.0.1:0, on the current runtime; its WebSocket is
/// at `/ws`.
pub async fn start() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    let chat: Shared = Arc::default();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, chat.clone()));
        }
    });
    addr
}

fn lock(chat: &Shared) -> std::sync::MutexGuard<'_, Chat> {
    chat.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Chat {
    /// Sends `line` to everyone in `room`, `except` one client if given.
    fn tell_room(&self, room: &str, line: &str, except: Option<u64>) {
        for (id, client) in &self.clients {
            if client.room == room && Some(*id) != except {
                let _ = client.queue.try_send(line.to_string());
            }
        }
    }

    /// Sends `line` to one client.
    fn tell(&self, id: u64, line: &str) {
        if let Some(client) = self.clients.get(&id) {
            let _ = client.queue.try_send(line.to_string());
        }
    }
}

/// One connection: the upgrade, then lines both ways until it ends.
async fn serve(mut stream: TcpStream, chat: Shared) {
    let Some((head, rest)) = read_head(&mut stream).await else {
        return;
    };
    let key = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("sec-websocket-key")
            .then(|| value.trim().to_string())
    });
    let path_is_ws = head.starts_with("GET /ws ");
    let Some(key) = key.filter(|_| path_is_ws) else {
        let _ = stream
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .await;
        return;
    };
    let mut digest = Sha1::new();
    digest.update(key.as_bytes());
    digest.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    let accept = BASE64.encode(digest.finalize());
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    if stream.write_all(response.as_bytes()).await.is_err() {
        return;
    }
    let socket = WebSocketStream::from_partially_read(stream, rest, Role::Server, None).await;
    let (queue, lines) = mpsc::channel(QUEUE);
    let id = {
        let mut state = lock(&chat);
        state.next_guest += 1;
        let id = state.next_guest;
        let nick = format!("guest-{id}");
        state.tell_room("lobby", &format!("* {nick} joined #lobby"), None);
        let welcome = format!("* welcome, {nick}! you are in #lobby");
        let client = Client {
            nick,
            room: "lobby".to_string(),
            queue,
        };
        let _ = client.queue.try_send(welcome);
        state.clients.insert(id, client);
        id
    };
    talk(socket, lines, id, &chat).await;
    let mut state = lock(&chat);
    if let Some(client) = state.clients.remove(&id) {
        let left = format!("* {} left #{}", client.nick, client.room);
        state.tell_room(&client.room, &left, None);
    }
}

/// Reads the request head; returns it and any bytes after it.
async fn read_head(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = buf.windows(4).position(|four| four == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Some((String::from_utf8_lossy(&buf).into_owned(), rest));
        }
        if buf.len() > MAX_HEAD_BYTES {
            return None;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Frames in, queued lines out, until the client leaves.
async fn talk(
    mut socket: WebSocketStream<TcpStream>,
    mut lines: mpsc::Receiver<String>,
    id: u64,
    chat: &Shared,
) {
    loop {
        tokio::select! {
            frame = socket.next() => match frame {
                Some(Ok(Message::Text(text))) => said(chat, id, text.as_str()),
                Some(Ok(Message::Binary(_))) => {
                    lock(chat).tell(id, "* error: the chat speaks text frames only");
                }
                // Pings and the close handshake: tungstenite answers them as
                // long as the socket is read.
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return,
            },
            Some(line) = lines.recv() => {
                if socket.send(Message::text(line)).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// A text frame from client `id`: a command or a chat line.
fn said(chat: &Shared, id: u64, text: &str) {
    let mut state = lock(chat);
    let Some(client) = state.clients.get(&id) else {
        return;
    };
    let (nick, room) = (client.nick.clone(), client.room.clone());
    if text.len() > MAX_MESSAGE_BYTES {
        state.tell(id, "* error: a message is at most 4096 bytes");
        return;
    }
    let (command, argument) = text.split_once(' ').unwrap_or((text, ""));
    match command {
        "/nick" => {
            let valid = (1..=24).contains(&argument.len())
                && argument
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            let taken = state.clients.values().any(|other| other.nick == argument);
            if !valid || taken {
                state.tell(
                    id,
                    "* error: that nick is taken or not 1-24 of A-Z a-z 0-9 _ -",
                );
                return;
            }
            if let Some(client) = state.clients.get_mut(&id) {
                client.nick = argument.to_string();
            }
            state.tell_room(&room, &format!("* {nick} is now known as {argument}"), None);
        }
        "/join" => {
            let valid = (1..=32).contains(&argument.len())
                && argument.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                });
            if !valid {
                state.tell(id, "* error: a room is 1-32 of a-z 0-9 _ -");
                return;
            }
            state.tell_room(&room, &format!("* {nick} left #{room}"), Some(id));
            if let Some(client) = state.clients.get_mut(&id) {
                client.room = argument.to_string();
            }
            state.tell_room(argument, &format!("* {nick} joined #{argument}"), None);
        }
        "/who" => {
            let mut here: Vec<&str> = state
                .clients
                .values()
                .filter(|other| other.room == room)
                .map(|other| other.nick.as_str())
                .collect();
            here.sort_unstable();
            let line = format!("* users in #{room}: {}", here.join(", "));
            state.tell(id, &line);
        }
        "/rooms" => {
            let mut rooms: Vec<String> = state
                .clients
                .values()
                .map(|other| format!("#{}", other.room))
                .collect();
            rooms.sort_unstable();
            rooms.dedup();
            let line = format!("* rooms: {}", rooms.join(", "));
            state.tell(id, &line);
        }
        _ if text.starts_with('/') => state.tell(id, "* error: unknown command"),
        _ => state.tell_room(&room, &format!("<{nick}> {text}"), None),
    }
}
