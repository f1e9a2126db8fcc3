//! tcp-echo driven by the real `nc` (netcat-openbsd), as a learner does.
//!
//! Ignored by a plain `cargo test` because it needs `nc` installed; `.ci/run`
//! installs it and runs these with `--ignored`, and then a missing `nc` is a
//! failure, not a skip.

use testkit::process::{STEP_TIMEOUT, spawn, spawn_nc};
use tokio::io::AsyncWriteExt;

const TCP_ECHO: &str = env!("CARGO_BIN_EXE_tcp-echo");

/// `printf ... | nc -N 127.0.0.1 PORT`: -N half-closes after the input ends,
/// so the server finishes echoing and closes, and nc exits.
async fn through_nc(port: u16, input: &[u8]) -> Vec<u8> {
    let mut nc = spawn_nc(&["-N", "127.0.0.1", &port.to_string()]);
    let mut stdin = nc.stdin.take().expect("stdin is piped");
    let input = input.to_vec();
    let writer = tokio::spawn(async move {
        stdin.write_all(&input).await.expect("write to nc");
        // Dropping stdin is nc's end of input.
    });
    let output = tokio::time::timeout(STEP_TIMEOUT, nc.wait_with_output())
        .await
        .expect("nc did not finish")
        .expect("nc output");
    writer.await.expect("writer");
    assert!(output.status.success(), "nc exit status {}", output.status);
    output.stdout
}

#[tokio::test]
#[ignore = "needs netcat-openbsd; .ci/run runs it"]
async fn nc_gets_its_lines_back_from_every_server() {
    for mode in ["async", "threads", "blocking"] {
        let mut server = spawn(TCP_ECHO, &[("ECHO_MODE", mode)]);
        let port = server.listening_port("tcp").await;
        assert_eq!(
            through_nc(port, b"hello\nworld\n").await,
            b"hello\nworld\n",
            "{mode}"
        );
        let binary: Vec<u8> = (0..200_000).map(|i| (i * 31 % 256) as u8).collect();
        assert!(
            through_nc(port, &binary).await == binary,
            "{mode}: binary through nc differs"
        );
    }
}
