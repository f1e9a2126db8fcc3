//! One SMTP connection, from the `220` greeting to `221` (or a timeout).
//!
//! What to notice, in the order things happen:
//!
//! 1. **The server speaks first**: `220`, before the client sends a byte.
//!    (In HTTP the client speaks first.) A client that connects to the wrong
//!    port learns so at once.
//! 2. **Read a command line, carry it out, queue the reply.** The session
//!    (`session.rs`) decides; this loop only reads, writes and waits.
//!    Replies go out when no further command is waiting in the buffer, so a
//!    pipelining client's batch is answered in one write (RFC 2920).
//! 3. **`DATA`** switches the reading from commands to message lines
//!    (`data.rs`) until the lone dot; the message is stored (`mailbox.rs`)
//!    *before* the `250` that says so.
//! 4. **Every wait has a deadline**: the next command within the idle
//!    timeout, a whole message within [`DATA_TIMEOUT`](crate::smtp::limits::DATA_TIMEOUT).
//!    On expiry the client hears `421` and the connection closes.
//! 5. **Shutdown stops at a safe point**: between commands the client hears
//!    `421` and is closed; a message being received is read, stored and
//!    acknowledged first (within the grace period).

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tcp_echo::accept_loop::Connection;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::line_reader::{Ending, LineError, LineReader};
use crate::reply::{Reply, ReplyWriter};
use crate::smtp::data::{Received, read_message};
use crate::smtp::limits::{MAX_COMMAND_LINE, MAX_ERRORS};
use crate::smtp::mailbox::{Mailbox, Sender};
use crate::smtp::session::{Action, Envelope, Session, start_data};

/// What a connection needs besides its socket.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// Where messages are stored.
    pub mailbox: Arc<Mailbox>,
    /// The largest message, in bytes.
    pub max_message_bytes: usize,
    /// The longest wait for the next command.
    pub idle_timeout: Duration,
    /// The longest a whole message may take to arrive.
    pub data_timeout: Duration,
}

/// How a connection ended, for its "closed" log line.
#[derive(Debug)]
pub enum End {
    /// The client said `QUIT`.
    Quit,
    /// The client closed the connection without `QUIT`.
    ClientClosed,
    /// The client closed in the middle of a line or a message.
    Truncated,
    /// No command (or no whole message) in time.
    Timeout,
    /// Too many failed commands.
    TooManyErrors,
    /// The server is shutting down.
    ShuttingDown,
    /// Reading or writing failed.
    Failed(io::Error),
}

/// A connection's summary: its messages and how it ended.
#[derive(Debug)]
pub struct SmtpSummary {
    /// Messages stored.
    pub messages: u64,
    /// How it ended.
    pub end: End,
}

impl fmt::Display for SmtpSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "messages stored: {}; ", self.messages)?;
        match &self.end {
            End::Quit => f.write_str("client said QUIT"),
            End::ClientClosed => f.write_str("client closed the connection"),
            End::Truncated => f.write_str("client closed in the middle of a line"),
            End::Timeout => f.write_str("timed out"),
            End::TooManyErrors => write!(f, "closed after {MAX_ERRORS} failed commands"),
            End::ShuttingDown => f.write_str("closed: the server is shutting down"),
            End::Failed(error) => write!(f, "failed: {error}"),
        }
    }
}

impl From<LineError> for End {
    fn from(error: LineError) -> End {
        match error {
            LineError::Io(error) => End::Failed(error),
            LineError::Truncated | LineError::TooLong { .. } => End::Truncated,
        }
    }
}

// ANCHOR: serve_connection
/// Serves one connection until `QUIT`, a close, a timeout or shutdown.
pub async fn serve_connection(connection: Connection, settings: SmtpSettings) -> SmtpSummary {
    let Connection {
        mut stream,
        peer,
        stopping,
        ..
    } = connection;
    let (reader, writer) = stream.split();
    let mut smtp = SmtpConnection {
        lines: LineReader::new(reader),
        replies: ReplyWriter::new(writer),
        session: Session::new(settings.max_message_bytes),
        settings,
        peer,
        stopping,
        messages: 0,
        errors: 0,
    };
    smtp.replies.push(&Session::greeting());
    let end = smtp.converse().await;
    // Say why we close, when the client has not already said goodbye.
    let farewell = match &end {
        End::Timeout => Some(Reply::new(421, "4.4.2 timed out; closing")),
        End::TooManyErrors => Some(Reply::new(421, "4.7.0 too many errors; closing")),
        End::ShuttingDown => Some(Reply::new(
            421,
            "4.3.2 server shutting down; try again later",
        )),
        _ => None,
    };
    if let Some(farewell) = farewell {
        smtp.replies.push(&farewell);
        let _ = timeout(Duration::from_secs(1), smtp.replies.flush()).await;
    }
    let _ = smtp.replies.get_mut().shutdown().await;
    SmtpSummary {
        messages: smtp.messages,
        end,
    }
}
// ANCHOR_END: serve_connection

/// One connection's state.
struct SmtpConnection<R, W> {
    lines: LineReader<R>,
    replies: ReplyWriter<W>,
    session: Session,
    settings: SmtpSettings,
    peer: SocketAddr,
    /// Cancelled when the server shuts down; watched between commands.
    stopping: CancellationToken,
    /// Messages stored on this connection.
    messages: u64,
    /// Failed commands so far.
    errors: u32,
}

impl<R: AsyncRead + Unpin, W: AsyncWrite + Unpin> SmtpConnection<R, W> {
    /// The conversation: commands in, replies out, until it ends.
    async fn converse(&mut self) -> End {
        loop {
            if let Err(end) = self.flush_unless_more_is_waiting().await {
                return end;
            }
            let action = match self.next_command().await {
                Ok(action) => action,
                Err(end) => return end,
            };
            match action {
                Action::Reply(reply) => self.reply(reply),
                Action::Close(reply) => {
                    self.replies.push(&reply);
                    let _ = timeout(self.settings.idle_timeout, self.replies.flush()).await;
                    return End::Quit;
                }
                Action::ReadMessage(envelope) => {
                    // The message is not ours to drop at shutdown: finish it.
                    if let Err(end) = self.receive_message(envelope).await {
                        return end;
                    }
                }
            }
            if self.errors >= MAX_ERRORS {
                return End::TooManyErrors;
            }
        }
    }

    /// Sends the replies queued so far, unless the client has already sent
    /// more commands: then those are answered first, and all go together.
    async fn flush_unless_more_is_waiting(&mut self) -> Result<(), End> {
        if self.lines.has_buffered_input() {
            return Ok(());
        }
        match timeout(self.settings.idle_timeout, self.replies.flush()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(End::Failed(error)),
            Err(_) => Err(End::Timeout),
        }
    }

    /// Reads the next command within the idle timeout and carries it out.
    async fn next_command(&mut self) -> Result<Action, End> {
        let read = tokio::select! {
            // `biased`: a server shutting down takes no more commands, even
            // from a client that keeps sending them.
            biased;
            _ = self.stopping.cancelled() => return Err(End::ShuttingDown),
            read = timeout(self.settings.idle_timeout, self.lines.read_line(MAX_COMMAND_LINE)) => read,
        };
        let line = match read {
            Err(_) => return Err(End::Timeout),
            Ok(Ok(Some(line))) => line,
            Ok(Ok(None)) => return Err(End::ClientClosed),
            Ok(Err(LineError::TooLong { limit })) => {
                return Ok(Action::Reply(Reply::new(
                    500,
                    format!("5.5.2 line too long: commands are at most {limit} bytes with CRLF"),
                )));
            }
            Ok(Err(error)) => return Err(error.into()),
        };
        // Escaped (`?`): a client's control bytes must not forge a log line.
        debug!(line = ?String::from_utf8_lossy(line.text), "command");
        if line.ending == Ending::BareLf {
            // Likely a person at `nc` without -C: tell them how to fix it.
            return Ok(Action::Reply(Reply::new(
                500,
                "5.5.2 lines must end with CRLF (\\r\\n), not a bare LF; with nc, use nc -C",
            )));
        }
        Ok(self.session.handle(line.text))
    }

    /// Queues `reply`, counting failures.
    fn reply(&mut self, reply: Reply) {
        if reply.is_failure() {
            self.errors += 1;
        }
        self.replies.push(&reply);
    }

    /// `354`, then the message up to its dot, then stored and `250`, or
    /// refused with the reason.
    async fn receive_message(&mut self, envelope: Envelope) -> Result<(), End> {
        self.replies.push(&start_data());
        self.flush_unless_more_is_waiting().await?;
        let max_bytes = self.settings.max_message_bytes;
        let received = match timeout(
            self.settings.data_timeout,
            read_message(&mut self.lines, max_bytes),
        )
        .await
        {
            Err(_) => return Err(End::Timeout),
            Ok(Err(error)) => return Err(error.into()),
            Ok(Ok(received)) => received,
        };
        let message = match received {
            Received::Message(message) => message,
            Received::Refused(refusal) => {
                info!(from = %envelope.from, "message refused: {}", refusal.reply());
                self.reply(refusal.reply());
                return Ok(());
            }
        };
        let bytes = message.len();
        let sender = Sender {
            client_name: self.session.client_name().unwrap_or("unknown"),
            peer: self.peer,
        };
        let reply = match self
            .settings
            .mailbox
            .store(&envelope, sender, message)
            .await
        {
            Ok(stored) => {
                self.messages += 1;
                info!(
                    id = %stored.id,
                    from = %envelope.from,
                    to = %envelope.to.join(", "),
                    bytes,
                    path = %stored.path.display(),
                    "message stored"
                );
                Reply::new(250, format!("2.0.0 OK: queued as {}", stored.id))
            }
            Err(error) => {
                warn!(%error, dir = %self.settings.mailbox.dir().display(), "cannot store a message");
                // 4xx: the client keeps the message and tries again later.
                Reply::new(451, "4.3.0 cannot store the message now; try again later")
            }
        };
        self.reply(reply);
        Ok(())
    }
}
