//! The HTTP side of the chat: the page, the handshake and its refusals.

mod support;

use support::*;
use ws_chat::ClientSettings;

async fn raw_exchange(server: &ChatServer, request: &str) -> String {
    let mut connection = RawConnection::connect(server.addr).await;
    connection.send(request.as_bytes()).await;
    connection.read_response().await
}

#[tokio::test]
async fn the_page_is_served_at_the_root() {
    let server = start_chat(ClientSettings::default()).await;
    let answer = raw_exchange(&server, "GET / HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert!(
        answer.starts_with("HTTP/1.1 200 OK\r\n"),
        "{}",
        quote(answer.as_bytes())
    );
    assert!(answer.contains("<!DOCTYPE html>"));
}

#[tokio::test]
async fn the_handshake_is_101_with_the_accept_key_of_rfc_6455() {
    let server = start_chat(ClientSettings::default()).await;
    let answer = raw_exchange(
        &server,
        "GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await;
    assert!(
        answer.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{}",
        quote(answer.as_bytes())
    );
    assert!(
        answer.contains("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
        "{}",
        quote(answer.as_bytes())
    );
}

#[tokio::test]
async fn a_plain_get_of_ws_is_426_with_an_explanation() {
    let server = start_chat(ClientSettings::default()).await;
    let answer = raw_exchange(&server, "GET /ws HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert!(
        answer.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{}",
        quote(answer.as_bytes())
    );
    assert!(
        answer.contains("websocat"),
        "the body explains how to connect"
    );
}

#[tokio::test]
async fn a_bad_key_or_version_is_refused() {
    let server = start_chat(ClientSettings::default()).await;
    let base = "GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
    let answer = raw_exchange(
        &server,
        &format!("{base}Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n"),
    )
    .await;
    assert!(
        answer.starts_with("HTTP/1.1 400 "),
        "{}",
        quote(answer.as_bytes())
    );
    let answer = raw_exchange(
        &server,
        &format!(
            "{base}Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n"
        ),
    )
    .await;
    assert!(
        answer.starts_with("HTTP/1.1 426 "),
        "{}",
        quote(answer.as_bytes())
    );
    // RFC 9110 section 15.5.22: a 426 says what to upgrade to.
    for header in ["Upgrade: websocket", "Sec-WebSocket-Version: 13"] {
        assert!(
            answer.contains(&format!("\r\n{header}\r\n")),
            "no {header:?} in {}",
            quote(answer.as_bytes())
        );
    }
}

#[tokio::test]
async fn a_page_from_another_origin_is_refused_unless_allowed() {
    let server = start_chat_with(
        http_config(),
        ClientSettings::default(),
        vec!["http://localhost:5173".into()],
    )
    .await;
    let request = |origin: &str| {
        format!(
            "GET /ws HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n",
            server.addr
        )
    };
    let evil = raw_exchange(&server, &request("https://evil.example")).await;
    assert!(
        evil.starts_with("HTTP/1.1 403 Forbidden\r\n"),
        "{}",
        quote(evil.as_bytes())
    );
    let own = raw_exchange(&server, &request(&format!("http://{}", server.addr))).await;
    assert!(
        own.starts_with("HTTP/1.1 101 "),
        "{}",
        quote(own.as_bytes())
    );
    let listed = raw_exchange(&server, &request("http://localhost:5173")).await;
    assert!(
        listed.starts_with("HTTP/1.1 101 "),
        "{}",
        quote(listed.as_bytes())
    );
}

#[tokio::test]
async fn a_body_gets_413_from_its_head_before_a_byte_of_it_is_sent() {
    let server = start_chat(ClientSettings::default()).await;
    // Announce a 1 MiB body and send none of it: the answer cannot wait for it.
    let mut connection = RawConnection::connect(server.addr).await;
    connection
        .send(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1048576\r\n\r\n")
        .await;
    let answer = connection.read_response().await;
    assert!(
        answer.starts_with("HTTP/1.1 413 "),
        "{}",
        quote(answer.as_bytes())
    );
    assert!(
        answer.contains("takes no body"),
        "{}",
        quote(answer.as_bytes())
    );

    // A chunked body is refused at its first chunk's size.
    let mut connection = RawConnection::connect(server.addr).await;
    connection
        .send(b"POST /ws HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n100000\r\n")
        .await;
    let answer = connection.read_response().await;
    assert!(
        answer.starts_with("HTTP/1.1 413 "),
        "{}",
        quote(answer.as_bytes())
    );

    // Without a body, the method is what is wrong.
    let answer = raw_exchange(&server, "POST / HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert!(
        answer.starts_with("HTTP/1.1 405 "),
        "{}",
        quote(answer.as_bytes())
    );
}

/// A GET of the page with a chunked body of no data whose trailer section
/// (trailer lines with their CRLFs, and the empty line) is `len` bytes.
fn page_with_trailers_of(len: usize) -> Vec<u8> {
    let fill = "t".repeat(len - "X-Fill: \r\n\r\n".len());
    format!(
        "GET / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-Fill: {fill}\r\n\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn trailers_of_8_kib_pass_and_one_byte_more_is_431_though_no_route_takes_a_body() {
    let server = start_chat(ClientSettings::default()).await;
    let limit = http_raw::limits::MAX_TRAILERS;
    let mut connection = RawConnection::connect(server.addr).await;
    for len in [limit - 2, limit - 1, limit] {
        let request = page_with_trailers_of(len);
        connection.send(&request).await;
        let answer = connection.read_response().await;
        assert!(
            answer.starts_with("HTTP/1.1 200 "),
            "{len}: {}",
            quote(answer.as_bytes())
        );
        // Split across two writes, inside the trailers.
        let split = request.len() - 3;
        connection.send(&request[..split]).await;
        connection.send(&request[split..]).await;
        let answer = connection.read_response().await;
        assert!(
            answer.starts_with("HTTP/1.1 200 "),
            "split {len}: {}",
            quote(answer.as_bytes())
        );
    }
    connection.send(&page_with_trailers_of(limit + 1)).await;
    let answer = connection.read_response().await;
    assert!(
        answer.starts_with("HTTP/1.1 431 "),
        "{}",
        quote(answer.as_bytes())
    );

    // Round 3's F1: one trailer line that fills the budget exactly, then more.
    let mut connection = RawConnection::connect(server.addr).await;
    connection
        .send(b"GET / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n")
        .await;
    connection
        .send(format!("X:{}\r\nY", "a".repeat(limit - 2)).as_bytes())
        .await;
    let answer = connection.read_response().await;
    assert!(
        answer.starts_with("HTTP/1.1 431 "),
        "{}",
        quote(answer.as_bytes())
    );
}
