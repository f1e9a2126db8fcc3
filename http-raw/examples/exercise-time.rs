//! Exercise: add `GET /time` to lesson 3's server.
//!
//! What to do: write `time_route` below. `GET /time` (and `HEAD /time`)
//! answers 200, `text/plain`, with the current time as an HTTP date, the
//! format of the `Date` header: `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110
//! section 5.6.7). Any other method on `/time` answers 405 with
//! `Allow: GET, HEAD`. A query string changes nothing (`/time?x=1` is
//! `/time`). Every other request returns `None`. The server around it is
//! lesson 3's library, `http_raw::serve`, which does the HTTP; anything
//! `time_route` leaves gets 404.
//!
//! Check yourself: `cargo test -p http-raw --test exercises -- --ignored`
//! fails until `time_route` is done. Try it by hand:
//! `cargo run -p http-raw --example exercise-time`, then
//! `curl -i http://127.0.0.1:3000/time`. Hint and solution: the book's
//! "Build it yourself" page for lesson 3 (the solution is
//! `examples/solutions/time.rs`).

use std::process::ExitCode;

use http_raw::{DEFAULT_PORT, HttpConfig, Request, Response};
use tcp_echo::shutdown::shutdown_signal;
use tcp_echo::startup::{fail, listen};

// ANCHOR: time_route
/// `GET /time`: the current time as an HTTP date; `None` for any other path.
pub fn time_route(request: &Request) -> Option<Response> {
    // Your code here. As it is, nothing is answered here: `/time` gets 404.
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
    let scheme = config.scheme();
    let listener = match listen("exercise-time", scheme, config.server.addr(), |addr| {
        format!("curl -i {scheme}://{addr}/time")
    }) {
        Ok(listener) => listener,
        Err(status) => return status,
    };
    let handler = |request: Request| async move {
        time_route(&request).unwrap_or_else(|| {
            Response::text(
                404,
                format!("404 Not Found: nothing at {}; try /time\n", request.path()),
            )
        })
    };
    http_raw::serve(listener, &config, handler, shutdown_signal()).await;
    ExitCode::SUCCESS
}
