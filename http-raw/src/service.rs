//! `Service`: what the server asks the application, and when.
//!
//! What to notice: the connection loop asks the application three questions,
//! at three moments of a request's life:
//!
//! 1. **`body_limit`**, as soon as the head is parsed and *before* a single
//!    body byte is read: how many body bytes will this request be allowed?
//!    A route that takes no body says 0, and a client that announces more
//!    gets 413 at once, from its `Content-Length` alone (or, for a chunked
//!    body, as soon as a chunk size passes the limit). Deciding after reading
//!    would mean reading first, and a thousand clients each sending a 1 MiB
//!    body to a route that ignores it would cost a gigabyte.
//! 2. **`call`**, with the whole request: the response.
//! 3. **`error_response`**, when http-raw itself refuses a request (400, 408,
//!    413, 414, 431, 501, 505, or 503 when the server is full): the
//!    application may reshape the response, e.g. add a request id or answer
//!    in JSON. The status and `Connection: close` stay http-raw's.
//!
//! Any `Fn(Request) -> impl Future<Output = Response>` is a `Service` that
//! takes bodies up to [`DEFAULT_BODY_LIMIT`] and leaves errors as they are,
//! so the simplest server is still one closure.

use std::future::Future;

use crate::error::HttpError;
use crate::limits::DEFAULT_BODY_LIMIT;
use crate::parse::path_of_request_line;
use crate::request::Request;
use crate::response::Response;

// ANCHOR: service
/// An HTTP application, as the connection loop sees it.
pub trait Service: Send + Sync + 'static {
    /// Answers one request (its body already read, at most
    /// [`body_limit`](Service::body_limit) bytes).
    fn call(&self, request: Request) -> impl Future<Output = Response> + Send;

    /// How many body bytes `request` may have; 0 when it takes none. Asked
    /// only of requests that announce a body, with the head alone
    /// (`request.body()` is still empty), before any body byte is read. A
    /// larger body gets 413 and the connection closes.
    fn body_limit(&self, request: &Request) -> usize {
        let _ = request;
        DEFAULT_BODY_LIMIT
    }

    /// Shapes the response to a request that http-raw refused with `error`.
    /// `request` is the head, when one was parsed (its body is empty).
    /// `path` is the request's path whenever it is known: from the head, or,
    /// when the head could not be parsed (a head too large, an HTTP version
    /// we do not speak, a request line too long), from the request line
    /// alone. `response` arrives as http-raw's default (the status and a
    /// line of text saying why, e.g. `413 Content Too Large: this request
    /// takes no body`) and may be changed: headers added, the body replaced.
    /// Whatever it says, the status stays `error.status()` and the connection
    /// closes after it.
    fn error_response(
        &self,
        error: &HttpError,
        request: Option<&Request>,
        path: Option<&str>,
        response: &mut Response,
    ) {
        let _ = (error, request, path, response);
    }
}
// ANCHOR_END: service

/// A closure is the simplest service: every request it answers may have a
/// body of up to [`DEFAULT_BODY_LIMIT`].
impl<H, F> Service for H
where
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    fn call(&self, request: Request) -> impl Future<Output = Response> + Send {
        self(request)
    }
}

/// The response to a request http-raw refuses with `error`: the default,
/// reshaped by the application, with the status kept. `unparsed` holds what
/// arrived of a head that could not be parsed, if any: its request line
/// may still say which path the request was for.
pub(crate) fn refusal_response<S: Service>(
    service: &S,
    error: &HttpError,
    request: Option<&Request>,
    unparsed: &[u8],
) -> Response {
    let mut response = error.to_response();
    let path = match request {
        Some(request) => Some(request.path()),
        None => path_of_request_line(unparsed),
    };
    service.error_response(error, request, path, &mut response);
    // The status is the protocol's verdict, not the application's.
    response.status = error.status();
    response
}
