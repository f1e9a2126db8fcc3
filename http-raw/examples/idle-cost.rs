//! What a waiting connection costs: opens N idle connections to a server on
//! this machine and prints how much the server's memory grew per connection.
//!
//! What to notice: the figure comes from the server's own `/proc/PID/status`
//! (VmRSS, the memory the process touches), read before and after; what the
//! kernel holds for each socket is not in it, so the machine-wide TCP buffer
//! memory from `/proc/net/sockstat` is printed beside it. Each connection does one
//! exchange first (an echo line, a `GET /hello`, or a WebSocket handshake and
//! a `/join` to a room of its own), so the server has really taken it in and
//! it is idle the way a real client is between requests.
//!
//! Try it (a release build, as a server would run; `$!` is the PID of the
//! server just started in the background):
//!
//! ```text
//! cargo build --release -p http-raw --bin http-raw --example idle-cost
//! target/release/http-raw &
//! target/release/examples/idle-cost 127.0.0.1:3000 $! 1000 http
//! kill %1
//! ```
//!
//! For more than about 1,000 connections, raise `ulimit -n` in the shell
//! first and start the server with `MAX_CONNECTIONS` above N (and, for the
//! HTTP lessons, `KEEP_ALIVE_SECS=600` so the connections stay open).
//!
//! Linux only: the figures come from `/proc`, which macOS and Windows lack
//! (on Windows, WSL 2 is Linux). Elsewhere it compiles, and says so when run.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// At most this many connections: one client IP reaches one server port from
/// about 28,000 ephemeral ports (`/proc/sys/net/ipv4/ip_local_port_range`),
/// and this tool is for a laptop, not a load test.
const MAX_CONNECTIONS: usize = 20_000;

/// Connections opened and closed before the first reading, so the server's
/// runtime has started its threads and its allocator has set up its arenas:
/// those are paid once, not per connection.
const WARM_UP: usize = 10;

/// How long one connection's first exchange may take.
const PATIENCE: Duration = Duration::from_secs(30);

/// What each connection sends once before it goes idle.
#[derive(Clone, Copy)]
enum Kind {
    /// tcp-echo: a line, echoed back.
    Tcp,
    /// http-raw, http-server: `GET /hello` on a keep-alive connection.
    Http,
    /// ws-chat: the WebSocket handshake, then `/join` to a room of its own
    /// (in one shared room, every join would be announced to everyone).
    Ws,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: idle-cost 127.0.0.1:PORT SERVER_PID [N (default 1000)] [tcp|http|ws (default http)]";
    let (Some(addr), Some(pid)) = (
        args.first().and_then(|a| a.parse::<SocketAddr>().ok()),
        args.get(1).and_then(|p| p.parse::<u32>().ok()),
    ) else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    if !addr.ip().is_loopback() {
        eprintln!("idle-cost only connects to this machine (127.0.0.1 or ::1), not {addr}");
        return ExitCode::from(2);
    }
    if !cfg!(target_os = "linux") {
        eprintln!(
            "idle-cost reads the server's memory from /proc, which only Linux has \
             (on Windows, run the lessons in WSL 2)"
        );
        return ExitCode::from(2);
    }
    let count = match args.get(2).map(|n| n.parse::<usize>()) {
        None => 1000,
        Some(Ok(n)) if (1..=MAX_CONNECTIONS).contains(&n) => n,
        Some(_) => {
            eprintln!("N must be a number from 1 to {MAX_CONNECTIONS}");
            return ExitCode::from(2);
        }
    };
    let kind = match args.get(3).map(String::as_str) {
        None | Some("http") => Kind::Http,
        Some("tcp") => Kind::Tcp,
        Some("ws") => Kind::Ws,
        Some(other) => {
            eprintln!("unknown kind {other:?}: tcp, http or ws");
            return ExitCode::from(2);
        }
    };
    if let Err(why) = raise_open_files(count as u64 + 100) {
        eprintln!("cannot hold {count} connections here: {why}");
        return ExitCode::from(2);
    }
    for i in 0..WARM_UP {
        if let Err(error) = open_one(addr, kind, i).await {
            eprintln!("cannot reach the server at {addr}: {error}");
            return ExitCode::FAILURE;
        }
    }
    let Some(rss_before) = rss_kib(pid) else {
        eprintln!("no process {pid} (or /proc/{pid}/status has no VmRSS)");
        return ExitCode::from(2);
    };
    let sockets_before = tcp_pages();

    // One at a time: a chat client has left the lobby for its own room
    // before the next one arrives, so nobody is told about anybody, and no
    // burst of work inflates the figure (an allocator keeps what it grew to).
    let mut connections = Vec::with_capacity(count);
    for i in 0..count {
        match open_one(addr, kind, WARM_UP + i).await {
            Ok(stream) => connections.push(stream),
            Err(error) => {
                eprintln!("connection {} failed: {error}", i + 1);
                return ExitCode::FAILURE;
            }
        }
    }

    let Some(rss_after) = rss_kib(pid) else {
        eprintln!("process {pid} is gone");
        return ExitCode::FAILURE;
    };
    let grown = rss_after.saturating_sub(rss_before);
    println!("{count} idle connections to {addr}");
    println!(
        "server RSS: {rss_before} KiB -> {rss_after} KiB, {:.2} KiB per connection",
        grown as f64 / count as f64
    );
    if let (Some(before), Some(after)) = (sockets_before, tcp_pages()) {
        // Both ends of every connection are on this machine, so this counts
        // the client's sockets too, and anything else using TCP meanwhile.
        println!(
            "kernel TCP memory (whole machine, both ends): {before} -> {after} pages of 4 KiB"
        );
    }
    drop(connections);
    ExitCode::SUCCESS
}

/// Opens connection number `i` and does its one exchange.
async fn open_one(addr: SocketAddr, kind: Kind, i: usize) -> std::io::Result<TcpStream> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        match kind {
            Kind::Tcp => {
                stream.write_all(b"hi\n").await?;
                read_until(&mut stream, b"hi\n").await?;
            }
            Kind::Http => {
                stream
                    .write_all(b"GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n")
                    .await?;
                read_until(&mut stream, b"Hello, world").await?;
            }
            Kind::Ws => {
                // A fixed key is fine here: it proves nothing about us, it
                // only lets the server show it read the handshake (RFC 6455 section 4.1).
                stream
                    .write_all(
                        b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
                          Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
                          Sec-WebSocket-Version: 13\r\n\r\n",
                    )
                    .await?;
                read_until(&mut stream, b"\r\n\r\n").await?;
                let join = format!("/join r{i}");
                // A client's frame must be masked (RFC 6455 section 5.3); a
                // zero mask leaves the payload as it is. FIN + text, then
                // the mask bit and the length (under 126: one byte).
                let mut frame = vec![0x81, 0x80 | join.len() as u8, 0, 0, 0, 0];
                frame.extend_from_slice(join.as_bytes());
                stream.write_all(&frame).await?;
                read_until(&mut stream, format!("joined #r{i}").as_bytes()).await?;
            }
        }
        Ok(stream)
    };
    tokio::time::timeout(PATIENCE, exchange)
        .await
        .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
}

/// Reads until the bytes received contain `needle`.
async fn read_until(stream: &mut TcpStream, needle: &[u8]) -> std::io::Result<()> {
    let mut received = Vec::new();
    let mut buf = [0u8; 1024];
    while !received.windows(needle.len()).any(|w| w == needle) {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        received.extend_from_slice(&buf[..n]);
    }
    Ok(())
}

/// The server's resident memory in KiB: the `VmRSS:` line of `/proc/PID/status`.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Pages the kernel holds for TCP socket buffers, machine-wide: the `mem`
/// field of the `TCP:` line of `/proc/net/sockstat`.
fn tcp_pages() -> Option<u64> {
    let sockstat = std::fs::read_to_string("/proc/net/sockstat").ok()?;
    let line = sockstat.lines().find(|l| l.starts_with("TCP:"))?;
    let mut fields = line.split_whitespace();
    fields.find(|f| *f == "mem")?;
    fields.next()?.parse().ok()
}

/// Raises this process's soft limit on open files to `needed` if the hard
/// limit allows; each connection is one descriptor here.
#[cfg(unix)]
fn raise_open_files(needed: u64) -> Result<(), String> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).map_err(|e| e.to_string())?;
    if soft >= needed {
        return Ok(());
    }
    if hard < needed {
        return Err(format!(
            "`ulimit -Hn` is {hard}, {needed} descriptors are needed"
        ));
    }
    setrlimit(Resource::RLIMIT_NOFILE, needed, hard).map_err(|e| e.to_string())
}

/// Windows has no limit on open files to raise (and no `/proc`: `main`
/// stops before this on any OS but Linux).
#[cfg(not(unix))]
fn raise_open_files(_needed: u64) -> Result<(), String> {
    Ok(())
}
