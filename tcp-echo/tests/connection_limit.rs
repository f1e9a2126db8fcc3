//! The connection limit as a client and a log reader see it: waiting in the
//! backlog or being refused, and one pair of log lines per episode at the
//! limit, however many clients come and go meanwhile.

mod support;

use std::io::Write;
use std::time::Duration;

use support::*;
use tcp_echo::accept_loop::{self, AcceptLimits};
use tcp_echo::server_async;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tracing::subscriber::DefaultGuard;

const REFUSAL: &[u8] = b"busy, try again later\n";

/// The async accept loop serving echo under `limits`.
fn start_echo(limits: AcceptLimits) -> InProcess<()> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.set_nonblocking(true).expect("non-blocking");
    let addr = listener.local_addr().expect("local_addr");
    run_in_process(addr, move |shutdown| async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
        accept_loop::serve(listener, limits, shutdown, |connection| {
            server_async::echo(connection, Duration::from_secs(300))
        })
        .await;
    })
}

async fn connect(server: &InProcess<()>) -> TcpStream {
    tokio::time::timeout(PATIENCE, TcpStream::connect(server.addr))
        .await
        .expect("connect timed out")
        .expect("connect")
}

/// Everything logged on this thread (the test's, and the server's, since a
/// `#[tokio::test]` runs every task on one thread), one line at a time.
struct Logs {
    lines: mpsc::UnboundedReceiver<String>,
    seen: Vec<String>,
    _guard: DefaultGuard,
}

#[derive(Clone)]
struct LineSender(mpsc::UnboundedSender<String>);

impl Write for LineSender {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The formatter writes each event whole, in one call.
        let _ = self.0.send(String::from_utf8_lossy(buf).into_owned());
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() -> Logs {
    let (sender, lines) = mpsc::unbounded_channel();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || LineSender(sender.clone()))
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    Logs {
        lines,
        seen: Vec::new(),
        _guard: tracing::subscriber::set_default(subscriber),
    }
}

impl Logs {
    /// Waits for a line containing `needle` and returns it.
    async fn wait_for(&mut self, needle: &str) -> String {
        loop {
            let line = tokio::time::timeout(PATIENCE, self.lines.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "no log line with {needle:?} within {PATIENCE:?}; saw {:#?}",
                        self.seen
                    )
                })
                .expect("the log channel stays open");
            self.seen.push(line.clone());
            if line.contains(needle) {
                return line;
            }
        }
    }

    /// How many of the lines logged so far contain `needle`.
    fn count(&mut self, needle: &str) -> usize {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        self.seen
            .iter()
            .filter(|line| line.contains(needle))
            .count()
    }
}

/// Reads until the server closes the connection, with a timeout.
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut got))
        .await
        .expect("the server did not close the connection in time")
        .expect("read until close");
    got
}

#[tokio::test]
async fn a_full_server_logs_one_warning_and_one_all_clear_per_episode() {
    let mut logs = capture_logs();
    let server = start_echo(AcceptLimits::new(2, PATIENCE));
    let mut first = connect(&server).await;
    let mut second = connect(&server).await;
    assert_echoes(&mut first, b"1").await;
    assert_echoes(&mut second, b"2").await;

    // Three more clients wait in the backlog, each with a byte sent.
    let mut waiting = Vec::new();
    for byte in [b"3", b"4", b"5"] {
        let mut client = connect(&server).await;
        client.write_all(byte).await.expect("write");
        waiting.push(client);
    }
    let (mut third, mut fourth, mut fifth) = {
        let mut clients = waiting.into_iter();
        let mut next = || clients.next().expect("three clients");
        (next(), next(), next())
    };
    // Every close lets the next waiting client in: the server crosses its
    // limit three times, staying at it.
    drop(first);
    assert_eq!(read_n(&mut third, 1).await, b"3");
    drop(second);
    assert_eq!(read_n(&mut fourth, 1).await, b"4");
    drop(third);
    assert_eq!(read_n(&mut fifth, 1).await, b"5");

    // Nobody waits any more: one more close ends the episode.
    drop(fourth);
    let all_clear = logs.wait_for("below the connection limit again").await;
    assert!(
        all_clear.contains("3 clients waited"),
        "the all-clear should count the clients that waited: {all_clear}"
    );
    assert_eq!(
        logs.count("connection limit reached"),
        1,
        "one warning for the whole episode: {:#?}",
        logs.seen
    );
    assert_echoes(&mut fifth, b"still served").await;
}

#[tokio::test]
async fn with_a_refusal_clients_past_the_limit_get_its_bytes_and_are_closed() {
    let mut logs = capture_logs();
    let server = start_echo(AcceptLimits::new(1, PATIENCE).with_refusal(|| REFUSAL.to_vec()));
    let mut first = connect(&server).await;
    assert_echoes(&mut first, b"in").await;

    // A client that only reads, and one that sends first (as an HTTP client
    // does): both get the refusal, then the close, and no echo.
    let mut reader = connect(&server).await;
    assert_eq!(read_to_close(&mut reader).await, REFUSAL);
    let mut sender = connect(&server).await;
    sender
        .write_all(b"GET / HTTP/1.1\r\n\r\n")
        .await
        .expect("write");
    assert_eq!(read_to_close(&mut sender).await, REFUSAL);
    let mut third = connect(&server).await;
    assert_eq!(read_to_close(&mut third).await, REFUSAL);

    // The first client never noticed.
    assert_echoes(&mut first, b"unharmed").await;
    drop(first);
    let all_clear = logs.wait_for("below the connection limit again").await;
    assert!(
        all_clear.contains("3 clients were refused"),
        "the all-clear should count the refusals: {all_clear}"
    );
    assert_eq!(
        logs.count("connection limit reached"),
        1,
        "{:#?}",
        logs.seen
    );

    // The freed slot is the next client's.
    let mut next = connect(&server).await;
    assert_echoes(&mut next, b"my turn").await;
}

#[tokio::test]
async fn a_refusal_never_holds_up_the_accept_loop() {
    let mut logs = capture_logs();
    // A refusal far larger than any socket buffer, for a client that does
    // not read: the loop writes what fits and moves on.
    let huge = vec![b'x'; 64 << 20];
    let server = start_echo(AcceptLimits::new(1, PATIENCE).with_refusal(move || huge.clone()));
    let mut first = connect(&server).await;
    assert_echoes(&mut first, b"in").await;
    let mut refused = connect(&server).await;
    let mut head = [0u8; 16];
    tokio::time::timeout(PATIENCE, refused.read_exact(&mut head))
        .await
        .expect("the start of the refusal arrives")
        .expect("read");

    // The loop still serves: the slot `first` frees goes to the next client.
    drop(first);
    logs.wait_for("below the connection limit again").await;
    let mut next = connect(&server).await;
    assert_echoes(&mut next, b"my turn").await;

    let written = head.len() + read_to_close(&mut refused).await.len();
    assert!(
        written < 64 << 20,
        "expected part of the refusal, got all {written} bytes"
    );
}
