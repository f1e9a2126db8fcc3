//! One FTP control connection, from `220` to `221` (or a timeout).
//!
//! What to notice: this is SMTP's conversation loop again (`smtp/connection.rs`),
//! with the same line reader and reply writer; the difference is inside
//! the session, where a command may open a second connection. While a
//! transfer runs, the control connection is not read: commands the client
//! sends meanwhile wait in the socket buffer until the `226`.
//!
//! Shutdown stops at a safe point: between commands, `421` and close; a
//! transfer in progress gets the grace period to finish.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use tcp_echo::accept_loop::Connection;
use tokio::io::AsyncWriteExt;
use tokio::time::timeout;
use tracing::debug;

use crate::ftp::limits::MAX_COMMAND_LINE;
use crate::ftp::session::{Flow, FtpSettings, Session, Transfers};
use crate::line_reader::{LineError, LineReader};
use crate::reply::{Reply, ReplyWriter};

/// How a control connection ended.
#[derive(Debug)]
pub enum End {
    /// The client said `QUIT`.
    Quit,
    /// The client closed without `QUIT`.
    ClientClosed,
    /// The client closed in the middle of a command line.
    Truncated,
    /// No command in time.
    Timeout,
    /// The server is shutting down.
    ShuttingDown,
    /// Reading or writing failed.
    Failed(io::Error),
}

/// A connection's summary: its transfers and how it ended.
#[derive(Debug)]
pub struct FtpSummary {
    /// What moved on its data connections.
    pub transfers: Transfers,
    /// How it ended.
    pub end: End,
}

impl fmt::Display for FtpSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Transfers {
            completed,
            sent,
            received,
        } = self.transfers;
        write!(
            f,
            "transfers: {completed} ({sent} bytes sent, {received} received); "
        )?;
        match &self.end {
            End::Quit => f.write_str("client said QUIT"),
            End::ClientClosed => f.write_str("client closed the connection"),
            End::Truncated => f.write_str("client closed in the middle of a line"),
            End::Timeout => f.write_str("timed out"),
            End::ShuttingDown => f.write_str("closed: the server is shutting down"),
            End::Failed(error) => write!(f, "failed: {error}"),
        }
    }
}

// ANCHOR: serve_connection
/// Serves one control connection until `QUIT`, a close, a timeout or shutdown.
pub async fn serve_connection(
    connection: Connection,
    settings: Arc<FtpSettings>,
    idle_timeout: Duration,
) -> FtpSummary {
    let Connection {
        mut stream,
        peer,
        stopping,
        ..
    } = connection;
    let local_ip = match stream.local_addr() {
        Ok(local) => local.ip(),
        Err(error) => {
            return FtpSummary {
                transfers: Transfers::default(),
                end: End::Failed(error),
            };
        }
    };
    let mut session = Session::new(settings, local_ip, peer.ip());
    let (reader, writer) = stream.split();
    let mut lines = LineReader::new(reader);
    let mut replies = ReplyWriter::new(writer);
    replies.push(&session.greeting());

    let end = loop {
        if !lines.has_buffered_input() {
            match timeout(idle_timeout, replies.flush()).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => break End::Failed(error),
                Err(_) => break End::Timeout,
            }
        }
        let read = tokio::select! {
            biased;
            _ = stopping.cancelled() => break End::ShuttingDown,
            read = timeout(idle_timeout, lines.read_line(MAX_COMMAND_LINE)) => read,
        };
        let line = match read {
            Err(_) => break End::Timeout,
            Ok(Ok(Some(line))) => line,
            Ok(Ok(None)) => break End::ClientClosed,
            Ok(Err(LineError::TooLong { limit })) => {
                replies.push(&Reply::new(
                    500,
                    format!("line too long: at most {limit} bytes with CRLF"),
                ));
                continue;
            }
            Ok(Err(LineError::Truncated)) => break End::Truncated,
            Ok(Err(LineError::Io(error))) => break End::Failed(error),
        };
        // A password is not for the logs; the rest is logged escaped
        // (`?`): a client's CR or LF must not start a log line of its own.
        let shown = if line.text.len() >= 4 && line.text[..4].eq_ignore_ascii_case(b"PASS") {
            "PASS ****".into()
        } else {
            String::from_utf8_lossy(line.text)
        };
        debug!(line = ?shown, "command");
        match session.handle(line.text, &mut replies).await {
            Ok(Flow::Continue) => {}
            Ok(Flow::Quit) => {
                let _ = timeout(idle_timeout, replies.flush()).await;
                break End::Quit;
            }
            Err(error) => break End::Failed(error),
        }
    };
    let farewell = match &end {
        End::Timeout => Some(Reply::new(421, "timed out; closing")),
        End::ShuttingDown => Some(Reply::new(421, "server shutting down; try again later")),
        _ => None,
    };
    if let Some(farewell) = farewell {
        replies.push(&farewell);
        let _ = timeout(Duration::from_secs(1), replies.flush()).await;
    }
    let _ = replies.get_mut().shutdown().await;
    FtpSummary {
        transfers: session.transfers,
        end,
    }
}
// ANCHOR_END: serve_connection
