//! How an echo connection ended: the text of its "connection closed" log line.
//!
//! All three servers report the same way, so their logs can be compared line
//! by line.

use std::fmt;
use std::io;
use std::time::Duration;

/// What happened on one connection, for the "connection closed" log line.
#[derive(Debug)]
pub struct EchoSummary {
    /// Bytes received and sent back.
    pub echoed: u64,
    /// Why the connection ended.
    pub end: End,
}

/// Why an echo connection ended.
#[derive(Debug)]
pub enum End {
    /// The client half-closed (or closed); we finished and closed too.
    ClientClosed,
    /// Nothing moved for this long (`IDLE_TIMEOUT_SECS`).
    Idle(Duration),
    /// The connection failed, e.g. reset by the client.
    Failed(io::Error),
}

impl fmt::Display for EchoSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "echoed {} bytes, ", self.echoed)?;
        match &self.end {
            End::ClientClosed => write!(f, "client closed"),
            End::Idle(timeout) => write!(f, "idle for {}s", timeout.as_secs()),
            End::Failed(error) => write!(f, "{error}"),
        }
    }
}
