//! HTTPS: the same HTTP inside TLS. The same requests, sent over plain TCP
//! and over TLS 1.2 and 1.3, get the same bytes back (routes, keep-alive,
//! pipelining, chunked bodies, errors); what is not TLS on the TLS port
//! harms nobody; a stalled handshake ends at the handshake timeout, and
//! handshakes that never finish cannot keep a real client out.

mod support;
use testkit::tls;

use std::time::Duration;

use rustls::ProtocolVersion;
use support::*;
use tls::{TestCa, VERSIONS};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// A plain server and an HTTPS server, both with `config`.
async fn plain_and_tls(config: http_raw::HttpConfig, ca: &TestCa) -> (TestServer, TestServer) {
    let plain = start_server(config.clone()).await;
    let mut tls_config = config;
    tls_config.tls = Some(tls_server_config(ca));
    (plain, start_server(tls_config).await)
}

/// Everything the server sends until it closes the connection.
async fn read_to_close(stream: &mut (impl AsyncRead + Unpin)) -> Vec<u8> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(PATIENCE, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                // A TLS client may see the TCP close without close_notify
                // as an error after the data; what was read still counts.
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "no close within {PATIENCE:?}; got {}",
        quote(&received)
    );
    received
}

/// Reads one response with a `Content-Length` body, and returns it.
async fn read_one_response(stream: &mut (impl AsyncRead + Unpin)) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(head_end) = received.windows(4).position(|window| window == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&received[..head_end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length: "))
                .and_then(|length| length.trim().parse().ok())
                .expect("a Content-Length");
            if received.len() >= head_end + 4 + length {
                return received;
            }
        }
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
            .await
            .expect("a response within the patience")
            .expect("read");
        assert!(
            n > 0,
            "closed before a whole response: {}",
            quote(&received)
        );
        received.extend_from_slice(&buf[..n]);
    }
}

/// The bytes with each `Date:` value blanked (it is the only part that
/// may differ between two runs).
fn without_dates(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .split("\r\n")
        .map(|line| {
            if line.to_ascii_lowercase().starts_with("date: ") {
                "Date: <date>"
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// Sends `requests` in one write and reads until the server closes.
async fn exchange(stream: &mut (impl AsyncRead + AsyncWrite + Unpin), requests: &[u8]) -> String {
    stream.write_all(requests).await.expect("write");
    stream.flush().await.expect("flush");
    without_dates(&read_to_close(stream).await)
}

/// What each test sends: name, bytes. Each ends with a request that closes
/// the connection (or an error, which closes it).
const CASES: &[(&str, &str)] = &[
    (
        "routes, pipelined",
        "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n\
         GET /seed-a-plant HTTP/1.1\r\nHost: x\r\n\r\n\
         HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n\
         GET /nope HTTP/1.1\r\nHost: x\r\n\r\n\
         DELETE /hello HTTP/1.1\r\nHost: x\r\n\r\n\
         GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ),
    (
        "bodies: Content-Length and chunked",
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello\
         POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
         5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n\
         POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    ),
    ("HTTP/1.0 closes after one", "GET /hello HTTP/1.0\r\n\r\n"),
    (
        "a bad request line",
        "GET /hello HTTP/1.1 extra\r\nHost: x\r\n\r\n",
    ),
    ("no Host", "GET /hello HTTP/1.1\r\n\r\n"),
    (
        "a bad chunk size",
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ),
];

#[tokio::test]
async fn every_case_gets_the_same_bytes_over_tls_1_2_and_1_3_as_over_plain_tcp() {
    let ca = TestCa::new();
    let (plain, https) = plain_and_tls(config(), &ca).await;
    for (name, requests) in CASES {
        let mut client = plain.client().await;
        let expected = exchange(&mut client.stream, requests.as_bytes()).await;
        assert!(expected.starts_with("HTTP/1.1 "), "{name}: {expected}");
        for version in VERSIONS {
            let mut tls = ca.connect(https.addr, version).await;
            let got = exchange(&mut tls, requests.as_bytes()).await;
            assert_eq!(got, expected, "{name} over {version:?}");
        }
    }
}

#[tokio::test]
async fn a_keep_alive_connection_serves_request_after_request_over_tls() {
    let ca = TestCa::new();
    let (plain, https) = plain_and_tls(config(), &ca).await;
    let request = b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut client = plain.client().await;
    client.send(request).await;
    let expected = without_dates(&read_one_response(&mut client.stream).await);
    for version in VERSIONS {
        let mut tls = ca.connect(https.addr, version).await;
        for round in 0..5 {
            tls.write_all(request).await.expect("write");
            let got = without_dates(&read_one_response(&mut tls).await);
            assert_eq!(got, expected, "request {round} over {version:?}");
        }
    }
}

#[tokio::test]
async fn tls_1_2_and_1_3_are_both_offered_and_alpn_picks_http_1_1() {
    let ca = TestCa::new();
    let (_plain, https) = plain_and_tls(config(), &ca).await;
    for (version, expected) in VERSIONS
        .iter()
        .zip([ProtocolVersion::TLSv1_2, ProtocolVersion::TLSv1_3])
    {
        let tls = ca.connect(https.addr, version).await;
        let (_, session) = tls.get_ref();
        assert_eq!(session.protocol_version(), Some(expected));
        // The client offered h2 first; the server speaks HTTP/1.1 only.
        assert_eq!(session.alpn_protocol(), Some(&b"http/1.1"[..]));
    }
}

#[tokio::test]
async fn a_response_larger_than_the_tls_buffers_arrives_whole_on_a_kept_connection() {
    // 1000 KiB to a client with a small receive buffer: many TLS records,
    // more than the socket takes at once, so rustls holds encrypted records
    // back; the connection must flush them before it waits for the next
    // request (a close would flush them anyway, so the connection stays open).
    let ca = TestCa::new();
    let (_plain, https) = plain_and_tls(config(), &ca).await;
    let body = vec![b'x'; 1000 * 1024];
    let mut request = format!(
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let tcp = socket.connect(https.addr).await.expect("connect");
    let connector = tokio_rustls::TlsConnector::from(ca.client_config(VERSIONS[1]));
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut tls = connector.connect(name, tcp).await.expect("handshake");
    tls.write_all(&request).await.expect("write");
    let response = read_one_response(&mut tls).await;
    assert!(
        response.starts_with(b"HTTP/1.1 200 OK\r\n"),
        "{}",
        quote(&response[..64])
    );
    assert!(
        response.ends_with(&body),
        "the body came back cut or changed"
    );
}

#[tokio::test]
async fn plain_http_to_the_tls_port_gets_a_400_in_clear_text_then_a_close() {
    let ca = TestCa::new();
    let (_plain, https) = plain_and_tls(config(), &ca).await;
    let mut tcp = TcpStream::connect(https.addr).await.expect("connect");
    let answer = exchange(&mut tcp, b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{answer}"
    );
    assert!(answer.contains("Connection: close\r\n"), "{answer}");
    assert!(
        answer.ends_with("use https:// instead of http://\n"),
        "{answer}"
    );
    // And the server is fine.
    let mut tls = ca.connect(https.addr, VERSIONS[1]).await;
    let hello = exchange(
        &mut tls,
        b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(hello.ends_with("Hello, world"), "{hello}");
}

#[tokio::test]
async fn bytes_that_are_neither_tls_nor_http_are_closed_without_an_answer() {
    let ca = TestCa::new();
    let (_plain, https) = plain_and_tls(config(), &ca).await;
    let mut tcp = TcpStream::connect(https.addr).await.expect("connect");
    let answer = exchange(&mut tcp, b"\x00\x01\x02 not TLS\r\n\r\n").await;
    assert_eq!(answer, "");
}

#[tokio::test]
async fn a_stalled_handshake_is_closed_at_the_header_timeout_while_others_are_served() {
    let ca = TestCa::new();
    let mut config = config();
    config.header_timeout = Duration::from_secs(1);
    let (_plain, https) = plain_and_tls(config, &ca).await;

    // A TLS record header, then nothing: the handshake never completes.
    let mut stalled = TcpStream::connect(https.addr).await.expect("connect");
    stalled.write_all(&[0x16, 0x03, 0x01]).await.expect("write");

    // Meanwhile another client is served, over both versions.
    for version in VERSIONS {
        let mut tls = ca.connect(https.addr, version).await;
        let hello = exchange(
            &mut tls,
            b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(hello.ends_with("Hello, world"), "{hello}");
    }
    // The stalled one is closed, with nothing sent to it.
    let started = tokio::time::Instant::now();
    let got = read_to_close(&mut stalled).await;
    assert_eq!(got, b"", "{}", quote(&got));
    assert!(started.elapsed() < PATIENCE);
}

#[tokio::test]
async fn a_stalled_handshake_is_closed_at_the_handshake_timeout_before_the_header_timeout() {
    let ca = TestCa::new();
    let mut config = config();
    config.header_timeout = 6 * PATIENCE;
    config.handshake_timeout = Duration::from_millis(300);
    let (_plain, https) = plain_and_tls(config, &ca).await;
    let mut stalled = TcpStream::connect(https.addr).await.expect("connect");
    stalled.write_all(&[0x16, 0x03, 0x01]).await.expect("write");
    // Closed within the test's patience: by the handshake's own deadline,
    // since the header timeout is far longer.
    assert_eq!(read_to_close(&mut stalled).await, b"");
}

/// Opens a connection to `addr` that starts a TLS handshake (a record
/// header) and never finishes it.
async fn stalled_handshake(addr: std::net::SocketAddr) -> TcpStream {
    let mut stalled = TcpStream::connect(addr).await.expect("connect");
    stalled.write_all(&[0x16, 0x03, 0x01]).await.expect("write");
    stalled
}

/// Whether the server has left `stream` open: no close, and nothing sent,
/// for a moment.
async fn still_open(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 16];
    tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf))
        .await
        .is_err()
}

#[tokio::test]
async fn a_full_handshake_budget_ends_its_oldest_handshake_and_only_then() {
    let ca = TestCa::new();
    let mut config = config();
    // 8 connection slots: a budget of 4 handshakes in progress. Neither
    // timeout can end anything during the test.
    config.max_connections = 8;
    config.header_timeout = 6 * PATIENCE;
    config.handshake_timeout = 6 * PATIENCE;
    let (_plain, https) = plain_and_tls(config, &ca).await;
    let mut stalled = Vec::new();
    for _ in 0..4 {
        stalled.push(stalled_handshake(https.addr).await);
    }
    // At the limit: nobody is ended. (A first normal client would end the
    // oldest; the check comes first.)
    assert!(
        still_open(&mut stalled[0]).await,
        "4 of 4 is within the budget"
    );
    // One past it: the oldest makes room, and only the oldest.
    stalled.push(stalled_handshake(https.addr).await);
    assert_eq!(
        read_to_close(&mut stalled[0]).await,
        b"",
        "the oldest is closed"
    );
    for (n, stream) in stalled.iter_mut().enumerate().skip(1) {
        assert!(still_open(stream).await, "handshake {n} is not the oldest");
    }
}

#[tokio::test]
async fn a_client_is_served_while_stalled_handshakes_fill_the_budget_and_every_slot() {
    // Round 3: 2,000 half-open handshakes held every slot until the header
    // timeout, and a real client waited in the backlog for 8 s. Here both
    // timeouts are longer than the test's patience: only the budget can
    // make room in time.
    let ca = TestCa::new();
    let mut config = config();
    config.max_connections = 8;
    config.header_timeout = 6 * PATIENCE;
    config.handshake_timeout = 6 * PATIENCE;
    let (_plain, https) = plain_and_tls(config, &ca).await;
    // As many stalled handshakes as there are slots.
    let mut stalled = Vec::new();
    for _ in 0..8 {
        stalled.push(stalled_handshake(https.addr).await);
    }
    // The budget (4) is full of stalled handshakes; a client is served,
    // over both versions.
    for version in VERSIONS {
        let mut tls = ca.connect(https.addr, version).await;
        let hello = exchange(
            &mut tls,
            b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(hello.ends_with("Hello, world"), "{hello}");
    }
    // The oldest stalled ones made room: closed, with nothing sent to them.
    assert_eq!(read_to_close(&mut stalled[0]).await, b"");
}

#[tokio::test]
async fn a_client_that_sends_nothing_at_all_is_closed_at_the_header_timeout() {
    let ca = TestCa::new();
    let mut config = config();
    config.header_timeout = Duration::from_secs(1);
    let (_plain, https) = plain_and_tls(config, &ca).await;
    let mut silent = TcpStream::connect(https.addr).await.expect("connect");
    assert_eq!(read_to_close(&mut silent).await, b"");
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_certificate_ends_only_its_own_connection() {
    let ca = TestCa::new();
    let stranger = TestCa::new();
    let (_plain, https) = plain_and_tls(config(), &ca).await;
    let connector = tokio_rustls::TlsConnector::from(stranger.client_config(VERSIONS[1]));
    let tcp = TcpStream::connect(https.addr).await.expect("connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let refused = tokio::time::timeout(PATIENCE, connector.connect(name, tcp))
        .await
        .expect("handshake within the patience");
    let Err(error) = refused else {
        panic!("the client must refuse a certificate from a CA it does not know");
    };
    let error = error.to_string();
    assert!(error.contains("invalid peer certificate"), "{error}");
    let mut tls = ca.connect(https.addr, VERSIONS[0]).await;
    let hello = exchange(
        &mut tls,
        b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(hello.ends_with("Hello, world"), "{hello}");
}

#[tokio::test]
async fn shutdown_closes_idle_tls_connections_and_returns() {
    let ca = TestCa::new();
    let (_plain, mut https) = plain_and_tls(config(), &ca).await;
    let mut tls = ca.connect(https.addr, VERSIONS[1]).await;
    tls.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    read_one_response(&mut tls).await;
    https.begin_shutdown();
    assert_eq!(read_to_close(&mut tls).await, b"");
    https.wait_stopped(PATIENCE).await;
}
