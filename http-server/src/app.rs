//! `App`: routes and middleware put together, served by http-raw.
//!
//! What to notice: this file is the whole "framework" around the router.
//! A request goes through the middleware in the order they were added
//! (`.middleware(a).middleware(b)`: `a` sees the request first and the
//! response last), then to the router, then to the handler. A handler's
//! `Err` becomes an error response here, and a handler that *panics* is
//! caught here too: that request gets a 500, and the server goes on serving
//! everyone else.
//!
//! http-raw asks the app two more things (its `Service` trait), and both are
//! answered here: how large a body a request may have, decided from its
//! head before any body byte is read (the route decides: one that takes no
//! body reads none); and how to shape the answer to a request that http-raw
//! refused itself (400, 408, 413, ...), so that it too carries a request id,
//! and is JSON under `/api` like every other error of the API.

use std::future::{Future, ready};
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::FutureExt;
use http_raw::{HttpConfig, HttpError, Method, Request, Response, Service};
use tokio::net::TcpListener;
use tracing::{debug, info};

use crate::error::Error;
use crate::middleware::{Next, request_id_for};
use crate::panic_log::panic_message;
use crate::req::Req;
use crate::router::{Routed, Router};
use crate::static_files::StaticFiles;

/// A boxed future: how handlers and middleware of different types can sit in
/// one list.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A route handler, boxed, and wrapped by `App::route` so that its future
/// always ends in a response: its `Err`, or its panic, already turned into one.
pub type Handler<S> = Arc<dyn Fn(Req<S>) -> BoxFuture<Response> + Send + Sync>;

/// A middleware, boxed.
pub type Middleware<S> = Arc<dyn Fn(Req<S>, Next<S>) -> BoxFuture<Response> + Send + Sync>;

/// Requests under this path are the JSON API: their errors are JSON
/// (`{"error": "..."}`), and their responses are marked `no-store`.
pub const API_PREFIX: &str = "/api";

/// The largest body a route that takes one (POST, PUT, PATCH) accepts,
/// unless the app says otherwise (`App::body_limit`). 16 KiB is far more
/// than any JSON form needs, and keeps what a thousand clients can make the
/// server hold to 16 MB, not http-raw's 1 GiB (1 MiB each).
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024;

/// An application: state, middleware, routes, and optionally static files.
///
/// Built once, then shared by every connection as an `Arc<App<S>>`.
pub struct App<S> {
    /// What every handler shares (`req.state()`).
    state: Arc<S>,
    /// In the order added: the first sees each request first.
    pub(crate) middleware: Vec<Middleware<S>>,
    router: Router<Handler<S>>,
    /// For GET and HEAD requests that no route matches.
    static_files: Option<StaticFiles>,
    /// The largest body of a request to a route that takes one.
    body_limit: usize,
    /// Headers set on every response (e.g. which copy of the server answered).
    every_response: Vec<(&'static str, &'static str)>,
}

impl<S: Send + Sync + 'static> App<S> {
    /// An app whose handlers share `state`.
    pub fn new(state: S) -> App<S> {
        App {
            state: Arc::new(state),
            middleware: Vec::new(),
            router: Router::new(),
            static_files: None,
            body_limit: DEFAULT_BODY_LIMIT,
            every_response: Vec::new(),
        }
    }

    /// Adds a middleware: `async fn(Req<S>, Next<S>) -> Response`.
    pub fn middleware<M, F>(mut self, middleware: M) -> App<S>
    where
        M: Fn(Req<S>, Next<S>) -> F + Send + Sync + 'static,
        F: Future<Output = Response> + Send + 'static,
    {
        self.middleware
            .push(Arc::new(move |req, next| Box::pin(middleware(req, next))));
        self
    }

    /// Adds a route for `method` and `pattern` (see `router.rs`).
    pub fn route<H, F>(mut self, method: Method, pattern: &str, handler: H) -> App<S>
    where
        H: Fn(Req<S>) -> F + Send + Sync + 'static,
        F: Future<Output = Result<Response, Error>> + Send + 'static,
    {
        self.router.add(
            method,
            pattern,
            Arc::new(move |req: Req<S>| {
                let as_json = req.wants_json_errors();
                Box::pin(run_handler(handler(req), as_json))
            }),
        );
        self
    }

    /// `route(Method::Get, ...)`; HEAD is answered by GET routes too.
    pub fn get<H, F>(self, pattern: &str, handler: H) -> App<S>
    where
        H: Fn(Req<S>) -> F + Send + Sync + 'static,
        F: Future<Output = Result<Response, Error>> + Send + 'static,
    {
        self.route(Method::Get, pattern, handler)
    }

    /// `route(Method::Post, ...)`.
    pub fn post<H, F>(self, pattern: &str, handler: H) -> App<S>
    where
        H: Fn(Req<S>) -> F + Send + Sync + 'static,
        F: Future<Output = Result<Response, Error>> + Send + 'static,
    {
        self.route(Method::Post, pattern, handler)
    }

    /// `route(Method::Put, ...)`.
    pub fn put<H, F>(self, pattern: &str, handler: H) -> App<S>
    where
        H: Fn(Req<S>) -> F + Send + Sync + 'static,
        F: Future<Output = Result<Response, Error>> + Send + 'static,
    {
        self.route(Method::Put, pattern, handler)
    }

    /// `route(Method::Delete, ...)`.
    pub fn delete<H, F>(self, pattern: &str, handler: H) -> App<S>
    where
        H: Fn(Req<S>) -> F + Send + Sync + 'static,
        F: Future<Output = Result<Response, Error>> + Send + 'static,
    {
        self.route(Method::Delete, pattern, handler)
    }

    /// Serves the files under `dir` for GET and HEAD requests that no route
    /// matches (`/` is `dir/index.html`).
    pub fn static_files(mut self, dir: impl AsRef<Path>) -> std::io::Result<App<S>> {
        self.static_files = Some(StaticFiles::new(dir)?);
        Ok(self)
    }

    /// Bodies of up to `limit` bytes for the routes that take one (POST,
    /// PUT, PATCH; default [`DEFAULT_BODY_LIMIT`]). Every other request may
    /// have no body: a larger one is refused with 413 from its head alone.
    pub fn body_limit(mut self, limit: usize) -> App<S> {
        self.body_limit = limit;
        self
    }

    /// Sends the header `name: value` on every response, the ones http-raw
    /// refuses included.
    pub fn header_on_every_response(
        mut self,
        name: &'static str,
        value: impl Into<String>,
    ) -> App<S> {
        // Leaked on purpose, once, when the app is built: as a `&'static
        // str` the value goes on every response as it is, where a `String`
        // would be copied into a new allocation for each one. An app is
        // built once per process, so what is leaked is a few bytes, once.
        let value: &'static str = Box::leak(value.into().into_boxed_str());
        self.every_response.push((name, value));
        self
    }

    /// Runs the app on `listener` with http-raw until `shutdown` completes.
    pub async fn serve(self, listener: TcpListener, config: &HttpConfig, shutdown: impl Future) {
        http_raw::serve_service(listener, config, self.into_service(), shutdown).await;
    }

    /// The app as http-raw's `Service`, for tests and for serving it some
    /// other way.
    pub fn into_service(self) -> impl Service {
        Served(Arc::new(self))
    }

    // ANCHOR: handle
    /// One request, through the middleware, to its route.
    async fn handle(self: Arc<Self>, request: Request) -> Response {
        let mut req = Req::new(request, Arc::clone(&self.state));
        let for_api = is_api_path(req.path());
        req.json_errors = for_api;
        let mut response = Next::start(Arc::clone(&self)).run(req).await;
        for (name, value) in &self.every_response {
            response.set_header(*name, *value);
        }
        // The API's answers are about this moment and often this client:
        // no cache on the way (a proxy, a CDN, the browser) may keep one
        // and hand it to the next request (RFC 9111 5.2.2.5).
        if for_api && response.header("cache-control").is_none() {
            response.set_header("Cache-Control", "no-store");
        }
        response
    }
    // ANCHOR_END: handle

    // ANCHOR: body_limit
    /// How large a body `request` may have, from its head alone: the limit
    /// if it reaches a route that takes a body, else 0. (A POST to a path
    /// with no POST route would get 405; with a body it gets 413 first,
    /// since no body is read for a request that nothing will use.)
    fn body_limit_for(&self, request: &Request) -> usize {
        let takes_body = matches!(request.method(), Method::Post | Method::Put | Method::Patch);
        match self.router.find(request.method(), request.path()) {
            Routed::Found(..) if takes_body => self.body_limit,
            _ => 0,
        }
    }
    // ANCHOR_END: body_limit

    /// The answer to a request that http-raw refused (`request` is its head,
    /// if one was parsed; `path` its path, if known even without a head): it
    /// gets a request id, like every response, and under `/api` the API's
    /// JSON shape.
    fn shape_refusal(
        &self,
        error: &HttpError,
        request: Option<&Request>,
        path: Option<&str>,
        response: &mut Response,
    ) {
        let id = request_id_for(request.and_then(|request| request.header("x-request-id")));
        info!(request_id = %id, status = error.status(), "app: refused: {error}");
        response.set_header("x-request-id", id);
        for (name, value) in &self.every_response {
            response.set_header(*name, *value);
        }
        if path.is_some_and(is_api_path) {
            let body = serde_json::json!({ "error": error.to_string() }).to_string();
            response.set_header("Content-Type", "application/json");
            response.set_header("Cache-Control", "no-store");
            response.set_body(body);
        }
    }

    // ANCHOR: dispatch
    /// The end of the middleware chain: the route's handler (whose future
    /// answers whatever happens: see `run_handler`); or, when no route takes
    /// the request, 405, a static file, 404 or 400.
    pub(crate) fn dispatch(self: Arc<Self>, mut req: Req<S>) -> BoxFuture<Response> {
        let as_json = req.wants_json_errors();
        let answer = match self.router.find(req.method(), req.path()) {
            Routed::Found(handler, params) => {
                req.params = params;
                // The handler's future is boxed already: handed on as it
                // is, it costs no second allocation.
                return handler(req);
            }
            Routed::NotFound if is_get_or_head(&req) => {
                return Box::pin(self.serve_file(req, as_json));
            }
            Routed::WrongMethod(allow) => {
                let error = Error::new(405, format!("{} allows {allow}", req.path()));
                error.into_response(as_json).with_header("Allow", allow)
            }
            Routed::NotFound => {
                Error::not_found(format!("nothing at {}", req.path())).into_response(as_json)
            }
            Routed::BadPath => Error::bad_request("the path is not valid percent-encoded UTF-8")
                .into_response(as_json),
        };
        Box::pin(ready(answer))
    }
    // ANCHOR_END: dispatch

    /// A GET or HEAD that no route takes: a static file, if the app serves
    /// them and there is one at that path; else 404.
    async fn serve_file(self: Arc<Self>, req: Req<S>, as_json: bool) -> Response {
        let served = match &self.static_files {
            Some(files) => files.serve(req.request()).await,
            None => Err(Error::not_found(format!("nothing at {}", req.path()))),
        };
        served.unwrap_or_else(|error| error.into_response(as_json))
    }
}

// ANCHOR: run_handler
/// Runs a handler's future, and turns what it ends with into a response:
/// its `Err` into an error response (JSON or text, as `as_json` says), and
/// a panic into a 500. `App::route` wraps every handler in it, inside the
/// one box the handler's future needs anyway.
async fn run_handler<F>(handling: F, as_json: bool) -> Response
where
    F: Future<Output = Result<Response, Error>>,
{
    // A panic in the handler unwinds to here instead of taking the
    // connection (or the server) down with it.
    let outcome = match AssertUnwindSafe(handling).catch_unwind().await {
        Ok(outcome) => outcome,
        Err(panic) => {
            // The panic itself was logged by the panic hook (`panic_log.rs`);
            // this request's log line will show the 500.
            debug!(panic = panic_message(&*panic), "answering 500");
            Err(Error::internal())
        }
    };
    outcome.unwrap_or_else(|error| error.into_response(as_json))
}
// ANCHOR_END: run_handler

fn is_get_or_head<S>(req: &Req<S>) -> bool {
    matches!(req.method(), Method::Get | Method::Head)
}

/// `/api` and everything under `/api/`, but not `/apiary`.
fn is_api_path(path: &str) -> bool {
    path.strip_prefix(API_PREFIX)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// An app being served: what http-raw's connection loop calls.
struct Served<S>(Arc<App<S>>);

impl<S: Send + Sync + 'static> Service for Served<S> {
    fn call(&self, request: Request) -> impl Future<Output = Response> + Send {
        Arc::clone(&self.0).handle(request)
    }

    fn body_limit(&self, request: &Request) -> usize {
        self.0.body_limit_for(request)
    }

    fn error_response(
        &self,
        error: &HttpError,
        request: Option<&Request>,
        path: Option<&str>,
        response: &mut Response,
    ) {
        self.0.shape_refusal(error, request, path, response);
    }
}
