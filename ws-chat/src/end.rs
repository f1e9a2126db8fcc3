//! Why a chat client's connection ended: one `End` for every way, with the
//! close code it sends and the line it logs.
//!
//! What to notice: the close codes come from RFC 6455 section 7.4.1, and
//! this is the only place that picks one. `end_for` sorts tungstenite's read
//! errors into expected ends (the client went away) and the client's faults
//! (a broken frame, text that is not UTF-8, a message too big).

use std::fmt;
use std::time::Duration;

use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::error::{CapacityError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// Why a client's connection ended.
#[derive(Debug)]
pub enum End {
    /// The client sent a close frame.
    ClientClosed(Option<CloseCode>),
    /// The TCP connection ended without a close frame.
    Vanished,
    /// Nothing heard for the idle limit.
    Idle,
    /// Its queue filled up: it is not reading.
    TooSlow,
    /// A write did not finish within the write timeout: it is not reading.
    Stalled(Duration),
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
    /// The rooms are shared through Redis, and Redis could not be reached
    /// to admit the client.
    Unavailable(String),
}

impl End {
    /// The close frame we send, if any.
    pub fn close_frame(&self) -> Option<CloseFrame> {
        let (code, reason) = match self {
            End::Idle => (CloseCode::Normal, "idle timeout"),
            End::TooSlow | End::Stalled(_) => (CloseCode::Policy, "too slow: you stopped reading"),
            End::Flooding => (CloseCode::Policy, "too many messages"),
            End::TooBig => (CloseCode::Size, "message too big"),
            End::BadFrame(code, _) => (*code, "invalid frame"),
            End::Shutdown => (CloseCode::Away, "server shutting down"),
            // 1013, Try Again Later (IANA's WebSocket close code registry).
            End::Unavailable(_) => (CloseCode::Again, "try again in a moment"),
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
            End::Stalled(limit) => write!(f, "too slow, a write took over {limit:?} (1008)"),
            End::Flooding => f.write_str("over the rate limit (1008)"),
            End::TooBig => f.write_str("message too big (1009)"),
            End::BadFrame(code, why) => write!(f, "bad frame ({}): {why}", u16::from(*code)),
            End::Shutdown => f.write_str("server shutting down (1001)"),
            End::Failed(error) => write!(f, "write failed: {error}"),
            End::Unavailable(why) => write!(f, "could not join (1013): {why}"),
        }
    }
}

impl End {
    /// Whether the client stopped reading: its close frame then gets a short
    /// deadline (`SLOW_CLOSE_TIMEOUT`).
    pub fn stopped_reading(&self) -> bool {
        matches!(self, End::TooSlow | End::Stalled(_))
    }

    /// Whether the client is to blame, and the end is worth a warning.
    pub fn is_clients_fault(&self) -> bool {
        matches!(
            self,
            End::TooSlow | End::Stalled(_) | End::Flooding | End::TooBig | End::BadFrame(..)
        )
    }
}

/// How a read error ends the connection.
///
/// Text that is not UTF-8 gets 1007 (RFC 6455 section 8.1). tungstenite
/// checks it piece by piece across the fragments of a message, so a bad first
/// fragment fails at once; but it reads each *frame* whole before looking at
/// its payload, so bad UTF-8 early in one frame is found when the frame has
/// arrived. That frame is at most `MAX_FRAME_BYTES`, so the wait costs at most
/// 16 KiB and the time the client takes to send it; checking inside a frame
/// would mean parsing frames ourselves.
pub fn end_for(error: WsError) -> End {
    match error {
        // A 64-bit length must have its most significant bit clear (RFC 6455
        // section 5.2): that is a broken frame (1002), not a big one (1009).
        // tungstenite reports every length over its cap as too long.
        WsError::Capacity(CapacityError::MessageTooLong { size, .. })
            if u64::try_from(size).is_ok_and(|size| size >> 63 == 1) =>
        {
            End::BadFrame(
                CloseCode::Protocol,
                "a frame length with its most significant bit set".to_string(),
            )
        }
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
