//! Before stage 1 the checker looks at what answers: another protocol than
//! the lesson's is one sentence on stderr naming the right command, exit 1,
//! and no stage lines.

mod support;

use std::net::SocketAddr;

use check::Verdict;
use support::{Outcome, check, start_node};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A server that answers whatever comes first with `reply`, then closes.
async fn answering(reply: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                if let Ok(1..) = stream.read(&mut buf).await {
                    let _ = stream.write_all(reply).await;
                }
            });
        }
    });
    addr
}

/// Asserts the run was refused with one sentence saying each of `says`.
fn assert_refused(outcome: &Outcome, says: &[&str]) {
    assert_eq!(outcome.verdict, Verdict::StageFailed, "{outcome:?}");
    assert_eq!(outcome.out, "", "no stage ran");
    assert_eq!(outcome.err.lines().count(), 1, "{}", outcome.err);
    for words in says {
        assert!(outcome.err.contains(words), "{words:?} in {}", outcome.err);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_server_given_to_the_echo_checker_is_named_http() {
    let server = start_node("http-raw.js").await;
    let outcome = check(&["tcp-echo", &server.addr.to_string()]).await;
    let command = format!("cargo run -p check -- http-raw {}", server.addr);
    assert_refused(&outcome, &["speaks HTTP", &command]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_server_given_to_the_http_checker_is_named_tls() {
    // The first bytes of a TLS 1.2 ServerHello record.
    let addr = answering(&[0x16, 0x03, 0x03, 0x00, 0x51, 0x02, 0x00, 0x00, 0x4d]).await;
    let outcome = check(&["http-raw", &addr.to_string()]).await;
    assert_refused(
        &outcome,
        &["speaks TLS (HTTPS)", &format!("https://{addr}")],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_at_an_https_address_is_named_plain_http() {
    let server = start_node("http-raw.js").await;
    let given = format!("https://{}/", server.addr);
    let outcome = check(&["http-raw", &given]).await;
    let command = format!("cargo run -p check -- http-raw http://{}", server.addr);
    assert_refused(&outcome, &["answers in plain HTTP, not TLS", &command]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_server_given_to_the_first_server_checker_is_named_websocket() {
    // As Node's `ws` answers: 426 to a plain GET, 400 to what is no request.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let Ok(read @ 1..) = stream.read(&mut buf).await else {
                    return;
                };
                let reply: &[u8] = if buf[..read].starts_with(b"GET ") {
                    b"HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                } else {
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                };
                let _ = stream.write_all(reply).await;
            });
        }
    });
    let outcome = check(&["first-server", &addr.to_string()]).await;
    let command = format!("cargo run -p check -- ws-chat ws://{addr}/ws");
    outcome.assert_fails_at(1, &["is a WebSocket server", &command]);
}
