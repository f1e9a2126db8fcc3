//! The pitfall demos behave as the chapter says, and the upgrade hand-off
//! that lesson 5 builds on works.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use http_raw::routes::{DemoApp, respond};
use http_raw::{Request, Response};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// The demo app, plus a message each time a `/block` or `/sleep` handler starts.
async fn start_with_signal() -> (TestServer, mpsc::UnboundedReceiver<String>) {
    let app = Arc::new(DemoApp::new());
    let (started, signals) = mpsc::unbounded_channel();
    let server = start_with(config(), move |request: Request| {
        if matches!(request.path(), "/block" | "/sleep") {
            let _ = started.send(request.path().to_string());
        }
        let app = Arc::clone(&app);
        async move { respond(&app, request).await }
    })
    .await;
    (server, signals)
}

// With one runtime worker, a handler that blocks it stops every connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_blocked_worker_delays_everyone_else() {
    let (server, mut started) = start_with_signal().await;
    let mut blocker = server.client().await;
    blocker.send(&get("/block?ms=600", "")).await;
    tokio::time::timeout(PATIENCE, started.recv())
        .await
        .expect("/block started");

    // Timed from before connecting: with the only worker blocked, nobody
    // even polls for network events, so the connect itself waits.
    let asked = Instant::now();
    let mut other = server.client().await;
    let hello = other.exchange(&get("/hello", "")).await;
    assert_eq!(hello.status, 200);
    assert!(
        asked.elapsed() >= Duration::from_millis(400),
        "GET /hello took {:?}: it should have waited for the blocked worker",
        asked.elapsed()
    );
    assert_eq!(blocker.read_response().await.status, 200);
}

// With the same single worker, a handler that *awaits* a timer stops no one.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn an_async_sleep_does_not_delay_anyone() {
    let (server, mut started) = start_with_signal().await;
    let mut sleeper = server.client().await;
    sleeper.send(&get("/sleep?ms=3000", "")).await;
    tokio::time::timeout(PATIENCE, started.recv())
        .await
        .expect("/sleep started");

    let mut other = server.client().await;
    let hello_request = get("/hello", "");
    tokio::select! {
        biased;
        hello = other.exchange(&hello_request) => assert_eq!(hello.status, 200),
        _ = sleeper.read_response() => panic!("the 3 s sleep finished before GET /hello was answered"),
    }
}

#[tokio::test]
async fn visits_are_counted_across_all_clients() {
    let server = start_server(config()).await;
    let first = server.client().await.exchange(&get("/visits", "")).await;
    let second = server.client().await.exchange(&get("/visits", "")).await;
    assert!(
        first.body_text().starts_with("visit number 1 "),
        "{}",
        first.body_text()
    );
    assert!(
        second.body_text().starts_with("visit number 2 "),
        "{}",
        second.body_text()
    );
}

#[tokio::test]
async fn sleep_and_block_refuse_a_bad_ms() {
    let server = start_server(config()).await;
    let mut client = server.client().await;
    for target in ["/sleep?ms=abc", "/block?ms=10001", "/sleep?ms=-1"] {
        assert_eq!(
            client.exchange(&get(target, "")).await.status,
            400,
            "{target}"
        );
    }
}

#[tokio::test]
async fn an_upgrade_hands_over_the_stream_with_the_bytes_already_read() {
    let server = start_with(config(), |_request| async {
        Response::new(101)
            .with_header("Connection", "Upgrade")
            .with_header("Upgrade", "shout")
            .on_upgrade(|mut upgraded| async move {
                // The new protocol: upper-case everything, starting with
                // what arrived together with the request.
                let mut data = upgraded.read_ahead.to_vec();
                let mut buf = [0u8; 64];
                while data.len() < 10 {
                    match upgraded.stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => data.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = upgraded.stream.write_all(&data.to_ascii_uppercase()).await;
            })
    })
    .await;
    let mut client = server.client().await;
    // The head and the first bytes of the new protocol in one write.
    client
        .send(b"GET /up HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: shout\r\n\r\nhello")
        .await;
    let switching = client.read_response().await;
    assert_eq!(switching.status, 101, "{}", switching.head);
    assert_eq!(switching.header("upgrade"), Some("shout"));
    client.send(b"world").await;
    let mut shouted = [0u8; 10];
    tokio::time::timeout(PATIENCE, client.stream.read_exact(&mut shouted))
        .await
        .expect("the upgraded connection answers")
        .expect("read");
    assert_eq!(&shouted, b"HELLOWORLD");
}

#[tokio::test]
async fn a_streamed_body_of_unknown_length_is_sent_chunked() {
    let server = start_with(config(), |_request| async {
        let pieces = futures_util::stream::iter(
            ["one ", "two ", "three"].map(|piece| Ok(bytes::Bytes::from(piece))),
        );
        Response::new(200)
            .with_header("Content-Type", "text/plain")
            .with_body(http_raw::Body::Stream {
                length: None,
                chunks: Box::pin(pieces),
            })
    })
    .await;
    let mut client = server.client().await;
    let response = client.exchange(&get("/stream", "")).await;
    assert_eq!(response.header("transfer-encoding"), Some("chunked"));
    assert_eq!(response.body, b"one two three");
    assert_eq!(
        client.exchange(&get("/again", "")).await.body,
        b"one two three",
        "the connection goes on"
    );
}
