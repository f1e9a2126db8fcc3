//! udp-echo driven by the real `nc -u` (netcat-openbsd), as a learner does.
//!
//! Ignored by a plain `cargo test` because it needs `nc` installed; `.ci/run`
//! installs it and runs these with `--ignored`, and then a missing `nc` is a
//! failure, not a skip.

use testkit::process::{self, spawn};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const UDP_ECHO: &str = env!("CARGO_BIN_EXE_udp-echo");

#[tokio::test]
#[ignore = "needs netcat-openbsd; .ci/run runs it"]
async fn nc_u_gets_each_line_back_as_a_datagram() {
    let mut server = spawn(UDP_ECHO, &[]);
    let port = server.listening_port("udp").await;
    let mut nc = process::spawn_nc(&["-u", "127.0.0.1", &port.to_string()]);
    let mut stdin = nc.stdin.take().expect("stdin is piped");
    let mut replies = BufReader::new(nc.stdout.take().expect("stdout is piped")).lines();
    // nc sends each line it reads as one datagram and prints what comes back.
    for line in ["hello", "is anyone there?"] {
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .expect("write to nc");
        stdin.flush().await.expect("flush");
        let reply = tokio::time::timeout(process::STEP_TIMEOUT, replies.next_line())
            .await
            .expect("nc printed the echo")
            .expect("read nc's output");
        assert_eq!(reply.as_deref(), Some(line));
    }
}
