//! What http-raw refuses, as the demo app answers it: body limits decided
//! per route before a body byte is read, and every protocol-level error
//! with an `x-request-id` (and JSON under `/api`), on real sockets.

mod support;

use std::time::Duration;

use http_server::HttpServerConfig;
use http_server::demo::BODY_LIMIT;
use support::*;

/// The demo app with the defaults changed by `change`; its server.
async fn start_demo_with(change: impl FnOnce(&mut HttpServerConfig)) -> TestServer {
    demo::start_demo_with(change).await.server
}

async fn start_demo() -> TestServer {
    start_demo_with(|_| {}).await
}

/// Checks what every refusal under `/api` must look like.
fn assert_api_error(response: &RawResponse, status: u16, what: &str) {
    assert_eq!(response.status, status, "{what}: {}", response.head);
    assert!(
        response.header("x-request-id").is_some(),
        "{what}: no x-request-id in {}",
        response.head
    );
    assert_eq!(
        response.header("content-type"),
        Some("application/json"),
        "{what}: {}",
        response.head
    );
    let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap_or_else(|error| {
        panic!(
            "{what}: body is not JSON ({error}): {}",
            response.body_text()
        )
    });
    assert!(body["error"].is_string(), "{what}: {body}");
}

#[tokio::test]
async fn a_json_body_over_16_kib_is_413_from_its_content_length_alone() {
    let server = start_demo().await;
    let mut client = server.client().await;
    // Only the head is sent: the answer must not wait for the body.
    let head = format!(
        "POST /api/plants HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        BODY_LIMIT + 1
    );
    let response = client.exchange(head.as_bytes()).await;
    assert_api_error(&response, 413, "POST over the limit");
    client.expect_closed().await;
}

/// A `POST /api/plants` whose JSON body is `len` bytes (padded with spaces).
fn post_plant_of(len: usize) -> Vec<u8> {
    let json = r#"{"name": "Mint"}"#;
    let body = format!("{json:<len$}");
    assert_eq!(body.len(), len);
    format!("POST /api/plants HTTP/1.1\r\nHost: t\r\nContent-Length: {len}\r\n\r\n{body}")
        .into_bytes()
}

#[tokio::test]
async fn a_json_body_of_16_kib_or_one_byte_less_is_read_also_in_two_writes() {
    let server = start_demo().await;
    let mut client = server.client().await;
    for len in [BODY_LIMIT - 1, BODY_LIMIT] {
        let request = post_plant_of(len);
        let response = client.exchange(&request).await;
        assert_eq!(response.status, 201, "{len}: {}", response.body_text());
        // The body's last byte in a second write.
        client.send(&request[..request.len() - 1]).await;
        client.send(&request[request.len() - 1..]).await;
        let response = client.read_response().await;
        assert_eq!(response.status, 201, "{len} in two writes");
    }
    let response = client.exchange(&post_plant_of(BODY_LIMIT + 1)).await;
    assert_api_error(&response, 413, "one byte over");
}

#[tokio::test]
async fn a_chunked_body_is_refused_as_soon_as_it_passes_the_limit() {
    let server = start_demo().await;
    let mut client = server.client().await;
    // One chunk announcing more than the limit; its data never comes.
    let request = format!(
        "POST /api/plants HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n",
        BODY_LIMIT + 1
    );
    let response = client.exchange(request.as_bytes()).await;
    assert_api_error(&response, 413, "chunked POST over the limit");
}

#[tokio::test]
async fn a_route_that_takes_no_body_reads_none() {
    let server = start_demo().await;
    for path in ["/hello", "/api/plants/1", "/style.css"] {
        let mut client = server.client().await;
        let head = format!("GET {path} HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n");
        let response = client.exchange(head.as_bytes()).await;
        assert_eq!(response.status, 413, "{path}: {}", response.head);
        assert!(response.header("x-request-id").is_some(), "{path}");
    }
}

#[tokio::test]
async fn every_protocol_error_carries_a_request_id_and_is_json_under_api() {
    let server = start_demo().await;
    let long_target = format!("/api/{}", "a".repeat(9000));
    let big_header = format!("X-Big: {}\r\n", "b".repeat(9000));
    // (what, request, status, whether the request says (in its head, or
    // at least in its request line) that it is for a path under /api, so
    // the answer has the API's shape)
    let cases: Vec<(&str, Vec<u8>, u16, bool)> = vec![
        (
            "Content-Length and Transfer-Encoding",
            b"POST /api/plants HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec(),
            400,
            true,
        ),
        (
            "a Transfer-Encoding we do not do",
            b"POST /api/plants HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n".to_vec(),
            501,
            true,
        ),
        (
            "two Host headers",
            b"GET /api/plants HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n".to_vec(),
            400,
            true,
        ),
        ("a request line over 8000 bytes", get(&long_target, ""), 414, true),
        ("a head over 8 KiB", get("/api/plants", &big_header), 431, true),
        (
            "more than 100 header fields",
            get("/api/plants", &"X-Many: v\r\n".repeat(101)),
            431,
            true,
        ),
        (
            "HTTP/2.0",
            b"GET /api/plants HTTP/2.0\r\nHost: t\r\n\r\n".to_vec(),
            505,
            true,
        ),
        (
            "HTTP/2.0 outside /api",
            b"GET /hello HTTP/2.0\r\nHost: t\r\n\r\n".to_vec(),
            505,
            false,
        ),
        ("not HTTP at all", b"NOT HTTP AT ALL\r\n\r\n".to_vec(), 400, false),
    ];
    for (what, request, status, as_json) in cases {
        let mut client = server.client().await;
        let response = client.exchange(&request).await;
        assert_eq!(response.status, status, "{what}: {}", response.head);
        assert!(
            response.header("x-request-id").is_some(),
            "{what}: no x-request-id in {}",
            response.head
        );
        if as_json {
            assert_api_error(&response, status, what);
        } else {
            assert_ne!(
                response.header("content-type"),
                Some("application/json"),
                "{what}: JSON outside /api"
            );
        }
        client.expect_closed().await;
    }
}

/// `head`, then a chunked body with no data whose trailer section
/// (trailer lines with their CRLFs, and the empty line) is `len` bytes.
fn chunked_trailers_of(head: &str, len: usize) -> Vec<u8> {
    let fill = "t".repeat(len - "X-Fill: \r\n\r\n".len());
    format!("{head}Transfer-Encoding: chunked\r\n\r\n0\r\nX-Fill: {fill}\r\n\r\n").into_bytes()
}

#[tokio::test]
async fn trailers_of_8_kib_pass_and_one_byte_more_is_431_even_on_routes_that_take_no_body() {
    let server = start_demo().await;
    let limit = http_raw::limits::MAX_TRAILERS;
    for head in [
        "GET /api/plants HTTP/1.1\r\nHost: t\r\n",
        "GET /hello HTTP/1.1\r\nHost: t\r\n",
    ] {
        let mut client = server.client().await;
        for len in [limit - 2, limit - 1, limit] {
            let request = chunked_trailers_of(head, len);
            assert_eq!(
                client.exchange(&request).await.status,
                200,
                "{len}: {head:?}"
            );
            // Split across two writes, inside the trailers.
            let split = request.len() - 3;
            client.send(&request[..split]).await;
            client.send(&request[split..]).await;
            assert_eq!(client.read_response().await.status, 200, "split {len}");
        }
        let response = client.exchange(&chunked_trailers_of(head, limit + 1)).await;
        assert_eq!(response.status, 431, "{head:?}");
        if head.contains("/api") {
            assert_api_error(&response, 431, "trailers over the limit under /api");
        }
        client.expect_closed().await;
    }
    // Round 3's F1: one trailer line that fills the budget exactly, then more.
    let mut client = server.client().await;
    client
        .send(b"GET /api/plants HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n")
        .await;
    client
        .send(format!("X:{}\r\nY", "a".repeat(limit - 2)).as_bytes())
        .await;
    assert_api_error(
        &client.read_response().await,
        431,
        "a trailer line of the whole budget",
    );
    client.expect_closed().await;
}

#[tokio::test]
async fn a_head_too_slow_is_408_with_a_request_id() {
    let server =
        start_demo_with(|config| config.http.header_timeout = Duration::from_secs(1)).await;
    let mut client = server.client().await;
    client
        .send(b"GET /api/plants HTTP/1.1\r\nHost: t\r\n")
        .await;
    let response = client.read_response().await;
    assert_eq!(response.status, 408, "{}", response.head);
    assert!(
        response.header("x-request-id").is_some(),
        "{}",
        response.head
    );
}

#[tokio::test]
async fn every_response_names_the_copy_that_sent_it() {
    // By default, the copy is named by the address it listens on.
    let server = start_demo().await;
    let mut client = server.client().await;
    let response = client.exchange(&get("/hello", "")).await;
    assert_eq!(
        response.header("x-instance"),
        Some(server.addr.to_string().as_str())
    );

    let server = start_demo_with(|config| config.instance_name = Some("copy-a".into())).await;
    let mut client = server.client().await;
    for path in ["/hello", "/api/plants", "/api/nothing", "/style.css"] {
        let response = client.exchange(&get(path, "")).await;
        assert_eq!(response.header("x-instance"), Some("copy-a"), "{path}");
    }
    // A request http-raw refuses too.
    let response = client
        .exchange(b"GET /hello HTTP/2.0\r\nHost: t\r\n\r\n")
        .await;
    assert_eq!(response.status, 505);
    assert_eq!(response.header("x-instance"), Some("copy-a"));
}

#[tokio::test]
async fn a_client_past_max_connections_gets_503_with_a_request_id() {
    let server = start_demo_with(|config| {
        config.http.max_connections = 1;
        config.instance_name = Some("full-copy".into());
    })
    .await;
    let mut first = server.client().await;
    assert_eq!(first.exchange(&get("/hello", "")).await.status, 200);
    // The first connection is kept alive, so the only slot is taken.
    let mut second = server.client().await;
    let refused = second.read_response().await;
    assert_eq!(refused.status, 503, "{}", refused.head);
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert!(refused.header("x-request-id").is_some(), "{}", refused.head);
    assert_eq!(refused.header("x-instance"), Some("full-copy"));
    second.expect_closed().await;
}
