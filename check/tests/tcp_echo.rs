//! Is tcp-echo's checker fair? It is run against servers whose behaviour we know.
//!
//! - Deliberately broken servers, one per stage, each fail at exactly that
//!   stage, with the hint that names their mistake.
//! - Two Node servers written the way tutorials write them
//!   (`tests/node/tcp-echo*.js`): `socket.pipe(socket)` passes every stage;
//!   reading the data as UTF-8 text passes stage 1 and fails first at stage 2
//!   (binary-safe).
//! - Nothing listening at ADDR gives exit status 2 and one sentence.
//! - The binary exits 0, 1 or 2 accordingly.
//!
//! That the lesson's own server and its build-along steps pass is
//! tcp-echo's own test (`tcp-echo/tests/checker.rs`).

mod support;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use check::Verdict;
use support::{check_all, check_binary, check_lesson, free_tcp_port, local, start_node};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Every stage of tcp-echo's checker, by number.
const ALL_STAGES: &[usize] = &[1, 2, 3, 4, 5];

// ---------------------------------------------------------------------------
// Broken servers: one for each stage, each failing at exactly that stage.

type Handler = fn(TcpStream) -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// A server on 127.0.0.1:0 giving each connection its own task running
/// `handle`; it lives as long as the test's runtime.
async fn start_broken(handle: Handler) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(handle(stream));
        }
    });
    addr
}

/// Stage 1: answers in capitals.
async fn shouting(mut stream: TcpStream) {
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = stream.read(&mut buf).await {
        buf[..n].make_ascii_uppercase();
        if stream.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Stage 2: decodes what it reads as UTF-8 text and writes the text back.
async fn lossy_text(mut stream: TcpStream) {
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = stream.read(&mut buf).await {
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if stream.write_all(text.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Stage 4: takes a 0-byte read for "nothing yet" and keeps waiting, so
/// it never closes after the client half-closes.
async fn never_closes(mut stream: TcpStream) {
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) => tokio::time::sleep(Duration::from_millis(50)).await,
            Ok(n) => {
                if stream.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
            Err(_) => return,
        }
    }
}

/// Stage 5: "protects itself" with a cap of 1 MiB per connection, a limit
/// that is not an echo server's to set.
async fn capped_at_one_mib(mut stream: TcpStream) {
    const CAP: usize = 1024 * 1024;
    let mut buf = [0u8; 4096];
    let mut total = 0;
    while let Ok(n @ 1..) = stream.read(&mut buf).await {
        total += n;
        if total > CAP || stream.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Echoes correctly until the client finishes.
async fn good_echo(mut stream: TcpStream) {
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = stream.read(&mut buf).await {
        if stream.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
    let _ = stream.shutdown().await;
}

/// Stage 3: a correct echo, one client at a time.
async fn start_one_at_a_time() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            good_echo(stream).await;
        }
    });
    addr
}

/// Runs the checker (stopping at the first failure) and checks that it
/// passed every stage before `stage`, failed `stage`, and said each of `says`.
async fn assert_fails_at(addr: SocketAddr, stage: usize, says: &[&str]) {
    check_lesson("tcp-echo", addr)
        .await
        .assert_fails_at(stage, says);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_echo_server_passes_every_stage() {
    let addr = start_broken(|stream| Box::pin(good_echo(stream))).await;
    let outcome = check_lesson("tcp-echo", addr).await;
    assert_eq!(outcome.passed(), ALL_STAGES, "{}", outcome.out);
    assert_eq!(outcome.verdict, Verdict::AllPassed);
    assert_eq!(outcome.err, "");
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_shouts_fails_stage_1() {
    let addr = start_broken(|stream| Box::pin(shouting(stream))).await;
    assert_fails_at(addr, 1, &[r#"got:      "HELLO\n" (6 bytes)"#]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_reads_text_fails_stage_2_binary_safe() {
    let addr = start_broken(|stream| Box::pin(lossy_text(stream))).await;
    let says = [
        r#"differ from byte 128 on: "\xef\xbf\xbd"#,
        "echo bytes, not text",
    ];
    assert_fails_at(addr, 2, &says).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_serves_one_client_at_a_time_fails_stage_3() {
    let addr = start_one_at_a_time().await;
    assert_fails_at(
        addr,
        3,
        &["nothing within 5 s", "serves one client at a time"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_ignores_the_half_close_fails_stage_4() {
    let addr = start_broken(|stream| Box::pin(never_closes(stream))).await;
    let says = [
        r#""last words" (10 bytes), then nothing more within 5 s"#,
        "a read of 0 bytes means the client has finished",
    ];
    assert_fails_at(addr, 4, &says).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_caps_each_connection_fails_stage_5() {
    let addr = start_broken(|stream| Box::pin(capped_at_one_mib(stream))).await;
    // How much of the echo arrives varies: closing with unread bytes makes
    // the kernel reset the connection, which can discard some in flight.
    let says = [
        "of the 4194304 bytes (right so far), then",
        "an echo has no message size",
    ];
    assert_fails_at(addr, 5, &says).await;
}

// ---------------------------------------------------------------------------
// Node, written the way the tutorials write it.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_with_socket_pipe_passes_every_stage() {
    let node = start_node("tcp-echo.js").await;
    let outcome = check_all("tcp-echo", node.addr).await;
    assert_eq!(outcome.passed(), ALL_STAGES, "{}", outcome.out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_reading_text_fails_first_at_stage_2_binary_safe() {
    let node = start_node("tcp-echo-text.js").await;
    let outcome = check_all("tcp-echo", node.addr).await;
    // UTF-8 decoding breaks stage 2, and the 4 MiB of stage 5 (bytes of
    // every value) for the same reason.
    assert_eq!(outcome.passed(), [1, 3, 4], "{}", outcome.out);
    assert_eq!(outcome.failed(), [2, 5], "{}", outcome.out);
}

// ---------------------------------------------------------------------------
// Nothing answering, bad usage, and the binary itself.

#[tokio::test]
async fn nothing_listening_is_exit_2_and_one_sentence() {
    let addr = local(free_tcp_port());
    let outcome = check_lesson("tcp-echo", addr).await;
    assert_eq!(outcome.verdict, Verdict::Unusable);
    assert_eq!(outcome.verdict.exit_code(), 2);
    assert_eq!(outcome.out, "", "no stage line when nothing answers");
    assert_eq!(outcome.err.lines().count(), 1, "{}", outcome.err);
    assert!(
        outcome
            .err
            .starts_with(&format!("check: nothing is answering at {addr}")),
        "{}",
        outcome.err
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_exits_0_1_or_2() {
    let good = start_broken(|stream| Box::pin(good_echo(stream))).await;
    let (code, out, _) = check_binary(&["tcp-echo", &good.to_string()]).await;
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out.lines().count(), 5, "{out}");

    let shouter = start_broken(|stream| Box::pin(shouting(stream))).await;
    let (code, out, _) = check_binary(&["tcp-echo", &shouter.to_string()]).await;
    assert_eq!(code, Some(1), "{out}");
    assert!(out.starts_with("FAIL stage 1: echo\n"), "{out}");

    let nowhere = format!("127.0.0.1:{}", free_tcp_port());
    let (code, out, err) = check_binary(&["tcp-echo", &nowhere]).await;
    assert_eq!((code, out.as_str()), (Some(2), ""));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("nothing is answering"), "{err}");

    for bad in [
        &["tcp-echo"][..],
        &["tcp-echo", "--everything", "127.0.0.1:7007"],
        &["tcp-echo", "127.0.0.1"],
    ] {
        let (code, out, err) = check_binary(bad).await;
        assert_eq!((code, out.as_str()), (Some(2), ""), "{bad:?}");
        assert_eq!(err.lines().count(), 1, "{bad:?}: {err}");
        assert!(
            err.contains("usage: cargo run -p check -- tcp-echo [--all] ADDR"),
            "{err}"
        );
    }
}
