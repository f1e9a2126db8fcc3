//! Every limit the HTTP server enforces, in one place, each with its reason.
//!
//! What to notice: a server that reads "until the request is complete" without
//! a cap can be made to buffer any amount of memory by one client. Each number
//! below bounds one thing a client controls, and each has a status code that
//! says which limit was hit (see `error.rs`).

/// Longest request line (`GET /path HTTP/1.1`) we accept, in bytes, without
/// its CRLF. Beyond it: 414 URI Too Long. RFC 9112 section 3 recommends
/// supporting at least 8000 octets.
pub const MAX_REQUEST_LINE: usize = 8000;

/// Largest header section (every line after the request line, up to and
/// including the blank line). Beyond it: 431 Request Header Fields Too Large.
pub const MAX_HEADER_SECTION: usize = 8 * 1024;

/// Most header fields in one request. httparse parses into a fixed array of
/// this size; more fields: 431.
pub const MAX_HEADERS: usize = 100;

/// Largest request body, whether sent with Content-Length or chunked, for
/// an application that does not choose per request (`Service::body_limit`).
/// Beyond it: 413 Content Too Large. Bodies are read into memory whole, so
/// the limit is also the most memory one request's body can take.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// Longest chunk-size line in a chunked body (`1a2b;ext=value\r\n`).
/// A size needs at most 16 hex digits; the rest is room for extensions.
pub const MAX_CHUNK_LINE: usize = 1024;

/// Largest trailer section after a chunked body; trailers are read and
/// ignored. Beyond it: 431.
pub const MAX_TRAILERS: usize = 8 * 1024;

/// Read buffer to take when a request starts arriving (an idle connection
/// holds none). Enough for a typical browser request head in one read; it
/// grows (within the limits above) as needed.
pub const INITIAL_READ_BUFFER: usize = 4096;

/// Before reading more of a head, make sure the buffer has at least this
/// much free room (else grow it by `INITIAL_READ_BUFFER`): a read into a
/// few spare bytes would cost a system call for almost nothing.
pub const MIN_READ_ROOM: usize = 1024;

/// Write buffer to take for the first response after an idle wait: a
/// typical response head and a small body fit without growing it.
pub const INITIAL_WRITE_BUFFER: usize = 1024;

/// Pairs of buffers (read and write) each runtime thread keeps for the next
/// connection that wakes on it (see `spare_buffers.rs`). A thread runs one
/// connection at a time, so one pair would do for connections that answer
/// at once; the rest cover connections paused in the middle of a request
/// (a slow handler, a body still arriving), which hold theirs meanwhile.
pub const SPARE_BUFFERS_PER_THREAD: usize = 8;

/// A buffer that grew larger than this (for a large head, a body, or a
/// batch of pipelined responses) is freed when its connection goes idle,
/// not kept spare: the spares stay at most
/// `SPARE_BUFFERS_PER_THREAD * 2 * MAX_SPARE_BUFFER` (256 KiB) per thread.
pub const MAX_SPARE_BUFFER: usize = 16 * 1024;

/// Responses smaller than this are copied into the connection's write buffer,
/// so that pipelined responses go out in one `write`; larger ones are written
/// from where they are.
pub const COALESCE_BODY_UNDER: usize = 16 * 1024;

/// Write the buffered responses once they reach this size, even if more
/// pipelined requests are waiting.
pub const MAX_WRITE_BATCH: usize = 64 * 1024;

/// After an error response we stop reading requests, but the client may still
/// be sending. We read and discard at most this much, for at most
/// `LINGER_TIME`, before closing: closing with unread data makes the kernel
/// send a reset, which can destroy the error response before the client reads it.
pub const LINGER_BYTES: usize = 256 * 1024;

/// See [`LINGER_BYTES`].
pub const LINGER_TIME: std::time::Duration = std::time::Duration::from_secs(1);
