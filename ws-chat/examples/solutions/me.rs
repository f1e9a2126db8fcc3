//! The solution to the `/me` exercise (`examples/exercise-me.rs`): step 6,
//! plus `/me ACTION`.
//!
//! What to notice: a new command is two small changes in the places that
//! already exist for commands: one arm in `handle_text` (what the line
//! means, with its error for a missing action) and one method on the hub
//! (`act`, which is `say` with another line format). Nothing about
//! sockets, queues or tasks changes.
//!
//! `NETLESSONS_SOLUTIONS=1 cargo test -p ws-chat --test exercises -- --ignored`
//! checks it (CI does).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures_util::{SinkExt, StreamExt};
use sha1::{Digest, Sha1};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::timeout;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The longest upgrade request we read (lesson 3's header limit): a client
/// that sends more is not a WebSocket client.
const MAX_HEAD_BYTES: usize = 8 * 1024;

/// The fixed GUID of RFC 6455 section 1.3.
const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Lines that may wait for one client: more than a busy room says while a
/// healthy client reads. A client further behind is not reading.
const QUEUE_LINES: usize = 256;

// ANCHOR: limits
/// The longest chat line, in bytes: a screenful. Longer ones get an error.
const MAX_MESSAGE_BYTES: usize = 4096;

/// The longest message tungstenite will even read, in bytes; beyond it the
/// connection is closed with 1009. Between the two, a polite error line.
const MAX_FRAME_BYTES: usize = 16 * 1024;

/// How long to pause after a failed `accept` before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// How long one write may wait for a client's socket to take a line: a
/// healthy client takes it in microseconds, even on a poor network.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long we wait for the client's half of the closing handshake.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// tungstenite's settings: its default would buffer a 64 MiB message.
fn websocket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES))
}
// ANCHOR_END: limits

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "8080".to_string());
    let listener = TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("listening on http://{}", listener.local_addr()?);
    run(listener).await
}

/// Serves the chat on `listener`. (`pub`, and apart from `main`, so a test
/// can run it in its own process on a port it picked: `tests/exercises.rs`
/// does, with `exercise-me.rs`, a copy of this step.)
pub async fn run(listener: TcpListener) -> std::io::Result<()> {
    let hub = Arc::new(Hub::default());
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of file descriptors, say: that client is lost, the server
            // is not. The pause gives other connections time to close.
            Err(error) => {
                eprintln!("accept failed: {error}");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let hub = Arc::clone(&hub);
        tokio::spawn(async move {
            if let Err(error) = serve(hub, stream).await {
                eprintln!("{peer}: {error}");
            }
        });
    }
}

// ANCHOR: hub
/// One connected client, as the hub sees it.
struct Member {
    nick: String,
    room: String,
    /// The sending half of the client's queue. The hub holds the only one,
    /// so removing a member closes its queue, and that ends its task.
    queue: mpsc::Sender<String>,
}

/// Everyone connected. A std `Mutex` is enough: it is never held across an
/// `.await`, so no task sleeps while holding it.
#[derive(Default)]
struct Hub {
    members: Mutex<HashMap<u64, Member>>,
    next_id: AtomicU64,
}

impl Hub {
    /// A newcomer: a nick, a welcome to it, a notice to the lobby.
    fn join(&self, queue: mpsc::Sender<String>) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let nick = format!("guest-{id}");
        let mut members = self.lock();
        send_to_room(&mut members, "lobby", &format!("* {nick} joined #lobby"));
        let _ = queue.try_send(format!("* welcome, {nick}! you are in #lobby"));
        let room = "lobby".to_string();
        members.insert(id, Member { nick, room, queue });
        id
    }

    /// A chat line, to the sender's room, the sender included.
    fn say(&self, id: u64, text: &str) {
        let mut members = self.lock();
        if let Some(member) = members.get(&id) {
            let (room, line) = (member.room.clone(), format!("<{}> {text}", member.nick));
            send_to_room(&mut members, &room, &line);
        }
    }

    // EXERCISE /me, part 1: a hub method that sends `* NICK ACTION` (see `say`).
    // ANCHOR: act
    /// `/me ACTION`: `* NICK ACTION` to the sender's room, the sender
    /// included. (It can look like a notice, `* alice joined #rust`, but
    /// always starts with the sender's own nick.)
    fn act(&self, id: u64, action: &str) {
        let mut members = self.lock();
        if let Some(member) = members.get(&id) {
            let (room, line) = (member.room.clone(), format!("* {} {action}", member.nick));
            send_to_room(&mut members, &room, &line);
        }
    }
    // ANCHOR_END: act
    // EXERCISE END

    /// `/nick NEW`: the room hears `* OLD is now known as NEW`.
    fn rename(&self, id: u64, new: &str) -> Result<(), String> {
        if !is_valid_nick(new) {
            return Err("usage: /nick NAME (1-24 of A-Z a-z 0-9 _ -)".to_string());
        }
        let mut members = self.lock();
        if members.values().any(|member| member.nick == new) {
            return Err(format!("the nick {new} is taken"));
        }
        let Some(member) = members.get_mut(&id) else {
            return Ok(());
        };
        let old = std::mem::replace(&mut member.nick, new.to_string());
        let room = member.room.clone();
        send_to_room(
            &mut members,
            &room,
            &format!("* {old} is now known as {new}"),
        );
        Ok(())
    }

    // ANCHOR: rooms
    /// `/join ROOM`: the old room hears `left`, the new one (the mover
    /// included) `joined`.
    fn move_to(&self, id: u64, room: &str) -> Result<(), String> {
        let room = room.strip_prefix('#').unwrap_or(room);
        if !is_valid_room(room) {
            return Err("usage: /join ROOM (1-32 of a-z 0-9 _ -)".to_string());
        }
        let mut members = self.lock();
        let Some(member) = members.get_mut(&id) else {
            return Ok(());
        };
        if member.room == room {
            return Err(format!("you are already in #{room}"));
        }
        let old = std::mem::replace(&mut member.room, room.to_string());
        let nick = member.nick.clone();
        send_to_room(&mut members, &old, &format!("* {nick} left #{old}"));
        send_to_room(&mut members, room, &format!("* {nick} joined #{room}"));
        Ok(())
    }

    /// `/who`: the nicks in the asker's room.
    fn who(&self, id: u64) -> String {
        let members = self.lock();
        let Some(room) = members.get(&id).map(|member| member.room.as_str()) else {
            return String::new();
        };
        let mut nicks: Vec<&str> = members
            .values()
            .filter(|member| member.room == room)
            .map(|member| member.nick.as_str())
            .collect();
        nicks.sort_unstable();
        format!("* users in #{room}: {}", nicks.join(", "))
    }

    /// `/rooms`: every room someone is in, with how many.
    fn rooms(&self) -> String {
        let mut counts = BTreeMap::<&str, usize>::new();
        let members = self.lock();
        for member in members.values() {
            *counts.entry(member.room.as_str()).or_default() += 1;
        }
        let list: Vec<String> = counts
            .iter()
            .map(|(room, count)| format!("#{room} ({count})"))
            .collect();
        format!("* rooms: {}", list.join(", "))
    }

    // ANCHOR_END: rooms

    /// A line to one client only.
    fn tell(&self, id: u64, line: String) {
        let mut members = self.lock();
        if let Some(member) = members.get(&id) {
            if member.queue.try_send(line).is_err() {
                members.remove(&id);
            }
        }
    }

    /// A client is gone: its room hears it.
    fn leave(&self, id: u64) {
        let mut members = self.lock();
        if let Some(member) = members.remove(&id) {
            let line = format!("* {} left #{}", member.nick, member.room);
            send_to_room(&mut members, &member.room, &line);
        }
    }

    /// Poisoning means another thread panicked mid-change; the map is still
    /// a valid map, so carry on.
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Member>> {
        self.members.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

// ANCHOR: send_to_room
/// Queues `line` for every member of `room`. `try_send` never waits: a
/// member whose queue is full (or closed) is removed, and nobody waits for it.
fn send_to_room(members: &mut HashMap<u64, Member>, room: &str, line: &str) {
    members
        .retain(|_, member| member.room != room || member.queue.try_send(line.to_string()).is_ok());
}

// ANCHOR_END: send_to_room

/// 1 to 32 of `a-z 0-9 _ -`.
fn is_valid_room(room: &str) -> bool {
    (1..=32).contains(&room.len())
        && room
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// 1 to 24 of `A-Z a-z 0-9 _ -`: short, and nothing that could pass for a
/// system line.
fn is_valid_nick(nick: &str) -> bool {
    (1..=24).contains(&nick.len())
        && nick
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}
// ANCHOR_END: hub

// ANCHOR: handle_text
/// What a line from a client means: a command, or chat.
fn handle_text(hub: &Hub, id: u64, text: &str) {
    let text = text.trim_end();
    // ANCHOR: too_long
    if text.len() > MAX_MESSAGE_BYTES {
        let error = format!("* error: message too long (max {MAX_MESSAGE_BYTES} bytes)");
        hub.tell(id, error);
        return;
    }
    // ANCHOR_END: too_long
    let Some(command) = text.strip_prefix('/') else {
        if !text.trim().is_empty() {
            hub.say(id, text);
        }
        return;
    };
    let (name, argument) = command.split_once(' ').unwrap_or((command, ""));
    match name {
        "nick" => {
            if let Err(why) = hub.rename(id, argument.trim()) {
                hub.tell(id, format!("* error: {why}"));
            }
        }
        "join" => {
            if let Err(why) = hub.move_to(id, argument.trim()) {
                hub.tell(id, format!("* error: {why}"));
            }
        }
        // EXERCISE /me, part 2: the command's arms, and `/help` naming it.
        // ANCHOR: me
        "me" if !argument.trim().is_empty() => hub.act(id, argument.trim()),
        "me" => hub.tell(id, "* error: usage: /me ACTION".to_string()),
        "who" => hub.tell(id, hub.who(id)),
        "rooms" => hub.tell(id, hub.rooms()),
        "help" => hub.tell(
            id,
            "* commands: /nick NAME, /me ACTION, /join ROOM, /who, /rooms, /help".to_string(),
        ),
        // ANCHOR_END: me
        // EXERCISE END
        _ => hub.tell(id, format!("* error: unknown command /{name}; try /help")),
    }
}
// ANCHOR_END: handle_text

// ANCHOR: serve
/// One client: the handshake, then its socket and its queue at once, then a
/// close that says why.
async fn serve(hub: Arc<Hub>, stream: TcpStream) -> Result<(), BoxError> {
    let (mut sink, mut frames) = handshake(stream).await?.split();
    let (queue_tx, mut queue) = mpsc::channel(QUEUE_LINES);
    let id = hub.join(queue_tx);
    // `None`: the client closed, or the connection is gone; nothing to say.
    let close: Option<(CloseCode, &str)> = loop {
        tokio::select! {
            // Our queue first: every answer to a frame is written before
            // the next frame is read, so a close frame never overtakes the
            // answers to what came before it, and a client that sends
            // without reading is slowed down by its own full socket.
            biased;
            line = queue.recv() => match line {
                Some(line) => match timeout(WRITE_TIMEOUT, sink.send(Message::text(line))).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => break None,
                    // Its socket stayed full: it stopped reading. Without
                    // this limit its task would wait here for ever.
                    Err(_) => break Some((CloseCode::Policy, "too slow: you stopped reading")),
                },
                // The hub dropped us: we stopped reading.
                None => break Some((CloseCode::Policy, "too slow: you stopped reading")),
            },
            frame = frames.next() => match frame {
                Some(Ok(Message::Text(text))) => handle_text(&hub, id, &text),
                Some(Ok(Message::Binary(_))) => {
                    hub.tell(id, "* error: binary frames are not supported; send text".to_string());
                }
                Some(Ok(Message::Close(_))) | None => break None,
                // Pings are answered by tungstenite; pongs just prove life.
                Some(Ok(_)) => {}
                Some(Err(WsError::Capacity(_))) => break Some((CloseCode::Size, "message too big")),
                Some(Err(WsError::Utf8(_))) => break Some((CloseCode::Invalid, "text that is not UTF-8")),
                Some(Err(_)) => break None,
            },
        }
    };
    hub.leave(id);
    let goodbye = async {
        let Some((code, reason)) = close else {
            // Sends tungstenite's answer to the client's close frame.
            return sink.close().await;
        };
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        sink.send(Message::Close(Some(frame))).await?;
        // The closing handshake: read on until the client's close frame.
        while let Some(Ok(frame)) = frames.next().await {
            if frame.is_close() {
                break;
            }
        }
        Ok(())
    };
    let _ = timeout(CLOSE_TIMEOUT, goodbye).await;
    Ok(())
}
// ANCHOR_END: serve

// ANCHOR: handshake
/// Reads the upgrade request, answers 101, and hands the stream to
/// tungstenite.
async fn handshake(mut stream: TcpStream) -> Result<WebSocketStream<TcpStream>, BoxError> {
    let mut head = Vec::new();
    let head_end = loop {
        if let Some(end) = head.windows(4).position(|four| four == b"\r\n\r\n") {
            break end + 4;
        }
        if head.len() > MAX_HEAD_BYTES {
            return Err("upgrade request over 8 KiB".into());
        }
        let mut chunk = [0; 1024];
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Err("closed in the middle of the upgrade request".into());
        }
        head.extend_from_slice(&chunk[..read]);
    };
    let request = String::from_utf8_lossy(&head[..head_end]);
    let key = request.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("sec-websocket-key")
            .then(|| value.trim().to_string())
    });
    let Some(key) = key else {
        let refusal = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        stream.write_all(refusal.as_bytes()).await?;
        return Err("not a WebSocket upgrade".into());
    };
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(&key)
    );
    stream.write_all(response.as_bytes()).await?;
    // Bytes read past the blank line are already WebSocket frames.
    let read_ahead = head[head_end..].to_vec();
    let config = Some(websocket_config());
    Ok(WebSocketStream::from_partially_read(stream, read_ahead, Role::Server, config).await)
}

/// `base64(SHA-1(key + GUID))`: proof that we read this client's key.
fn accept_key(key: &str) -> String {
    let mut sha1 = Sha1::new();
    sha1.update(key.as_bytes());
    sha1.update(WEBSOCKET_GUID.as_bytes());
    BASE64.encode(sha1.finalize())
}
// ANCHOR_END: handshake
