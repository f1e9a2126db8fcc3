//! The solution to `examples/exercise-time.rs`: paste this `time_route`
//! over yours (and its `use` lines at the top of the file).
//!
//! What to notice: the route is matched on `request.path()`, which has the
//! query string cut off, and on the method; HEAD needs no code of its own
//! because http-raw drops the body of a response to HEAD and keeps its
//! headers. `httpdate` formats the time the way the `Date` header does.

use std::time::SystemTime;

use http_raw::{Method, Request, Response};

// ANCHOR: time_route
/// `GET /time`: the current time as an HTTP date; `None` for any other path.
pub fn time_route(request: &Request) -> Option<Response> {
    if request.path() != "/time" {
        return None;
    }
    Some(match request.method() {
        Method::Get | Method::Head => {
            Response::text(200, httpdate::fmt_http_date(SystemTime::now()))
        }
        _ => Response::text(405, "405 Method Not Allowed: /time allows GET, HEAD\n")
            .with_header("Allow", "GET, HEAD"),
    })
}
// ANCHOR_END: time_route
