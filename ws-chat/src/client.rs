//! One chat client: its WebSocket, from the handshake's hand-over to close.
//!
//! What to notice: a request/response handler runs once and returns. This
//! task runs for as long as the client stays, and waits on four things at
//! once in one `select!`:
//! - a frame from the client (a chat line, a command, a close);
//! - a line in its own outgoing queue, put there by the room registry when
//!   anyone in the room says something;
//! - the ping timer: every 20 s we ping, and a client we have not heard from
//!   in 60 s is gone (a phone that lost its network sends no close frame);
//! - the server shutting down.
//!
//! Reading and writing are separate halves of the same socket, so a client
//! can receive while it types, and the server can push lines at any time:
//! the whole point of a WebSocket. Every way the connection can end is one
//! `End`, with its close code and its log line.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use http_raw::{Stream, Upgraded};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Bytes, Error as WsError, Message};
use tracing::{debug, info, warn};

use crate::protocol::{self, Command, Input};
use crate::rate_limit::{RateLimit, Verdict};
use crate::rooms::{ClientId, LOBBY, Line, RoomRegistry};

/// How a client is looked after.
#[derive(Debug, Clone, Copy)]
pub struct ClientSettings {
    /// Ping this often (20 s).
    pub ping_every: Duration,
    /// Disconnect a client silent for this long (60 s): no frame, not even a pong.
    pub idle_limit: Duration,
    /// Lines that may wait for a client before it counts as too slow.
    pub queue_lines: usize,
    /// Messages a client may send per second, sustained (20; 0 turns the
    /// limit off, e.g. for a benchmark that floods the room on purpose)...
    pub messages_per_second: f64,
    /// ...and in a burst (40).
    pub message_burst: f64,
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            ping_every: Duration::from_secs(20),
            idle_limit: Duration::from_secs(60),
            queue_lines: QUEUE_LINES,
            messages_per_second: crate::rate_limit::PER_SECOND,
            message_burst: crate::rate_limit::BURST,
        }
    }
}

/// 1024 lines: more than a room of 25 people can send in one burst (each may
/// send 40 at once). A client further behind than that is not reading, and
/// is dropped. The lines are shared with the other members' queues, so a
/// full queue costs about 32 KiB.
pub const QUEUE_LINES: usize = 1024;

/// The hard cap on one message (and one frame), enforced by tungstenite
/// while reading: beyond it the connection is closed with 1009. Messages
/// between the chat's 4096 bytes and this get a polite error line instead.
pub const MAX_FRAME_BYTES: usize = 16 * 1024;

/// How long we wait for the client's half of the closing handshake.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// tungstenite's settings. Its default read buffer is 128 KiB per
/// connection, zero-filled before every read: 10,000 idle clients would
/// hold 1.3 GB. 4 KiB holds any chat line and keeps an idle client small.
fn websocket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES))
        .max_write_buffer_size(256 * 1024)
}

/// Why a client's connection ended.
#[derive(Debug)]
enum End {
    /// The client sent a close frame.
    ClientClosed(Option<CloseCode>),
    /// The TCP connection ended without a close frame.
    Vanished,
    /// Nothing heard for the idle limit.
    Idle,
    /// Its queue filled up: it is not reading.
    TooSlow,
    /// It kept sending faster than the rate limit allows.
    Flooding,
    /// A message over `MAX_FRAME_BYTES`.
    TooBig,
    /// A frame that breaks the protocol (e.g. text that is not UTF-8).
    BadFrame(CloseCode, String),
    /// The server is shutting down.
    Shutdown,
    /// Writing to the client failed.
    Failed(String),
}

impl End {
    /// The close frame we send, if any.
    fn close_frame(&self) -> Option<CloseFrame> {
        let (code, reason) = match self {
            End::Idle => (CloseCode::Normal, "idle timeout"),
            End::TooSlow => (CloseCode::Policy, "too slow: you stopped reading"),
            End::Flooding => (CloseCode::Policy, "too many messages"),
            End::TooBig => (CloseCode::Size, "message too big"),
            End::BadFrame(code, _) => (*code, "invalid frame"),
            End::Shutdown => (CloseCode::Away, "server shutting down"),
            End::ClientClosed(_) | End::Vanished | End::Failed(_) => return None,
        };
        Some(CloseFrame {
            code,
            reason: reason.into(),
        })
    }
}

impl fmt::Display for End {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            End::ClientClosed(Some(code)) => write!(f, "client closed ({})", u16::from(*code)),
            End::ClientClosed(None) => f.write_str("client closed"),
            End::Vanished => f.write_str("connection lost without a close frame"),
            End::Idle => f.write_str("idle timeout (1000)"),
            End::TooSlow => f.write_str("too slow, queue full (1008)"),
            End::Flooding => f.write_str("over the rate limit (1008)"),
            End::TooBig => f.write_str("message too big (1009)"),
            End::BadFrame(code, why) => write!(f, "bad frame ({}): {why}", u16::from(*code)),
            End::Shutdown => f.write_str("server shutting down (1001)"),
            End::Failed(error) => write!(f, "write failed: {error}"),
        }
    }
}

type Sink = SplitSink<WebSocketStream<Stream>, Message>;
type Frames = SplitStream<WebSocketStream<Stream>>;

// ANCHOR: run_client
/// Runs one client from the moment the handshake handed its connection over.
pub async fn run_client(upgraded: Upgraded, registry: Arc<RoomRegistry>, settings: ClientSettings) {
    let Upgraded {
        stream,
        read_ahead,
        peer,
        stopping,
    } = upgraded;
    // Bytes that arrived with the handshake already belong to the WebSocket.
    let socket = WebSocketStream::from_partially_read(
        stream,
        read_ahead.to_vec(),
        Role::Server,
        Some(websocket_config()),
    )
    .await;
    let (mut sink, mut frames) = socket.split();
    let (queue_tx, mut queue) = mpsc::channel::<Line>(settings.queue_lines);
    let (id, nick) = registry.join_new(queue_tx);
    info!(%peer, %nick, room = %LOBBY, "chat client connected");

    let mut rate_limit = (settings.messages_per_second > 0.0)
        .then(|| RateLimit::new(settings.messages_per_second, settings.message_burst));
    let mut ping =
        tokio::time::interval_at(Instant::now() + settings.ping_every, settings.ping_every);
    let mut last_heard = Instant::now();
    let stopped = stopping.cancelled();
    tokio::pin!(stopped);

    let end = loop {
        tokio::select! {
            biased;
            _ = &mut stopped => break End::Shutdown,
            line = queue.recv() => match line {
                Some(line) => {
                    if let Err(error) = send_queued(&mut sink, line, &mut queue).await {
                        break End::Failed(error.to_string());
                    }
                }
                // The registry dropped us: our queue was full.
                None => break End::TooSlow,
            },
            frame = frames.next() => {
                last_heard = Instant::now();
                match frame {
                    Some(Ok(Message::Text(text))) => {
                        debug!(bytes = text.len(), "frame in: text");
                        match rate_limit.as_mut().map_or(Verdict::Allow, RateLimit::check) {
                            Verdict::Allow => handle_text(&registry, id, text.as_str()),
                            Verdict::Refuse => registry.tell(id, protocol::error("too many messages; slow down (20 per second)")),
                            Verdict::Abuse => break End::Flooding,
                        }
                    }
                    Some(Ok(Message::Binary(data))) => {
                        debug!(bytes = data.len(), "frame in: binary");
                        registry.tell(id, protocol::error("binary frames are not supported; send text"));
                    }
                    Some(Ok(Message::Close(frame))) => break End::ClientClosed(frame.map(|frame| frame.code)),
                    // tungstenite answers pings itself; a pong just proves life.
                    Some(Ok(other)) => debug!(kind = ?message_kind(&other), "frame in"),
                    Some(Err(error)) => break end_for(error),
                    None => break End::Vanished,
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() >= settings.idle_limit {
                    break End::Idle;
                }
                debug!("frame out: ping");
                if let Err(error) = sink.send(Message::Ping(Bytes::new())).await {
                    break End::Failed(error.to_string());
                }
            }
        }
    };

    let (nick, room) = registry.describe(id).unwrap_or((nick, String::from("-")));
    registry.leave(id);
    close(&mut sink, &mut frames, &end).await;
    match end {
        End::TooSlow | End::Flooding | End::TooBig | End::BadFrame(..) => {
            warn!(%peer, %nick, %room, reason = %end, "chat client disconnected");
        }
        _ => info!(%peer, %nick, %room, reason = %end, "chat client disconnected"),
    }
}
// ANCHOR_END: run_client

// ANCHOR: handle_text
/// What a text frame does.
fn handle_text(registry: &RoomRegistry, id: ClientId, text: &str) {
    match protocol::parse_input(text) {
        Input::Say(line) => registry.say(id, &line),
        Input::Command(Command::Nick(nick)) => {
            if let Err(why) = registry.rename(id, &nick) {
                registry.tell(id, protocol::error(&why));
            }
        }
        Input::Command(Command::Join(room)) => {
            if let Err(why) = registry.join_room(id, &room) {
                registry.tell(id, protocol::error(&why));
            }
        }
        Input::Command(Command::Who) => registry.tell(id, registry.who(id)),
        Input::Command(Command::Rooms) => registry.tell(id, registry.rooms()),
        Input::Command(Command::Help) => registry.tell(id, protocol::help()),
        Input::Invalid(why) => registry.tell(id, protocol::error(&why)),
        Input::Nothing => {}
    }
}
// ANCHOR_END: handle_text

/// Writes `first` and whatever else is already queued, then flushes once:
/// a busy room costs one system call per batch, not per line.
async fn send_queued(
    sink: &mut Sink,
    first: Line,
    queue: &mut mpsc::Receiver<Line>,
) -> Result<(), WsError> {
    debug!(bytes = first.len(), "frame out: text");
    sink.feed(Message::Text(first)).await?;
    for _ in 0..256 {
        let Ok(line) = queue.try_recv() else {
            break;
        };
        debug!(bytes = line.len(), "frame out: text");
        sink.feed(Message::Text(line)).await?;
    }
    sink.flush().await
}

/// Says goodbye properly: a last line on shutdown, our close frame with its
/// code, then we keep reading until the client's close frame arrives (the
/// closing handshake, RFC 6455 section 7), within a time limit.
async fn close(sink: &mut Sink, frames: &mut Frames, end: &End) {
    let goodbye = async {
        if matches!(end, End::Shutdown) {
            sink.feed(Message::text(protocol::shutting_down())).await?;
        }
        match end.close_frame() {
            Some(frame) => sink.send(Message::Close(Some(frame))).await?,
            // The client closed: tungstenite has queued its reply; send it.
            None => sink.close().await?,
        }
        while let Some(Ok(frame)) = frames.next().await {
            if matches!(frame, Message::Close(_)) {
                break;
            }
        }
        Ok::<(), WsError>(())
    };
    if let Ok(Err(error)) = tokio::time::timeout(CLOSE_TIMEOUT, goodbye).await {
        debug!(%error, "closing handshake did not complete");
    }
}

/// How a read error ends the connection.
fn end_for(error: WsError) -> End {
    use tokio_tungstenite::tungstenite::error::ProtocolError;
    match error {
        WsError::Capacity(_) => End::TooBig,
        WsError::Utf8(_) => End::BadFrame(CloseCode::Invalid, "text that is not UTF-8".to_string()),
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake)
        | WsError::ConnectionClosed
        | WsError::AlreadyClosed
        | WsError::Io(_) => End::Vanished,
        WsError::Protocol(problem) => End::BadFrame(CloseCode::Protocol, problem.to_string()),
        other => End::Failed(other.to_string()),
    }
}

fn message_kind(message: &Message) -> &'static str {
    match message {
        Message::Text(_) => "text",
        Message::Binary(_) => "binary",
        Message::Ping(_) => "ping",
        Message::Pong(_) => "pong",
        Message::Close(_) => "close",
        Message::Frame(_) => "raw frame",
    }
}
