//! Every limit the FTP server enforces, each with its reason and its reply.
//!
//! What to notice: FTP has two kinds of connection, and each gets its own
//! bounds. The control connection is bounded like SMTP's (line length, idle
//! time); each data connection has a deadline to be opened and a deadline
//! for every piece of the transfer, and an upload a size limit, so a client
//! that opens a passive port and never connects, or stops reading halfway,
//! holds nothing for long.

use std::time::Duration;

/// Longest command line, CRLF included. RFC 959 sets none; 4096 bytes fits
/// the longest path Linux allows (`PATH_MAX`) after `RETR `. Longer:
/// `500 line too long`, and the session goes on.
pub const MAX_COMMAND_LINE: usize = 4096;

/// How long the server waits for the next command by default (vsftpd's
/// `idle_session_timeout` is also 300 s). Then `421` and the connection
/// closes.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// After `150`, the client must open the data connection within this long,
/// or hear `425` (vsftpd waits 60 s; a client that asked for the port
/// connects within milliseconds).
pub const DATA_ACCEPT_TIMEOUT: Duration = Duration::from_secs(30);

/// Each piece of a transfer (one read, or one write) must move within this
/// long, or the transfer is abandoned with `426`: a client that stops
/// reading holds a file open and a connection for no longer.
pub const DATA_STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// The largest upload (`STOR`, with `FTP_WRITABLE=1`): 100 MiB. Larger: the
/// transfer is stopped, the partial file removed, `552` (RFC 959: "exceeded
/// storage allocation"). Uploads stream to disk, so this bounds disk, not
/// memory.
pub const MAX_UPLOAD_BYTES: u64 = 100 * 1024 * 1024;

/// Most entries one `LIST` or `NLST` sends: the listing is sorted, so it is
/// held in memory whole, and a folder of a million files must not make it
/// huge. More: the first ones, sorted, and a `226` that says it was cut.
pub const MAX_LIST_ENTRIES: usize = 10_000;

/// Bytes read from a file (or a data connection) at a time.
pub const TRANSFER_CHUNK: usize = 64 * 1024;
