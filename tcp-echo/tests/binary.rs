//! The `tcp-echo` binary as a learner meets it: the `listening on` line, bad
//! settings, a port already in use, and stopping with SIGTERM or Ctrl+C
//! (the signal tests are Unix only: Windows has no signals to send).

mod support;

#[cfg(unix)]
use nix::sys::signal::Signal;
#[cfg(unix)]
use support::{assert_echoes, binary_pattern};
use testkit::process::{assert_rejects_config, spawn};
#[cfg(unix)]
use testkit::process::{line_containing, spawn_with_fd_limit};

const TCP_ECHO: &str = env!("CARGO_BIN_EXE_tcp-echo");

#[tokio::test]
async fn prints_listening_line_with_the_bound_port_then_a_hint() {
    let mut server = spawn(TCP_ECHO, &[]);
    let port = server.listening_port("tcp").await;
    assert_ne!(port, 0, "PORT=0 must print the port actually bound");
    let hint = testkit::process::next_line(&mut server.stdout, "hint").await;
    assert_eq!(
        hint.as_deref(),
        Some(format!("try: nc 127.0.0.1 {port}").as_str())
    );
}

#[tokio::test]
async fn bad_settings_exit_2_with_one_line() {
    for (name, value) in [
        ("PORT", "abc"),
        ("PORT", "70000"),
        ("PORT", "-1"),
        ("HOST", "nonsense"),
        ("HOST", "localhost"),
        ("SHUTDOWN_GRACE_SECS", "soon"),
        ("ECHO_MODE", "fast"),
        ("MAX_CONNECTIONS", "0"),
        ("IDLE_TIMEOUT_SECS", "0"),
    ] {
        assert_rejects_config(TCP_ECHO, name, value).await;
    }
}

#[tokio::test]
async fn port_in_use_is_explained_not_panicked() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let mut server = spawn(TCP_ECHO, &[("PORT", &port.to_string())]);
    let (status, stderr) = server.exit_and_stderr().await;
    assert!(!status.success(), "exit status {status}");
    let text = stderr.join("\n");
    assert!(
        text.contains(&format!("127.0.0.1:{port}")),
        "should name the address: {text}"
    );
    assert!(
        text.contains("already in use"),
        "should say it is in use: {text}"
    );
    assert!(!text.contains("panicked"), "{text}");
}

// Unix only: Windows has no signals to send.
#[cfg(unix)]
#[tokio::test]
async fn sigterm_and_ctrl_c_stop_the_server_with_exit_0() {
    for mode in ["async", "threads", "blocking"] {
        for signal in [Signal::SIGTERM, Signal::SIGINT] {
            let mut server = spawn(
                TCP_ECHO,
                &[("ECHO_MODE", mode), ("SHUTDOWN_GRACE_SECS", "1")],
            );
            let port = server.listening_port("tcp").await;
            let mut client = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect");
            assert_echoes(&mut client, &binary_pattern(1000)).await;
            server.signal(signal);
            let status = server.exit_status().await;
            assert_eq!(status.code(), Some(0), "{mode}, {signal}: exit status");
        }
    }
}

// Unix only: `ulimit -n`, which Windows lacks.
#[cfg(unix)]
#[tokio::test]
async fn running_out_of_file_descriptors_does_not_end_the_server() {
    // 32 descriptors: stdio, the listener and the runtime's own leave room
    // for about 20 connections; we open 40.
    let mut server = spawn_with_fd_limit(TCP_ECHO, 32, &[]);
    let port = server.listening_port("tcp").await;
    let mut clients = Vec::new();
    for _ in 0..40 {
        // The kernel completes every handshake; only `accept` can fail.
        clients.push(
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect"),
        );
    }
    let failed = line_containing(&mut server.stderr, "accept failed").await;
    assert!(
        failed.contains("ulimit -n"),
        "the log line should name the knob to turn: {failed}"
    );

    // The clients leave; the server must still be there for the next one.
    drop(clients);
    let mut client = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect after EMFILE");
    assert_echoes(&mut client, b"still serving").await;
    server.signal(Signal::SIGTERM);
    assert_eq!(server.exit_status().await.code(), Some(0));
}

// Unix only: `ulimit -n`, which Windows lacks.
#[cfg(unix)]
#[tokio::test]
async fn a_connection_limit_above_the_open_files_limit_is_warned_about_at_startup() {
    for mode in ["async", "threads"] {
        let mut server = spawn_with_fd_limit(TCP_ECHO, 64, &[("ECHO_MODE", mode)]);
        server.listening_port("tcp").await;
        let warning = line_containing(&mut server.stderr, "MAX_CONNECTIONS=1024").await;
        assert!(
            warning.contains("ulimit -n") && warning.contains("64"),
            "{mode}: the warning should give the limit and the knob: {warning}"
        );
        server.signal(Signal::SIGTERM);
        assert_eq!(server.exit_status().await.code(), Some(0), "{mode}");
    }
}
