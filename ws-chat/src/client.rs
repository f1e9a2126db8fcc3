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
//! the whole point of a WebSocket. What a frame does is decided outside the
//! `select!`, in `Client::on_frame`, which tests call directly. It talks to
//! `Rooms` (`chat_rooms.rs`) and does not know whether the rooms live in this
//! process or in Redis; with Redis, a step waits at most `REDIS_WAIT`, and
//! one that fails is an `* error:` line to this client. Every write
//! has a deadline (`WRITE_TIMEOUT`): a client that stops reading fills its
//! socket's buffers, and without one its task would wait in that write for
//! ever, holding its connection slot. A write also stops as soon as the
//! registry drops the client (`unless_dropped`), and the close frame to a
//! client that stopped reading gets only `SLOW_CLOSE_TIMEOUT`: its slot is
//! free a second after the drop. Every way the connection can end is
//! one `End` (`end.rs`), with its close code and its log line.

use std::collections::VecDeque;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{FutureExt, SinkExt, StreamExt};
use http_raw::{Stream, Upgraded};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::{Bytes, Error as WsError, Message};
use tracing::{debug, info, warn};

use crate::chat_rooms::Rooms;
use crate::end::{End, end_for};
use crate::limits::{CLOSE_TIMEOUT, ClientSettings, SLOW_CLOSE_TIMEOUT, websocket_config};
use crate::outbox::{self, Line};
use crate::protocol::{self, Command, Input};
use crate::rate_limit::{RateLimit, Verdict};
use crate::rooms::{ClientId, LOBBY};

// Plain TCP for ws://, TLS for wss://: the chat cannot tell them apart.
type Sink = SplitSink<WebSocketStream<Stream>, Message>;
type Frames = SplitStream<WebSocketStream<Stream>>;

// ANCHOR: run_client
/// Runs one client from the moment the handshake handed its connection over.
pub async fn run_client(upgraded: Upgraded, registry: Arc<Rooms>, settings: ClientSettings) {
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
    let (queue_tx, mut queue) = outbox::channel(settings.queue_lines);
    let (id, nick) = match registry.join_new(queue_tx).await {
        Ok(joined) => joined,
        Err(why) => {
            // Rooms shared through Redis, and Redis away: say so, and close.
            let _ = sink.feed(Message::text(protocol::error(&why))).await;
            let end = End::Unavailable(why);
            let close_sent = close(&mut sink, &mut frames, &end).await;
            warn!(%peer, reason = %end, close_sent, "chat client turned away");
            return;
        }
    };
    info!(%peer, %nick, room = %LOBBY, "chat client connected");
    let mut client = Client::new(id, registry, settings.messages_per_second);

    let mut ping =
        tokio::time::interval_at(Instant::now() + settings.ping_every, settings.ping_every);
    let mut last_heard = Instant::now();
    let stopped = stopping.cancelled();
    tokio::pin!(stopped);

    let end = loop {
        tokio::select! {
            biased;
            _ = &mut stopped => break End::Shutdown,
            batch = queue.next_batch() => {
                // The registry closes the queue of a client it drops for
                // falling behind (the lines still in it are not sent).
                let Some(batch) = batch else {
                    break End::TooSlow;
                };
                let written = pin!(within(settings.write_timeout, send_batch(&mut sink, batch)));
                if let Err(end) = unless_dropped(&queue, written).await {
                    break end;
                }
            }
            frame = frames.next() => {
                last_heard = Instant::now();
                if let Some(end) = client.on_frame(frame).await {
                    break end;
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() >= settings.idle_limit {
                    break End::Idle;
                }
                debug!("frame out: ping");
                let ping = pin!(within(settings.write_timeout, sink.send(Message::Ping(Bytes::new()))));
                if let Err(end) = unless_dropped(&queue, ping).await {
                    break end;
                }
            }
        }
    };

    let (nick, room) = client
        .registry
        .describe(id)
        .unwrap_or((nick, String::from("-")));
    client.registry.leave(id).await;
    let close_sent = close(&mut sink, &mut frames, &end).await;
    // Returning drops the socket (the TCP connection closes) and, in
    // http-raw's connection task, this connection's slot.
    if end.is_clients_fault() {
        warn!(%peer, %nick, %room, reason = %end, close_sent, "chat client disconnected");
    } else {
        info!(%peer, %nick, %room, reason = %end, close_sent, "chat client disconnected");
    }
}
// ANCHOR_END: run_client

/// One client as its frames see it: who it is, where it talks, how fast it
/// may talk.
struct Client {
    id: ClientId,
    registry: Arc<Rooms>,
    /// `None` when the rate limit is off.
    rate_limit: Option<RateLimit>,
    /// The rate, for the line that refuses a message.
    per_second: u32,
}

impl Client {
    fn new(id: ClientId, registry: Arc<Rooms>, per_second: u32) -> Client {
        Client {
            id,
            registry,
            rate_limit: (per_second > 0).then(|| RateLimit::new(per_second)),
            per_second,
        }
    }

    // ANCHOR: on_frame
    /// What one read from the socket does; `Some(end)` when it ends the
    /// connection.
    async fn on_frame(&mut self, frame: Option<Result<Message, WsError>>) -> Option<End> {
        let message = match frame {
            Some(Ok(message)) => message,
            Some(Err(error)) => return Some(end_for(error)),
            None => return Some(End::Vanished),
        };
        // Every frame that makes the server answer costs a token: a line
        // (text), an error line (binary), a pong (ping; tungstenite queues
        // it as it reads). Counting text alone let a flood of binary frames
        // have 1,000 error lines written back and never be cut off.
        if matches!(
            message,
            Message::Text(_) | Message::Binary(_) | Message::Ping(_)
        ) {
            let verdict = self
                .rate_limit
                .as_mut()
                .map_or(Verdict::Allow, RateLimit::check);
            match verdict {
                Verdict::Allow => {}
                Verdict::Refuse => {
                    debug!(
                        kind = message_kind(&message),
                        "frame in: refused, over the rate"
                    );
                    let refusal = protocol::slow_down(self.per_second);
                    self.registry.tell(self.id, refusal);
                    return None;
                }
                Verdict::RefuseQuietly => return None,
                Verdict::Abuse => return Some(End::Flooding),
            }
        }
        match message {
            Message::Text(text) => {
                debug!(bytes = text.len(), "frame in: text");
                self.on_text(text.as_str()).await;
            }
            Message::Binary(data) => {
                debug!(bytes = data.len(), "frame in: binary");
                let refusal = protocol::error("binary frames are not supported; send text");
                self.registry.tell(self.id, refusal);
            }
            Message::Close(frame) => return Some(End::ClientClosed(frame.map(|frame| frame.code))),
            // tungstenite answers pings itself (one pong waits at most: a
            // newer ping replaces it); a pong just proves life.
            other => debug!(kind = message_kind(&other), "frame in"),
        }
        None
    }
    // ANCHOR_END: on_frame

    /// What a chat line or a command does. With rooms shared through
    /// Redis, each step waits for Redis (at most `REDIS_WAIT` per step), and
    /// a step that fails is an `* error:` line to this client alone.
    async fn on_text(&self, text: &str) {
        let (registry, id) = (&self.registry, self.id);
        // `Ok(Some(answer))`: a line for this client alone.
        let done = match protocol::parse_input(text) {
            Input::Say(line) => registry.say(id, &line).await.map(|()| None),
            Input::Command(Command::Nick(nick)) => registry.rename(id, &nick).await.map(|()| None),
            Input::Command(Command::Join(room)) => {
                registry.join_room(id, &room).await.map(|()| None)
            }
            Input::Command(Command::Who) => registry.who(id).await.map(Some),
            Input::Command(Command::Rooms) => registry.rooms().await.map(Some),
            Input::Command(Command::Help) => Ok(Some(protocol::help())),
            Input::Invalid(why) => Err(why),
            Input::Nothing => Ok(None),
        };
        match done {
            Ok(Some(answer)) => registry.tell(id, answer),
            Ok(None) => {}
            Err(why) => registry.tell(id, protocol::error(&why)),
        }
    }
}

/// Writes a batch of lines, then flushes once: a busy room costs one system
/// call per batch, not per line. The batch's storage is freed once it is
/// written, so an idle client holds none.
async fn send_batch(sink: &mut Sink, batch: VecDeque<Line>) -> Result<(), WsError> {
    for line in batch {
        debug!(bytes = line.len(), "frame out: text");
        sink.feed(Message::Text(line)).await?;
    }
    sink.flush().await
}

/// Runs one write to the client within `limit`: a write that takes longer
/// means the client stopped reading. (A plain function returning the
/// timeout's future, not an `async fn`: an `async fn` would hold `write`
/// twice, as its argument and inside the timeout, and every client's task
/// would be that much bigger.)
fn within<T>(
    limit: Duration,
    write: impl Future<Output = Result<T, WsError>>,
) -> impl Future<Output = Result<T, End>> {
    tokio::time::timeout(limit, write).map(move |written| match written {
        Ok(Ok(written)) => Ok(written),
        Ok(Err(error)) => Err(End::Failed(error.to_string())),
        Err(_) => Err(End::Stalled(limit)),
    })
}

/// Waits for `write`, unless the registry drops this client first. A client
/// that stopped reading is dropped when its queue fills, which happens while
/// its task waits in a write it will never finish; the task holds the
/// connection slot until it ends, and without this it noticed the drop only
/// when the write timed out (round 3 saw a slot held for 12 s). The write is
/// pinned by the caller and borrowed here, so this future holds no copy of it.
async fn unless_dropped<T>(
    queue: &outbox::Receiver,
    write: Pin<&mut impl Future<Output = Result<T, End>>>,
) -> Result<T, End> {
    tokio::select! {
        biased;
        written = write => written,
        () = queue.closed() => Err(End::TooSlow),
    }
}

/// Says goodbye properly: a last line on shutdown, our close frame with its
/// code, then we keep reading until the client's close frame arrives (the
/// closing handshake, RFC 6455 section 7), all within `CLOSE_TIMEOUT`
/// (`SLOW_CLOSE_TIMEOUT` for a client that stopped reading). Returns whether
/// our close frame (or our reply to the client's) was written; a client that
/// stopped reading may not take it.
async fn close(sink: &mut Sink, frames: &mut Frames, end: &End) -> bool {
    let patience = if end.stopped_reading() {
        SLOW_CLOSE_TIMEOUT
    } else {
        CLOSE_TIMEOUT
    };
    let deadline = Instant::now() + patience;
    let goodbye = async {
        if matches!(end, End::Shutdown) {
            sink.feed(Message::text(protocol::shutting_down())).await?;
        }
        match end.close_frame() {
            Some(frame) => sink.send(Message::Close(Some(frame))).await,
            // The client closed: tungstenite has queued its reply; send it.
            None => sink.close().await,
        }
    };
    let sent = match tokio::time::timeout_at(deadline, goodbye).await {
        Ok(Ok(())) => true,
        Ok(Err(error)) => {
            debug!(%error, "could not write the close frame");
            false
        }
        Err(_) => {
            debug!("the client took no close frame within {patience:?}");
            false
        }
    };
    if sent {
        let reply = async {
            while let Some(Ok(frame)) = frames.next().await {
                if matches!(frame, Message::Close(_)) {
                    break;
                }
            }
        };
        if tokio::time::timeout_at(deadline, reply).await.is_err() {
            debug!("the client did not finish the closing handshake");
        }
    }
    sent
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rooms::RoomRegistry;
    use tokio_tungstenite::tungstenite::error::CapacityError;
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

    /// A client in the lobby, with the queue it would be sent lines on
    /// (its welcome already taken).
    async fn client(per_second: u32) -> (Client, outbox::Receiver) {
        let registry = Arc::new(Rooms::Local(RoomRegistry::new()));
        let (queue_tx, mut queue) = outbox::channel(16);
        let (id, _) = registry
            .join_new(queue_tx)
            .await
            .expect("local rooms admit");
        assert!(lines(&mut queue).await[0].starts_with("* welcome, guest-1!"));
        (Client::new(id, registry, per_second), queue)
    }

    /// The lines queued so far.
    async fn lines(queue: &mut outbox::Receiver) -> Vec<String> {
        let batch = tokio::time::timeout(Duration::from_secs(5), queue.next_batch()).await;
        let batch = batch
            .expect("lines were queued")
            .expect("the queue is open");
        batch.iter().map(|line| line.to_string()).collect()
    }

    #[tokio::test]
    async fn a_text_frame_is_said_to_the_room() {
        let (mut client, mut queue) = client(20).await;
        assert!(
            client
                .on_frame(Some(Ok(Message::text("hi"))))
                .await
                .is_none()
        );
        assert_eq!(lines(&mut queue).await, ["<guest-1> hi"]);
    }

    #[tokio::test(start_paused = true)]
    async fn past_the_burst_a_message_is_refused_naming_the_rate() {
        let (mut client, mut queue) = client(1).await;
        for _ in 0..3 {
            assert!(
                client
                    .on_frame(Some(Ok(Message::text("hi"))))
                    .await
                    .is_none()
            );
        }
        assert_eq!(
            lines(&mut queue).await,
            [
                "<guest-1> hi",
                "<guest-1> hi",
                "* error: too many messages; slow down (1 per second)"
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_run_of_refusals_gets_one_error_line_and_then_the_connection_ends() {
        use crate::rate_limit::ABUSE_LIMIT;
        for frame in [
            Message::text("hi"),
            Message::Binary(Bytes::from_static(b"\x00")),
            Message::Ping(Bytes::new()),
        ] {
            let (mut client, mut queue) = client(1).await;
            // The burst (two at 1 a second), then refusals until the
            // hundredth in a row, which ends the connection.
            let mut ended = None;
            for sent in 1..=2 + ABUSE_LIMIT {
                if let Some(end) = client.on_frame(Some(Ok(frame.clone()))).await {
                    ended = Some((sent, end));
                    break;
                }
            }
            let kind = message_kind(&frame);
            assert!(
                matches!(ended, Some((sent, End::Flooding)) if sent == 2 + ABUSE_LIMIT),
                "{kind}: {ended:?}"
            );
            let refusals = lines(&mut queue)
                .await
                .into_iter()
                .filter(|line| line.starts_with("* error: too many messages"))
                .count();
            assert_eq!(refusals, 1, "{kind}: one error line for the whole run");
        }
    }

    #[tokio::test]
    async fn a_binary_frame_gets_an_error_line() {
        let (mut client, mut queue) = client(20).await;
        let frame = Message::Binary(Bytes::from_static(b"\x00"));
        assert!(client.on_frame(Some(Ok(frame))).await.is_none());
        assert!(lines(&mut queue).await[0].starts_with("* error: binary frames"));
    }

    #[tokio::test]
    async fn how_a_read_ends_the_connection() {
        let (mut client, _queue) = client(20).await;
        let close = Message::Close(Some(CloseFrame {
            code: CloseCode::Away,
            reason: "bye".into(),
        }));
        assert!(matches!(
            client.on_frame(Some(Ok(close))).await,
            Some(End::ClientClosed(Some(CloseCode::Away)))
        ));
        assert!(matches!(client.on_frame(None).await, Some(End::Vanished)));
        let too_long = |size| {
            Some(Err(WsError::Capacity(CapacityError::MessageTooLong {
                size,
                max_size: 16 * 1024,
            })))
        };
        assert!(matches!(
            client.on_frame(too_long(20_000)).await,
            Some(End::TooBig)
        ));
        assert!(matches!(
            client.on_frame(too_long(1 << 63)).await,
            Some(End::BadFrame(CloseCode::Protocol, _))
        ));
        let not_utf8 = Some(Err(WsError::Utf8("bad".into())));
        assert!(matches!(
            client.on_frame(not_utf8).await,
            Some(End::BadFrame(CloseCode::Invalid, _))
        ));
    }
}
