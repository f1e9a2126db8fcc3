//! An application that sets its own body limits and shapes the protocol's
//! error responses, as lesson 4 does: a request id on every response, and
//! JSON errors under `/api`.

mod support;

use http_raw::{HttpError, Request, Response, Service};
use support::*;

/// Takes bodies of up to 16 bytes under `/api`, none elsewhere; tags every
/// refusal with a request id, and answers in JSON under `/api`.
struct JsonApi;

impl Service for JsonApi {
    async fn call(&self, request: Request) -> Response {
        Response::text(200, format!("{} bytes", request.body().len()))
    }

    fn body_limit(&self, request: &Request) -> usize {
        if request.path().starts_with("/api/") {
            16
        } else {
            0
        }
    }

    fn error_response(
        &self,
        error: &HttpError,
        request: Option<&Request>,
        path: Option<&str>,
        response: &mut Response,
    ) {
        response.set_header("x-request-id", "req-1");
        if path.is_some_and(|path| path.starts_with("/api/")) {
            response.set_header("Content-Type", "application/json");
            response.set_body(format!("{{\"error\": \"{error}\"}}"));
        }
        if request.is_some_and(|request| request.path() == "/try-200") {
            // Trying to turn a refusal into a success: the status is kept.
            *response = Response::text(200, "fine");
        }
    }
}

async fn refusal_to(request: &[u8]) -> RawResponse {
    let server = start_service(config(), JsonApi).await;
    let mut client = server.client().await;
    client.send(request).await;
    let response = client.read_response().await;
    assert!(response.says_close(), "{}", response.head);
    response
}

#[tokio::test]
async fn the_body_limit_is_per_request_and_a_body_within_it_is_read() {
    let server = start_service(config(), JsonApi).await;
    let mut client = server.client().await;
    let response = client
        .exchange(b"POST /api/a HTTP/1.1\r\nHost: t\r\nContent-Length: 16\r\n\r\n0123456789abcdef")
        .await;
    assert_eq!(response.body_text(), "16 bytes");
}

#[tokio::test]
async fn a_body_over_the_limit_gets_the_applications_json_413() {
    let response =
        refusal_to(b"POST /api/a HTTP/1.1\r\nHost: t\r\nContent-Length: 17\r\n\r\n").await;
    assert_eq!(response.status, 413);
    assert_eq!(response.header("x-request-id"), Some("req-1"));
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(
        response.body_text(),
        r#"{"error": "the body is larger than 16 bytes"}"#
    );
}

#[tokio::test]
async fn a_framing_error_comes_with_the_head_so_api_errors_are_json() {
    let response = refusal_to(
        b"POST /api/a HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    )
    .await;
    assert_eq!(response.status, 400);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.header("x-request-id"), Some("req-1"));
}

#[tokio::test]
async fn an_error_before_any_head_still_goes_through_the_hook_with_the_path() {
    // No head was parsed for any of these, but the request line says
    // which path they were for: the application answers in its own shape.
    let long_line = format!("GET /api/{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(9000));
    let big_head = format!(
        "GET /api/a HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "b".repeat(9000)
    );
    for (request, status) in [
        (long_line.into_bytes(), 414),
        (big_head.into_bytes(), 431),
        (b"GET /api/a HTTP/2.0\r\nHost: t\r\n\r\n".to_vec(), 505),
    ] {
        let response = refusal_to(&request).await;
        assert_eq!(response.status, status);
        assert_eq!(response.header("x-request-id"), Some("req-1"));
        assert_eq!(
            response.header("content-type"),
            Some("application/json"),
            "{status}"
        );
    }
    // Nothing that names a path: the default text.
    let response = refusal_to(b"NOT HTTP AT ALL\r\n\r\n").await;
    assert_eq!(response.status, 400);
    assert!(
        response
            .header("content-type")
            .is_some_and(|value| value.starts_with("text/plain")),
        "{}",
        response.head
    );
}

#[tokio::test]
async fn the_hook_cannot_change_the_status() {
    let response =
        refusal_to(b"GET /try-200 HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\n").await;
    assert_eq!(response.status, 413);
    assert_eq!(response.body_text(), "fine");
}

#[tokio::test]
async fn the_503_at_the_connection_limit_goes_through_the_hook_too() {
    let mut config = config();
    config.max_connections = 1;
    let server = start_service(config, JsonApi).await;
    let mut first = server.client().await;
    first
        .exchange(b"POST /api/a HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n")
        .await;
    let mut second = server.client().await;
    let refused = second.read_response().await;
    assert_eq!(refused.status, 503);
    assert_eq!(refused.header("x-request-id"), Some("req-1"));
    assert_eq!(refused.header("retry-after"), Some("1"));
}
