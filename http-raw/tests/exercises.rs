//! The exercises of lesson 3's "Build it yourself" page, checking themselves.
//!
//! Each test is ignored until you switch it on:
//! `cargo test -p http-raw --test exercises -- --ignored` runs them against
//! your code in `examples/exercise-*.rs`, and they fail until the exercise
//! is done. With `NETLESSONS_SOLUTIONS=1` they run against the solutions in
//! `examples/solutions/` instead: CI does that, to prove each solution
//! passes the test you are given.

use std::time::{Duration, SystemTime};

use http_raw::{Request, Response};

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

fn request(text: &str) -> Request {
    Request::parse(text.as_bytes()).expect("a valid request")
}

fn body_text(response: &Response) -> String {
    let bytes = response.body().as_bytes().expect("a body in memory");
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
#[ignore = "exercise: edit examples/exercise-time.rs, then run with -- --ignored"]
fn get_time_answers_the_current_time_as_an_http_date() {
    let time_route = under_test::<fn(&Request) -> Option<Response>>(
        exercise_time::time_route,
        solution_time::time_route,
    );
    for target in ["/time", "/time?format=anything"] {
        let response = time_route(&request(&format!(
            "GET {target} HTTP/1.1\r\nHost: x\r\n\r\n"
        )))
        .unwrap_or_else(|| panic!("GET {target} returned None: answer it"));
        assert_eq!(response.status(), 200, "GET {target}");
        assert!(
            response
                .header("content-type")
                .is_some_and(|value| value.starts_with("text/plain")),
            "GET {target}: Content-Type should be text/plain, is {:?}",
            response.header("content-type")
        );
        let text = body_text(&response);
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
    let head = time_route(&request("HEAD /time HTTP/1.1\r\nHost: x\r\n\r\n"))
        .expect("HEAD /time is answered too");
    assert_eq!(head.status(), 200, "HEAD /time");
}

#[test]
#[ignore = "exercise: edit examples/exercise-time.rs, then run with -- --ignored"]
fn other_methods_on_time_get_405_and_other_paths_are_left_alone() {
    let time_route = under_test::<fn(&Request) -> Option<Response>>(
        exercise_time::time_route,
        solution_time::time_route,
    );
    let response = time_route(&request(
        "POST /time HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    ))
    .expect("POST /time returned None: answer it with 405");
    assert_eq!(response.status(), 405, "POST /time");
    let allow = response.header("allow").unwrap_or_default();
    assert!(
        allow.contains("GET") && allow.contains("HEAD"),
        "a 405 says what is allowed: Allow: GET, HEAD (got {allow:?})"
    );
    for other in ["/hello", "/timer", "/"] {
        assert!(
            time_route(&request(&format!(
                "GET {other} HTTP/1.1\r\nHost: x\r\n\r\n"
            )))
            .is_none(),
            "GET {other} is not yours: return None so the lesson's routes answer it"
        );
    }
}
