//! Helpers for tcp-echo's tests: start a server in-process, talk to it with
//! a timeout on every read.

#![allow(dead_code)]

pub use testkit::in_process::{InProcess, run_in_process};

use std::time::Duration;

use tcp_echo::config::ServerConfig;
use tcp_echo::{EchoConfig, EchoMode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a test waits for something that should happen.
pub const PATIENCE: Duration = Duration::from_secs(10);
/// How long a test watches for something that should *not* happen.
pub const QUIET_PERIOD: Duration = Duration::from_millis(300);

pub const ALL_MODES: [EchoMode; 3] = [EchoMode::Async, EchoMode::Threads, EchoMode::Blocking];

/// The defaults, on 127.0.0.1 and a port the OS picks.
pub fn config(mode: EchoMode) -> EchoConfig {
    EchoConfig {
        server: ServerConfig::localhost_any_port(),
        mode,
        max_connections: 1024,
        idle_timeout: Duration::from_secs(300),
    }
}

/// A tcp-echo server running in this test process.
pub type TestServer = InProcess<std::io::Result<()>>;

/// Binds 127.0.0.1:0 and runs `tcp_echo::run` with a shutdown we control.
pub async fn start_server(config: EchoConfig) -> TestServer {
    let listener = tcp_echo::bind::bind_tcp(config.server.addr()).expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local_addr");
    run_in_process(addr, move |shutdown| async move {
        tcp_echo::run(listener, &config, shutdown).await
    })
}

/// Reads exactly `n` bytes, failing the test if they take too long.
pub async fn read_n(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    tokio::time::timeout(PATIENCE, stream.read_exact(&mut buf))
        .await
        .unwrap_or_else(|_| panic!("expected {n} bytes within {PATIENCE:?}"))
        .expect("read");
    buf
}

/// Sends `data` and checks that exactly it comes back.
pub async fn assert_echoes(stream: &mut TcpStream, data: &[u8]) {
    stream.write_all(data).await.expect("write");
    let got = read_n(stream, data.len()).await;
    assert_eq!(got, data, "the echo differs from what was sent");
}

/// Waits for the server to close the connection (EOF); fails on data or timeout.
pub async fn assert_closed_by_server(stream: &mut TcpStream) {
    let mut buf = [0u8; 64];
    match tokio::time::timeout(PATIENCE, stream.read(&mut buf)).await {
        Err(_) => panic!("the server did not close the connection within {PATIENCE:?}"),
        Ok(Ok(0)) => {}
        Ok(Ok(n)) => panic!("expected EOF, got {n} bytes: {:?}", &buf[..n]),
        // A reset also means the server closed it.
        Ok(Err(_)) => {}
    }
}

/// Checks that nothing arrives for [`QUIET_PERIOD`].
pub async fn assert_no_reply_yet(stream: &mut TcpStream, why: &str) {
    let mut buf = [0u8; 64];
    if let Ok(read) = tokio::time::timeout(QUIET_PERIOD, stream.read(&mut buf)).await {
        panic!("{why}: expected no reply yet, got {read:?}");
    }
}

/// `len` bytes of every value 0..=255, so encodings and NULs are covered.
pub fn binary_pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 256) as u8).collect()
}
