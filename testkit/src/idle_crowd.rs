//! Thousands of idle connections held open at once, then each asked again:
//! the shared part of the lessons' "ten thousand idle connections" tests.
//!
//! What to notice: connections are opened a batch at a time, so the listen
//! backlog never overflows; every exchange has a timeout, and so does the
//! whole crowd ([`CROWD_PATIENCE`]), so a server that stops answering fails
//! the test in bounded time instead of hanging CI. What the connections cost
//! in memory is measured by the benchmark, not here: a test asserts that
//! they all still work.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Connections opened at the same moment: the listen backlog (often 4096)
/// must not overflow, or the kernel would make some clients retry for seconds.
pub const OPENING_AT_ONCE: usize = 200;

/// How long one exchange on one connection may take; generous, the machine
/// is shared and the binaries are debug builds.
pub const EXCHANGE_PATIENCE: Duration = Duration::from_secs(60);

/// How long opening the whole crowd, or asking all of it again, may take.
/// Ten thousand debug-build exchanges take a few seconds on 2 busy cores;
/// this bound is only there so a stuck server fails instead of hanging.
pub const CROWD_PATIENCE: Duration = Duration::from_secs(180);

/// One request and what its answer looks like. The answer must be short and
/// end with `ends_with`, which is how the client knows it has all of it.
#[derive(Clone, Copy)]
pub struct Exchange {
    /// The bytes sent.
    pub request: &'static [u8],
    /// How the answer starts (a status line, say).
    pub starts_with: &'static [u8],
    /// How the answer ends (its body).
    pub ends_with: &'static [u8],
}

impl Exchange {
    /// Sends the request and reads the answer; `true` if it looked right
    /// and came within [`EXCHANGE_PATIENCE`].
    pub async fn on(self, stream: &mut TcpStream) -> bool {
        let exchange = async {
            stream.write_all(self.request).await?;
            let mut received = Vec::new();
            let mut buf = [0u8; 512];
            while !received.ends_with(self.ends_with) {
                let n = stream.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                received.extend_from_slice(&buf[..n]);
            }
            std::io::Result::Ok(
                received.starts_with(self.starts_with) && received.ends_with(self.ends_with),
            )
        };
        matches!(
            tokio::time::timeout(EXCHANGE_PATIENCE, exchange).await,
            Ok(Ok(true))
        )
    }
}

/// Raises this process's soft limit on open files to at least `needed`
/// (a server started from here inherits it). `Err` says why it cannot,
/// so the caller can skip with that sentence.
#[cfg(unix)]
pub fn raise_file_limit(needed: u64) -> Result<(), String> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).map_err(|error| error.to_string())?;
    if soft >= needed {
        return Ok(());
    }
    if hard < needed {
        return Err(format!(
            "the hard limit on open files is {hard}, and this test needs {needed} (`ulimit -Hn`)"
        ));
    }
    setrlimit(Resource::RLIMIT_NOFILE, needed, hard).map_err(|error| error.to_string())
}

/// Windows has no limit on open files to raise: sockets are handles.
#[cfg(not(unix))]
pub fn raise_file_limit(_needed: u64) -> Result<(), String> {
    Ok(())
}

/// Opens `count` connections to `127.0.0.1:port`, each with one `exchange`
/// answered, and returns them all, open and idle. Panics (the test fails)
/// on the first connection that was not answered, or after [`CROWD_PATIENCE`].
pub async fn open_idle_crowd(port: u16, count: usize, exchange: Exchange) -> Vec<TcpStream> {
    let opening = async {
        let mut connections = Vec::with_capacity(count);
        while connections.len() < count {
            let batch: Vec<_> = (0..OPENING_AT_ONCE.min(count - connections.len()))
                .map(|_| {
                    tokio::spawn(async move {
                        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
                        exchange.on(&mut stream).await.then_some(stream)
                    })
                })
                .collect();
            for opened in batch {
                let stream = opened.await.expect("client task");
                assert!(
                    stream.is_some(),
                    "connection {} was not answered",
                    connections.len() + 1
                );
                connections.extend(stream);
            }
        }
        connections
    };
    tokio::time::timeout(CROWD_PATIENCE, opening)
        .await
        .unwrap_or_else(|_| panic!("{count} connections not opened within {CROWD_PATIENCE:?}"))
}

/// Sends `exchange` on every connection at once and returns how many were
/// answered (all of them, from a server that kept them). Panics after
/// [`CROWD_PATIENCE`].
pub async fn ask_all(connections: Vec<TcpStream>, exchange: Exchange) -> usize {
    let count = connections.len();
    let asking = async {
        let asks: Vec<_> = connections
            .into_iter()
            .map(|mut stream| tokio::spawn(async move { exchange.on(&mut stream).await }))
            .collect();
        let mut answered = 0;
        for ask in asks {
            if ask.await.expect("client task") {
                answered += 1;
            }
        }
        answered
    };
    tokio::time::timeout(CROWD_PATIENCE, asking)
        .await
        .unwrap_or_else(|_| {
            panic!("{count} connections not all answered within {CROWD_PATIENCE:?}")
        })
}
