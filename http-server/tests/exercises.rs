//! The exercises of lesson 4's "Build it yourself" page, checking themselves.
//!
//! Each test is ignored until you switch it on:
//! `cargo test -p http-server --test exercises -- --ignored` runs them
//! against your code in `examples/exercise-*.rs`, and they fail until the
//! exercise is done. With `NETLESSONS_SOLUTIONS=1` they run against the
//! solutions in `examples/solutions/` instead: CI does that, to prove each
//! solution passes the test you are given.

#[path = "../examples/exercise-auth.rs"]
#[allow(dead_code)]
mod exercise_auth;

#[path = "../examples/solutions/auth.rs"]
mod solution_auth;

mod support;

use support::{HttpServerExt, RawClient, config, run_in_process};

/// The exercise's app, with your middleware or, when `NETLESSONS_SOLUTIONS`
/// is set, the solution's, on 127.0.0.1:0 in this process.
async fn start() -> support::TestServer {
    let app = if std::env::var_os("NETLESSONS_SOLUTIONS").is_some() {
        exercise_auth::app(solution_auth::require_token)
    } else {
        exercise_auth::app(exercise_auth::require_token)
    };
    let app = app.expect("the lesson's public directory");
    let config = config();
    let listener = tcp_echo::bind::bind_tcp(config.server.addr()).expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local_addr");
    run_in_process(addr, move |shutdown| async move {
        app.serve(listener, &config, shutdown).await
    })
}

fn create(authorization: &str) -> Vec<u8> {
    let body = r#"{"name": "Fern"}"#;
    format!(
        "POST /api/plants HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{authorization}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

async fn client(server: &support::TestServer) -> RawClient {
    server.client().await
}

#[tokio::test]
#[ignore = "exercise: edit examples/exercise-auth.rs, then run with -- --ignored"]
async fn a_change_without_the_token_is_401_with_www_authenticate_and_json() {
    let server = start().await;
    for authorization in [
        "",
        "Authorization: Bearer wrong\r\n",
        "Authorization: letmein\r\n",
    ] {
        let response = client(&server).await.exchange(&create(authorization)).await;
        assert_eq!(
            response.status, 401,
            "POST /api/plants with {authorization:?} must be refused: {}",
            response.head
        );
        assert_eq!(
            response.header("www-authenticate"),
            Some("Bearer"),
            "a 401 says how to authenticate: WWW-Authenticate: Bearer"
        );
        assert!(
            response.body_text().contains("\"error\""),
            "API errors are JSON {{\"error\": ...}}: {}",
            response.body_text()
        );
    }
    let listed = client(&server)
        .await
        .exchange(b"GET /api/plants HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    assert_eq!(
        listed.body_text(),
        "[]",
        "a refused request never reaches the handler: nothing was created"
    );
}

#[tokio::test]
#[ignore = "exercise: edit examples/exercise-auth.rs, then run with -- --ignored"]
async fn reads_are_open_and_the_right_token_in_any_case_is_let_through() {
    let server = start().await;
    let listed = client(&server)
        .await
        .exchange(b"GET /api/plants HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    assert_eq!(listed.status, 200, "reading needs no token");
    for authorization in [
        "Authorization: Bearer letmein\r\n",
        "Authorization: bearer letmein\r\n",
    ] {
        let response = client(&server).await.exchange(&create(authorization)).await;
        assert_eq!(
            response.status, 201,
            "POST with {authorization:?} is allowed: {}",
            response.head
        );
    }
    let page = client(&server)
        .await
        .exchange(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    assert_eq!(page.status, 200, "static files need no token");
}

#[test]
fn the_solution_fills_exactly_the_exercises_hole() {
    testkit::exercises::assert_fragment_fills_anchor(
        env!("CARGO_MANIFEST_DIR"),
        "examples/exercise-auth.rs",
        "examples/solutions/auth.rs",
        "require_token",
    );
}
