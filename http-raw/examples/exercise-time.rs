//! Exercise: add `GET /time` to lesson 3's server.
//!
//! What to do: write `time_route` below. `GET /time` (and `HEAD /time`)
//! answers 200, `text/plain`, with the current time as an HTTP date, the
//! format of the `Date` header: `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110
//! section 5.6.7). Any other method on `/time` answers 405 with
//! `Allow: GET, HEAD`. A query string changes nothing (`/time?x=1` is
//! `/time`). Every other request returns `None`, and the lesson's own routes
//! answer it. The server around it is lesson 3's real one.
//!
//! Check yourself: `cargo test -p http-raw --test exercises -- --ignored`
//! fails until `time_route` is done. Try it by hand:
//! `cargo run -p http-raw --example exercise-time`, then
//! `curl -i http://127.0.0.1:3000/time`. Hint and solution: the book's
//! "Build it yourself" page for lesson 3 (the solution is
//! `examples/solutions/time.rs`).

use std::process::ExitCode;
use std::sync::Arc;

use http_raw::routes::{DemoApp, respond};
use http_raw::{DEFAULT_PORT, HttpConfig, Request, Response};
use tcp_echo::shutdown::shutdown_signal;
use tcp_echo::startup::{fail, listen};

// ANCHOR: time_route
/// `GET /time`: the current time as an HTTP date; `None` for any other path.
pub fn time_route(request: &Request) -> Option<Response> {
    // Your code here. As it is, `/time` is left to the lesson's routes: 404.
    let _ = request;
    None
}
// ANCHOR_END: time_route

#[tokio::main]
async fn main() -> ExitCode {
    let config = match HttpConfig::from_env(DEFAULT_PORT) {
        Ok(config) => config,
        Err(error) => return fail("exercise-time", error, 2),
    };
    let listener = match listen("exercise-time", "http", config.server.addr(), |addr| {
        format!("curl -i http://{addr}/time")
    }) {
        Ok(listener) => listener,
        Err(status) => return status,
    };
    let app = DemoApp::new();
    let handler = move |request: Request| {
        let app = Arc::clone(&app);
        async move {
            match time_route(&request) {
                Some(response) => response,
                None => respond(app, request).await,
            }
        }
    };
    http_raw::serve(listener, &config, handler, shutdown_signal()).await;
    ExitCode::SUCCESS
}
