//! The exercises of lesson 3's "Build it yourself" page, checking themselves.
//!
//! Each test is ignored until you switch it on:
//! `cargo test -p http-raw --test exercises -- --ignored` runs them against
//! your code in `examples/exercise-*.rs`, and they fail until the exercise
//! is done. With `NETLESSONS_SOLUTIONS=1` they run against the solutions in
//! `examples/solutions/` instead: CI does that, to prove each solution
//! passes the test you are given.

mod support;

use std::time::{Duration, SystemTime};

use http_raw::{Request, Response};
use support::{HttpServerExt, RawClient, config, get, start_with};

#[allow(dead_code)]
#[path = "../examples/exercise-time.rs"]
mod exercise_time;

#[path = "../examples/solutions/time.rs"]
mod solution_time;

/// Your code, or the solution when `NETLESSONS_SOLUTIONS` is set.
fn under_test<T>(yours: T, solution: T) -> T {
    if std::env::var_os("NETLESSONS_SOLUTIONS").is_some() {
        solution
    } else {
        yours
    }
}

/// `time_route` (yours or the solution) behind `http_raw::serve` on
/// 127.0.0.1:0; what it leaves gets 404, as in the exercise's server.
async fn start() -> support::TestServer {
    let time_route = under_test::<fn(&Request) -> Option<Response>>(
        exercise_time::time_route,
        solution_time::time_route,
    );
    start_with(config(), move |request: Request| async move {
        time_route(&request).unwrap_or_else(|| Response::text(404, "left to the lesson's routes\n"))
    })
    .await
}

async fn client(server: &support::TestServer) -> RawClient {
    server.client().await
}

#[tokio::test]
#[ignore = "exercise: edit examples/exercise-time.rs, then run with -- --ignored"]
async fn get_time_answers_the_current_time_as_an_http_date() {
    let server = start().await;
    for target in ["/time", "/time?format=anything"] {
        let response = client(&server).await.exchange(&get(target, "")).await;
        assert_eq!(response.status, 200, "GET {target}: {}", response.head);
        assert!(
            response
                .header("content-type")
                .is_some_and(|value| value.starts_with("text/plain")),
            "GET {target}: Content-Type should be text/plain: {}",
            response.head
        );
        let text = response.body_text();
        let time = httpdate::parse_http_date(text.trim()).unwrap_or_else(|_| {
            panic!(
                "GET {target}: {text:?} is not an HTTP date like `Sun, 06 Nov 1994 08:49:37 GMT`"
            )
        });
        let off = SystemTime::now()
            .duration_since(time)
            .unwrap_or_else(|early| early.duration());
        assert!(
            off < Duration::from_secs(60),
            "GET {target}: {text:?} is not the current time"
        );
    }
    let mut head = client(&server).await;
    head.send(b"HEAD /time HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let response = head.read_response_to(true).await;
    assert_eq!(response.status, 200, "HEAD /time: {}", response.head);
}

#[tokio::test]
#[ignore = "exercise: edit examples/exercise-time.rs, then run with -- --ignored"]
async fn other_methods_on_time_get_405_and_other_paths_are_left_alone() {
    let server = start().await;
    let response = client(&server)
        .await
        .exchange(b"POST /time HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        .await;
    assert_eq!(response.status, 405, "POST /time: {}", response.head);
    let allow = response.header("allow").unwrap_or_default();
    assert!(
        allow.contains("GET") && allow.contains("HEAD"),
        "a 405 says what is allowed: Allow: GET, HEAD (got {allow:?})"
    );
    for other in ["/hello", "/timer", "/"] {
        let response = client(&server).await.exchange(&get(other, "")).await;
        assert_eq!(
            response.body_text(),
            "left to the lesson's routes\n",
            "GET {other} is not yours: return None so the lesson's routes answer it"
        );
    }
}

#[test]
fn the_solution_fills_exactly_the_exercises_hole() {
    testkit::exercises::assert_fragment_fills_anchor(
        env!("CARGO_MANIFEST_DIR"),
        "examples/exercise-time.rs",
        "examples/solutions/time.rs",
        "time_route",
    );
}
