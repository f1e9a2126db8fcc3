//! Server 1 of 3: blocking, one client at a time (std::net only).
//!
//! What to notice: `accept` hands us a connection, and we serve it to the end
//! before calling `accept` again. While one client is connected, a second
//! one's connection is completed by the kernel (it waits in the listen
//! backlog) but nobody reads from it: its `nc` shows nothing until the first
//! client leaves. This is the shape of the Rust Book's first web server, and of
//! any server that does its work inline in the accept loop.
//!
//! Try it: `ECHO_MODE=blocking cargo run -p tcp-echo`, then `nc 127.0.0.1 7007`
//! in two terminals. The second echoes nothing until you quit the first.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{debug, info, info_span, trace};

use crate::std_server::{Accepted, StdServerState, accept};
use crate::summary::{EchoSummary, End};

/// A fixed 32 KiB buffer: simple, and lost in the noise next to the 2 MiB
/// stack reserved for each thread of `server_threads.rs`.
const ECHO_BUFFER_SIZE: usize = 32 * 1024;

// ANCHOR: serve
/// Accepts connections and serves each one to the end, one at a time,
/// until the server is stopped.
pub fn serve(listener: TcpListener, state: Arc<StdServerState>, idle_timeout: Duration) {
    while let Some(accepted) = accept(&listener, &state) {
        // The whole difference from `server_threads.rs` is on this line:
        // the next `accept` waits until this client is done.
        handle_connection(&state, accepted, idle_timeout);
    }
}
// ANCHOR_END: serve

/// Serves one accepted connection on the calling thread: echoes until it
/// ends, logs it, and removes it from the table of open connections.
/// `server_threads.rs` runs this same function, on a thread of its own.
pub fn handle_connection(state: &StdServerState, accepted: Accepted, idle_timeout: Duration) {
    let Accepted { stream, peer, id } = accepted;
    let _span = info_span!("conn", id, %peer).entered();
    let started = Instant::now();

    let summary = echo(stream, idle_timeout);

    let open = state.forget(id);
    info!(open, duration = ?started.elapsed(), "connection closed: {summary}");
}

// ANCHOR: echo
/// Echoes everything the client sends until it closes, goes idle, or fails.
/// Blocking I/O: each `read` and `write_all` parks this thread until it is done.
pub fn echo(mut stream: TcpStream, idle_timeout: Duration) -> EchoSummary {
    let mut echoed = 0;
    let end = match echo_until_end(&mut stream, idle_timeout, &mut echoed) {
        Ok(()) => End::ClientClosed,
        // A read or write timeout shows up as WouldBlock or TimedOut.
        Err(error)
            if matches!(
                error.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            End::Idle(idle_timeout)
        }
        Err(error) => End::Failed(error),
    };
    EchoSummary { echoed, end }
}

fn echo_until_end(
    stream: &mut TcpStream,
    idle_timeout: Duration,
    echoed: &mut u64,
) -> io::Result<()> {
    stream.set_nodelay(true)?;
    // The idle timeout, std style: a read or write that waits this long fails.
    stream.set_read_timeout(Some(idle_timeout))?;
    stream.set_write_timeout(Some(idle_timeout))?;
    let mut buf = vec![0u8; ECHO_BUFFER_SIZE];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            debug!("client finished sending (half-close); closing our side");
            return stream.shutdown(Shutdown::Write);
        }
        trace!(bytes = n, "read");
        stream.write_all(&buf[..n])?;
        trace!(bytes = n, "wrote");
        *echoed += n as u64;
    }
}
// ANCHOR_END: echo
