//! Every limit a chat client lives within: its value, and why.
//!
//! What to notice: each one bounds something a client could otherwise make
//! the server spend without end: memory (queue, frame, read buffer), a task
//! (idle and write timeouts), or everyone else's attention (the rate). The
//! `ClientSettings` a server runs with start from these defaults; tests
//! shorten the timeouts instead of waiting for the real ones.

use std::time::Duration;

use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::rate_limit;

/// 20 s between pings. Home routers and mobile networks forget an idle TCP
/// connection after 30 s to a few minutes; a ping every 20 s keeps the path
/// open, and gives an idle client a frame to answer.
pub const PING_EVERY: Duration = Duration::from_secs(20);

/// 60 s of silence (no frame, not even a pong) and a client is gone: three
/// pings unanswered. A phone that lost its network sends no close frame, and
/// without this its task and its slot would wait for ever.
pub const IDLE_LIMIT: Duration = Duration::from_secs(60);

/// 10 s for one write (a batch of lines, or a ping) to reach the kernel.
/// Without a deadline, a client that stops reading parks its task in a
/// write for ever once its socket buffers are full: it never sees that the
/// registry dropped it, and keeps its connection slot. A client that can take
/// nothing for 10 s is not reading; a slow phone network still moves bytes.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long we wait to write our close frame and for the client's half of
/// the closing handshake. A client closed for not reading may never take the
/// close frame; after this its TCP connection is simply closed.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// `CLOSE_TIMEOUT` for a client dropped for not reading (its queue full, or
/// a write stuck): 1 s. Its socket buffers are full, so our close frame
/// waits behind everything it has not read, and it is not reading: the
/// wait would only hold its connection slot. So its slot is free again
/// within about a second of the drop (the lesson promises 2 s).
pub const SLOW_CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// 1024 lines: more than a room of 25 people can send in one burst (each may
/// send 40 at once). A client further behind than that is not reading, and
/// is dropped. The lines are shared with the other members' queues, so a
/// full queue costs about 32 KiB; an empty one costs nothing (`outbox.rs`).
pub const QUEUE_LINES: usize = 1024;

/// The hard cap on one message (and one frame), enforced by tungstenite
/// while reading: beyond it the connection is closed with 1009. Messages
/// between the chat's 4096 bytes and this get a polite error line instead.
pub const MAX_FRAME_BYTES: usize = 16 * 1024;

/// 512-byte read buffer. tungstenite keeps its read buffer for the whole
/// life of a connection, zero-filled, idle or not: its default of 128 KiB
/// would make 10,000 idle clients hold 1.3 GB, and even 4 KiB was half of
/// what an idle client cost. 512 bytes takes a typical chat line in one read;
/// a longer frame is read in several, at most 32 for the 16 KiB cap, which
/// the rate limit makes rare. Measured with 10,000 idle clients: 4 KiB to
/// 512 bytes saved 3.5 KiB per client.
pub const READ_BUFFER_BYTES: usize = 512;

/// 256 KiB of frames written but not yet taken by the kernel. Lines wait in
/// the client's queue, not here; this only bounds one batch of them.
pub const MAX_WRITE_BUFFER_BYTES: usize = 256 * 1024;

/// How a client is looked after. `Default` is what the server runs with.
#[derive(Debug, Clone, Copy)]
pub struct ClientSettings {
    /// How often we ping (`PING_EVERY`).
    pub ping_every: Duration,
    /// How long a client may stay silent (`IDLE_LIMIT`).
    pub idle_limit: Duration,
    /// How long one write to the client may take (`WRITE_TIMEOUT`).
    pub write_timeout: Duration,
    /// Lines that may wait for a client before it counts as too slow
    /// (`QUEUE_LINES`).
    pub queue_lines: usize,
    /// Messages a client may send per second, with bursts of twice that
    /// (`rate_limit::PER_SECOND`; `RATE_LIMIT`). 0 turns the limit off, for
    /// a benchmark that floods the room on purpose.
    pub messages_per_second: u32,
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            ping_every: PING_EVERY,
            idle_limit: IDLE_LIMIT,
            write_timeout: WRITE_TIMEOUT,
            queue_lines: QUEUE_LINES,
            messages_per_second: rate_limit::PER_SECOND,
        }
    }
}

/// tungstenite's settings for every client.
pub fn websocket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES))
        .max_write_buffer_size(MAX_WRITE_BUFFER_BYTES)
}
