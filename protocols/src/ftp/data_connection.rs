//! The data connection: a second TCP connection for every listing and every file.
//!
//! What to notice:
//! - **Why a second connection.** The control connection carries commands
//!   and replies, lines of text. A file is sent on a connection of its own,
//!   opened for it and closed after it: in FTP's default "stream mode" the
//!   *end of the file is the close* of the data connection (RFC 959 section
//!   3.4.1). There is no length up front. A transfer cut short by a network
//!   failure looks, from the outside, like a shorter file; HTTP's
//!   `Content-Length` was the fix.
//! - **Passive mode** (`PASV`, `EPSV`): the server opens a new port and tells
//!   the client its number; the client connects to it. (Active mode, `PORT`,
//!   had the *server* connect back to the client, which no firewall or home
//!   router allows today; this server does not implement it.) Each passive
//!   port is one more hole a firewall must know to open: it must read the
//!   control connection to learn the port numbers. That is why FTP fights
//!   firewalls and NAT, and the web chose one connection per request.
//! - **Only the client that asked may connect.** The port is open to the
//!   network for a moment; anyone who guesses it could take the file meant
//!   for someone else ("port stealing"). A connection from another address is
//!   closed at once, and the wait goes on.
//! - **Its own deadlines**: the client must connect within
//!   `DATA_ACCEPT_TIMEOUT`, and every read and write of the transfer must
//!   make progress within `DATA_STALL_TIMEOUT`. An upload stops at
//!   `MAX_UPLOAD_BYTES`.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, timeout, timeout_at};
use tracing::{debug, warn};

use crate::ftp::limits::{
    DATA_ACCEPT_TIMEOUT, DATA_STALL_TIMEOUT, MAX_UPLOAD_BYTES, TRANSFER_CHUNK,
};
use crate::reply::Reply;

/// The bounds of every data connection.
#[derive(Debug, Clone, Copy)]
pub struct DataLimits {
    /// How long the client has to connect after `150`.
    pub accept_timeout: Duration,
    /// How long one read or write of a transfer may wait.
    pub stall_timeout: Duration,
    /// The largest upload.
    pub max_upload_bytes: u64,
}

impl Default for DataLimits {
    fn default() -> DataLimits {
        DataLimits {
            accept_timeout: DATA_ACCEPT_TIMEOUT,
            stall_timeout: DATA_STALL_TIMEOUT,
            max_upload_bytes: MAX_UPLOAD_BYTES,
        }
    }
}

/// Why a transfer did not complete. Each maps to one reply.
#[derive(Debug)]
pub enum DataError {
    /// The client never connected: `425`.
    NotOpened,
    /// The client stopped reading or sending for too long: `426`.
    Stalled,
    /// The upload passed the limit: `552`.
    TooBig {
        /// The limit.
        max_bytes: u64,
    },
    /// The data connection failed (reset, say): `426`.
    Connection(io::Error),
    /// Reading or writing the file failed: `451`.
    File(io::Error),
}

impl DataError {
    /// The reply that ends the transfer.
    pub fn reply(&self) -> Reply {
        match self {
            DataError::NotOpened => Reply::new(
                425,
                "no data connection: connect to the port within the time allowed",
            ),
            DataError::Stalled => {
                Reply::new(426, "transfer aborted: no progress on the data connection")
            }
            DataError::TooBig { max_bytes } => Reply::new(
                552,
                format!(
                    "transfer aborted: exceeded storage allocation ({max_bytes} bytes); nothing stored"
                ),
            ),
            DataError::Connection(_) => {
                Reply::new(426, "transfer aborted: the data connection failed")
            }
            DataError::File(_) => Reply::new(
                451,
                "transfer aborted: local error reading or writing the file",
            ),
        }
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataError::NotOpened => f.write_str("the client never opened the data connection"),
            DataError::Stalled => f.write_str("the transfer stalled"),
            DataError::TooBig { max_bytes } => write!(f, "the upload passed {max_bytes} bytes"),
            DataError::Connection(error) => write!(f, "data connection: {error}"),
            DataError::File(error) => write!(f, "file: {error}"),
        }
    }
}

/// A port opened by `PASV` or `EPSV`, waiting for the client's connection.
#[derive(Debug)]
pub struct PassiveListener {
    listener: TcpListener,
    /// The control connection's client: the only address allowed in.
    client_ip: IpAddr,
}

// ANCHOR: passive
impl PassiveListener {
    /// Opens a port the OS picks on `local_ip`: the address the client
    /// reached the control connection on, so the same `HOST`, and an
    /// address the client can reach.
    pub async fn open(local_ip: IpAddr, client_ip: IpAddr) -> io::Result<PassiveListener> {
        let listener = TcpListener::bind(SocketAddr::new(local_ip, 0)).await?;
        Ok(PassiveListener {
            listener,
            client_ip,
        })
    }

    /// The address the client must connect to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Waits for the client's connection, at most `limits.accept_timeout`.
    /// Connections from any other address are closed. The port closes when
    /// this returns: one data connection per `PASV`.
    pub async fn accept(self, limits: DataLimits) -> Result<DataConnection, DataError> {
        let deadline = Instant::now() + limits.accept_timeout;
        loop {
            let (stream, peer) = match timeout_at(deadline, self.listener.accept()).await {
                Err(_) => return Err(DataError::NotOpened),
                Ok(Err(error)) => return Err(DataError::Connection(error)),
                Ok(Ok(accepted)) => accepted,
            };
            if peer.ip() == self.client_ip {
                debug!(%peer, "data connection opened");
                return Ok(DataConnection {
                    stream,
                    stall_timeout: limits.stall_timeout,
                });
            }
            warn!(%peer, expected = %self.client_ip, "data connection from another address refused (port stealing?)");
        }
    }
}
// ANCHOR_END: passive

/// An open data connection, for one transfer.
#[derive(Debug)]
pub struct DataConnection {
    stream: TcpStream,
    stall_timeout: Duration,
}

impl DataConnection {
    // ANCHOR: send_from
    /// Sends everything `source` holds, then closes: the close is the
    /// client's end of file. Returns the bytes sent.
    pub async fn send_from(mut self, mut source: impl AsyncRead + Unpin) -> Result<u64, DataError> {
        let mut buf = vec![0u8; TRANSFER_CHUNK];
        let mut sent = 0u64;
        loop {
            let n = source.read(&mut buf).await.map_err(DataError::File)?;
            if n == 0 {
                break;
            }
            self.write(&buf[..n]).await?;
            sent += n as u64;
        }
        self.close().await?;
        Ok(sent)
    }
    // ANCHOR_END: send_from

    /// Sends `bytes` (a listing), then closes.
    pub async fn send_bytes(mut self, bytes: &[u8]) -> Result<(), DataError> {
        self.write(bytes).await?;
        self.close().await
    }

    // ANCHOR: receive_into
    /// Receives until the client closes (its end of file), writing into
    /// `sink`; stops with [`DataError::TooBig`] past `max_bytes`.
    pub async fn receive_into(
        mut self,
        mut sink: impl AsyncWrite + Unpin,
        max_bytes: u64,
    ) -> Result<u64, DataError> {
        let mut buf = vec![0u8; TRANSFER_CHUNK];
        let mut received = 0u64;
        loop {
            let n = match timeout(self.stall_timeout, self.stream.read(&mut buf)).await {
                Err(_) => return Err(DataError::Stalled),
                Ok(Err(error)) => return Err(DataError::Connection(error)),
                Ok(Ok(n)) => n,
            };
            if n == 0 {
                sink.flush().await.map_err(DataError::File)?;
                return Ok(received);
            }
            // Compare what we would hold with the limit.
            if received + n as u64 > max_bytes {
                return Err(DataError::TooBig { max_bytes });
            }
            sink.write_all(&buf[..n]).await.map_err(DataError::File)?;
            received += n as u64;
        }
    }
    // ANCHOR_END: receive_into

    /// One write, which must finish within the stall timeout.
    async fn write(&mut self, bytes: &[u8]) -> Result<(), DataError> {
        match timeout(self.stall_timeout, self.stream.write_all(bytes)).await {
            Err(_) => Err(DataError::Stalled),
            Ok(Err(error)) => Err(DataError::Connection(error)),
            Ok(Ok(())) => Ok(()),
        }
    }

    /// Closes our side: the client reads its end of file.
    async fn close(mut self) -> Result<(), DataError> {
        match timeout(self.stall_timeout, self.stream.shutdown()).await {
            Err(_) => Err(DataError::Stalled),
            Ok(Err(error)) => Err(DataError::Connection(error)),
            Ok(Ok(())) => Ok(()),
        }
    }
}
