//! The solution to `examples/exercise-auth.rs`: paste this `require_token`
//! over yours (and its `use` lines at the top of the file).
//!
//! What to notice: a middleware decides before the handler runs, and can
//! answer without calling `next` at all: the handler never sees a request
//! it should not. The error goes through `req.error_response`, so it is JSON
//! like every other API error, and `WWW-Authenticate` names the scheme the
//! client should use (RFC 9110 section 11.6.1). It is generic over the
//! app's state, since it never looks at it: any app can put it in front.

use http_raw::{Method, Response};
use http_server::{Error, Next, Req};

/// The token this exercise accepts.
pub const TOKEN: &str = "letmein";

// ANCHOR: require_token
/// Lets reads through; a change under `/api/` needs `Authorization: Bearer TOKEN`.
pub async fn require_token<S: Send + Sync + 'static>(req: Req<S>, next: Next<S>) -> Response {
    let reading = matches!(req.method(), Method::Get | Method::Head);
    // `Bearer letmein`: the scheme in any case (RFC 9110 section 11.1), a
    // space, the token.
    let authorised = req
        .header("authorization")
        .and_then(|value| value.split_once(' '))
        .is_some_and(|(scheme, token)| {
            scheme.eq_ignore_ascii_case("bearer") && token.trim() == TOKEN
        });
    if reading || authorised || !req.path().starts_with("/api/") {
        return next.run(req).await;
    }
    req.error_response(Error::new(
        401,
        "changing plants needs `Authorization: Bearer <token>`",
    ))
    .with_header("WWW-Authenticate", "Bearer")
}
// ANCHOR_END: require_token
