//! Middleware: functions around the next handler.
//!
//! What to notice: a middleware is an `async fn(req, next) -> Response`. It
//! can look at (or change) the request, call `next.run(req).await` to pass it
//! on, and look at (or change) the response on its way back. Or not call
//! `next` at all, and answer by itself (`cors` does, for a preflight). One
//! shape covers logging, ids, CORS and auth.
//!
//! Below: `request_id` and `log_requests`, which the demo app uses, and
//! `cors`, which it does not need (its page and its API share one origin)
//! but which the chapter and the tests show. Each is a few lines.
//!
//! (A body limit is *not* a middleware: it must be decided before the body
//! is read, and a middleware only runs once it has been. See
//! `App::body_limit`.)

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use http_raw::{Method, Response};
use tracing::info;

use crate::app::{App, BoxFuture};
use crate::req::Req;

/// The rest of the chain after a middleware: the middleware added after it,
/// then the router.
pub struct Next<S> {
    app: Arc<App<S>>,
    /// The middleware to run next; past the last one, the router.
    index: usize,
}

impl<S: Send + Sync + 'static> Next<S> {
    /// The whole chain, from the first middleware.
    pub(crate) fn start(app: Arc<App<S>>) -> Next<S> {
        Next { app, index: 0 }
    }

    // ANCHOR: run
    /// Passes `req` on down the chain and returns the response.
    ///
    /// It returns a boxed future rather than being an `async fn`: each
    /// middleware's future then holds a pointer to the rest of the chain,
    /// not the rest of the chain itself, so futures stay small however many
    /// middleware there are.
    pub fn run(self, req: Req<S>) -> BoxFuture<Response> {
        match self.app.middleware.get(self.index) {
            Some(middleware) => {
                let next = Next {
                    app: Arc::clone(&self.app),
                    index: self.index + 1,
                };
                middleware(req, next)
            }
            None => self.app.dispatch(req),
        }
    }
    // ANCHOR_END: run
}

/// The request's id, as the `request_id` middleware stored it.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

// ANCHOR: request_id
/// Gives every request an id, and every response an `x-request-id` header:
/// the client's own id if it sent a sensible one (so one id follows a request
/// through several services), or a new one. Logs can then be matched to
/// the response a user reports.
pub async fn request_id<S: Send + Sync + 'static>(mut req: Req<S>, next: Next<S>) -> Response {
    let id = request_id_for(req.header("x-request-id"));
    req.insert(RequestId(id.clone()));
    let mut response = next.run(req).await;
    response.set_header("x-request-id", id);
    response
}
// ANCHOR_END: request_id

/// The id for a request that sent `sent` as its `x-request-id`: that one if
/// it is sensible, else a new one. (The app's answers to requests that
/// http-raw refused get theirs here too.)
pub(crate) fn request_id_for(sent: Option<&str>) -> String {
    sent.filter(|id| is_sensible_id(id))
        .map_or_else(new_request_id, str::to_string)
}

/// 1 to 64 characters from a safe set: an id from outside ends up in our
/// logs and headers, so nothing that could forge a log line or a header.
fn is_sensible_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.'))
}

/// A new id: this process's start time and a counter, unique enough to find
/// a request in the logs, and cheaper than a random UUID.
fn new_request_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static PREFIX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let prefix = PREFIX.get_or_init(|| {
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        format!("{started:x}-")
    });
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut id = String::with_capacity(prefix.len() + 20);
    id.push_str(prefix);
    id.push_str(itoa::Buffer::new().format(count));
    id
}

/// Logs every request with its status and how long the app took, at info.
/// (http-raw logs the same request at the transport level; this line adds
/// what only the app knows: the request id.)
pub async fn log_requests<S: Send + Sync + 'static>(req: Req<S>, next: Next<S>) -> Response {
    if !tracing::enabled!(tracing::Level::INFO) {
        return next.run(req).await;
    }
    let started = Instant::now();
    let method = req.request().method_str().to_string();
    let path = req.path().to_string();
    let id = req
        .get::<RequestId>()
        .map(|id| id.0.clone())
        .unwrap_or_default();
    let response = next.run(req).await;
    info!(
        request_id = %id,
        status = response.status(),
        duration = ?started.elapsed(),
        "app: {method} {path}"
    );
    response
}

// `cors` takes a setting, so it is made by a function that returns the
// middleware. Why `BoxFuture` and not `async move`: that function would have
// to return `impl Fn(..) -> impl Future`, which stable Rust cannot write; a
// boxed future is a type we can name.

/// Cross-origin requests (CORS), opt-in: lets pages from `allowed_origin`
/// call this app from their JavaScript. Browsers first send an `OPTIONS`
/// "preflight" for anything but simple requests; it is answered here, before
/// the router (which has no OPTIONS routes) would say 405.
pub fn cors<S: Send + Sync + 'static>(
    allowed_origin: &'static str,
) -> impl Fn(Req<S>, Next<S>) -> BoxFuture<Response> + Send + Sync + 'static {
    move |req, next| {
        Box::pin(async move {
            let from_allowed = req.header("origin") == Some(allowed_origin);
            if from_allowed && req.method() == Method::Options {
                return Response::new(204)
                    .with_header("Access-Control-Allow-Origin", allowed_origin)
                    .with_header("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE")
                    .with_header("Access-Control-Allow-Headers", "Content-Type")
                    .with_header("Access-Control-Max-Age", "600")
                    .with_header("Vary", "Origin");
            }
            let mut response = next.run(req).await;
            if from_allowed {
                response.set_header("Access-Control-Allow-Origin", allowed_origin);
                response.set_header("Vary", "Origin");
            }
            response
        })
    }
}
