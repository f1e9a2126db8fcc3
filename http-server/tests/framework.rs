//! The framework on real sockets: middleware order, errors as values,
//! panics, request ids, body limits, CORS, and http-raw's protocol still
//! holding underneath.

mod support;

use std::sync::{Arc, Mutex};

use http_raw::Response;
use http_server::middleware::{cors, request_id};
use http_server::{App, Error, Next, Req};
use support::*;

async fn hello<S>(_req: Req<S>) -> Result<Response, Error> {
    Ok(Response::text(200, "Hello, world"))
}

async fn start(app: App<()>) -> TestServer {
    start_service(config(), app.into_service()).await
}

#[tokio::test]
async fn middleware_runs_in_the_order_added_around_the_handler() {
    let trail = Arc::new(Mutex::new(Vec::new()));
    let (first, second, handler_trail) =
        (Arc::clone(&trail), Arc::clone(&trail), Arc::clone(&trail));
    let app = App::new(())
        .middleware(move |req: Req<()>, next: Next<()>| {
            let trail = Arc::clone(&first);
            async move {
                trail.lock().expect("lock").push("first: before");
                let response = next.run(req).await;
                trail.lock().expect("lock").push("first: after");
                response
            }
        })
        .middleware(move |req: Req<()>, next: Next<()>| {
            let trail = Arc::clone(&second);
            async move {
                trail.lock().expect("lock").push("second: before");
                let response = next.run(req).await;
                trail.lock().expect("lock").push("second: after");
                response
            }
        })
        .get("/", move |_req: Req<()>| {
            let trail = Arc::clone(&handler_trail);
            async move {
                trail.lock().expect("lock").push("handler");
                Ok(Response::text(200, "ok"))
            }
        });
    let server = start(app).await;
    assert_eq!(
        server.client().await.exchange(&get("/", "")).await.status,
        200
    );
    assert_eq!(
        *trail.lock().expect("lock"),
        [
            "first: before",
            "second: before",
            "handler",
            "second: after",
            "first: after"
        ]
    );
}

#[tokio::test]
async fn errors_are_json_under_api_and_text_elsewhere() {
    let app = App::new(())
        .get("/api/thing/:id", |req: Req<()>| async move {
            let id: u32 = req.param_as("id")?;
            Err(Error::bad_request(format!("thing {id} is broken")))
        })
        .get("/page", |_req: Req<()>| async {
            Err(Error::not_found("no page"))
        });
    let server = start(app).await;
    let mut client = server.client().await;

    let response = client.exchange(&get("/api/thing/7", "")).await;
    assert_eq!(response.status, 400);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.body_text(), r#"{"error":"thing 7 is broken"}"#);

    let response = client.exchange(&get("/api/thing/seven", "")).await;
    assert_eq!(
        response.status, 404,
        "a typed parameter that does not parse names nothing"
    );
    assert_eq!(response.header("content-type"), Some("application/json"));

    let response = client.exchange(&get("/api/nothing-here", "")).await;
    assert_eq!(response.status, 404);
    assert!(
        response.body_text().starts_with(r#"{"error":"#),
        "{}",
        response.body_text()
    );

    let response = client.exchange(&get("/page", "")).await;
    assert_eq!(response.status, 404);
    assert_eq!(response.body_text(), "404 Not Found: no page\n");
}

#[tokio::test]
async fn a_wrong_method_is_405_with_allow() {
    let app = App::new(()).get("/things", hello).post("/things", hello);
    let server = start(app).await;
    let response = server
        .client()
        .await
        .exchange(b"DELETE /things HTTP/1.1\r\nHost: t\r\n\r\n")
        .await;
    assert_eq!(response.status, 405);
    assert_eq!(response.header("allow"), Some("GET, HEAD, POST"));
}

#[tokio::test]
async fn a_panicking_handler_gets_500_and_the_server_keeps_serving() {
    let app = App::new(())
        .middleware(request_id)
        .get("/boom", |_req: Req<()>| async { panic!("boom") })
        .get("/hello", hello);
    let server = start(app).await;
    let mut client = server.client().await;
    let response = client.exchange(&get("/boom", "")).await;
    assert_eq!(response.status, 500);
    assert!(
        response.header("x-request-id").is_some(),
        "even a 500 carries its request id"
    );
    // The same connection, and a new one, are both fine.
    assert_eq!(client.exchange(&get("/hello", "")).await.status, 200);
    assert_eq!(
        server
            .client()
            .await
            .exchange(&get("/hello", ""))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_a_sensible_one_is_kept() {
    let app = App::new(()).middleware(request_id).get("/hello", hello);
    let server = start(app).await;
    let mut client = server.client().await;
    let mut seen = Vec::new();
    for path in ["/hello", "/hello", "/nope"] {
        let response = client.exchange(&get(path, "")).await;
        let id = response
            .header("x-request-id")
            .unwrap_or_else(|| panic!("no x-request-id on {path}"));
        seen.push(id.to_string());
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 3, "each request gets its own id");

    let response = client
        .exchange(&get("/hello", "X-Request-Id: trace-42\r\n"))
        .await;
    assert_eq!(response.header("x-request-id"), Some("trace-42"));
    let response = client
        .exchange(&get("/hello", "X-Request-Id: bad id with spaces\r\n"))
        .await;
    assert_ne!(response.header("x-request-id"), Some("bad id with spaces"));
}

#[tokio::test]
async fn a_body_over_the_app_limit_is_413_before_it_is_read() {
    let app = App::new(())
        .body_limit(10)
        .post("/api/echo", |req: Req<()>| async move {
            Ok(Response::new(200).with_body(req.request().body().clone()))
        })
        .get("/api/echo", hello);
    let server = start(app).await;
    let mut client = server.client().await;
    let small = client
        .exchange(b"POST /api/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nhello body")
        .await;
    assert_eq!(small.body, b"hello body");
    // Only the head is sent: the 413 cannot wait for the body.
    let large = client
        .exchange(b"POST /api/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\n")
        .await;
    assert_eq!(large.status, 413);
    assert_eq!(
        large.body_text(),
        r#"{"error":"the body is larger than 10 bytes"}"#
    );
    client.expect_closed().await;
    // A GET route takes no body at all.
    let mut client = server.client().await;
    let get_with_body = client
        .exchange(b"GET /api/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\n")
        .await;
    assert_eq!(get_with_body.status, 413);
}

#[tokio::test]
async fn cors_answers_preflight_and_marks_responses_for_the_allowed_origin_only() {
    let app = App::new(())
        .middleware(cors("http://localhost:5173"))
        .get("/api/x", hello);
    let server = start(app).await;
    let mut client = server.client().await;
    let preflight = client
        .exchange(b"OPTIONS /api/x HTTP/1.1\r\nHost: t\r\nOrigin: http://localhost:5173\r\nAccess-Control-Request-Method: POST\r\n\r\n")
        .await;
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("http://localhost:5173")
    );
    let allowed = client
        .exchange(&get("/api/x", "Origin: http://localhost:5173\r\n"))
        .await;
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("http://localhost:5173")
    );
    let other = client
        .exchange(&get("/api/x", "Origin: https://evil.example\r\n"))
        .await;
    assert_eq!(other.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn path_and_query_parameters_arrive_decoded() {
    let app = App::new(()).get("/greet/:name", |req: Req<()>| async move {
        let name = req.param("name").unwrap_or_default().to_string();
        let greeting = req.query("greeting").unwrap_or_else(|| "Hello".to_string());
        Ok(Response::text(200, format!("{greeting}, {name}!")))
    });
    let server = start(app).await;
    let response = server
        .client()
        .await
        .exchange(&get("/greet/J%C3%BCrgen%20B?greeting=Good+day", ""))
        .await;
    assert_eq!(response.body_text(), "Good day, Jürgen B!");
}

#[tokio::test]
async fn http_raw_protocol_still_holds_through_the_framework() {
    let app = App::new(())
        .get("/hello", hello)
        .post("/echo", |req: Req<()>| async move {
            Ok(Response::new(200).with_body(req.request().body().clone()))
        });
    let server = start(app).await;
    let mut client = server.client().await;
    // Pipelining, in order.
    let mut batch = get("/hello", "");
    batch.extend(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
    batch.extend(get("/nope", ""));
    client.send(&batch).await;
    assert_eq!(client.read_response().await.body, b"Hello, world");
    assert_eq!(client.read_response().await.body, b"abc");
    assert_eq!(client.read_response().await.status, 404);
    // HEAD from a GET route: headers, no body.
    client
        .send(b"HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        .await;
    let head = client.read_response_to(true).await;
    assert_eq!(head.header("content-length"), Some("12"));
    // Smuggling defences are http-raw's and still apply.
    let response = client
        .exchange(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        .await;
    assert_eq!(response.status, 400);
    client.expect_closed().await;
}
