//! `App`: routes and middleware put together, served by http-raw.
//!
//! What to notice: this file is the whole "framework" around the router.
//! A request goes through the middleware in the order they were added
//! (`.middleware(a).middleware(b)`: `a` sees the request first and the
//! response last), then to the router, then to the handler. A handler's
//! `Err` becomes an error response here, and a handler that *panics* is
//! caught here too: that request gets a 500, and the server goes on serving
//! everyone else.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::FutureExt;
use http_raw::{HttpConfig, Method, Request, Response};
use tokio::net::TcpListener;
use tracing::debug;

use crate::error::Error;
use crate::middleware::Next;
use crate::panic_log::panic_message;
use crate::req::Req;
use crate::router::{Routed, Router};
use crate::static_files::StaticFiles;

/// A boxed future: how handlers and middleware of different types can sit in
/// one list.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A route handler, boxed.
pub type Handler<S> = Arc<dyn Fn(Req<S>) -> BoxFuture<Result<Response, Error>> + Send + Sync>;

/// A middleware, boxed.
pub type Middleware<S> = Arc<dyn Fn(Req<S>, Next<S>) -> BoxFuture<Response> + Send + Sync>;

/// Requests under this path are the JSON API: their errors are JSON
/// (`{"error": "..."}`), and their responses are marked `no-store`.
pub const API_PREFIX: &str = "/api";

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
}

impl<S: Send + Sync + 'static> App<S> {
    /// An app whose handlers share `state`.
    pub fn new(state: S) -> App<S> {
        App {
            state: Arc::new(state),
            middleware: Vec::new(),
            router: Router::new(),
            static_files: None,
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
        self.router
            .add(method, pattern, Arc::new(move |req| Box::pin(handler(req))));
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

    /// Runs the app on `listener` with http-raw until `shutdown` completes.
    pub async fn serve(self, listener: TcpListener, config: &HttpConfig, shutdown: impl Future) {
        let app = Arc::new(self);
        http_raw::serve(
            listener,
            config,
            move |request| Arc::clone(&app).handle(request),
            shutdown,
        )
        .await;
    }

    /// The app as a plain `async fn(Request) -> Response`, for tests and for
    /// serving it some other way.
    pub fn into_handler(self) -> impl Fn(Request) -> BoxFuture<Response> + Send + Sync + 'static {
        let app = Arc::new(self);
        move |request| Box::pin(Arc::clone(&app).handle(request))
    }

    // ANCHOR: handle
    /// One request, through the middleware, to its route.
    async fn handle(self: Arc<Self>, request: Request) -> Response {
        let mut req = Req::new(request, Arc::clone(&self.state));
        let for_api = is_api_path(req.path());
        req.json_errors = for_api;
        let mut response = Next::start(self).run(req).await;
        // The API's answers are about this moment and often this client:
        // no cache on the way (a proxy, a CDN, the browser) may keep one
        // and hand it to the next request (RFC 9111 5.2.2.5).
        if for_api && response.header("cache-control").is_none() {
            response.set_header("Cache-Control", "no-store");
        }
        response
    }
    // ANCHOR_END: handle

    // ANCHOR: dispatch
    /// The end of the middleware chain: route, run the handler, turn errors
    /// (and panics) into responses.
    pub(crate) async fn dispatch(&self, mut req: Req<S>) -> Response {
        let as_json = req.wants_json_errors();
        let outcome = match self.router.find(req.method(), req.path()) {
            Routed::Found(handler, params) => {
                req.params = params;
                // A panic in the handler unwinds to here instead of taking
                // the connection (or the server) down with it.
                match AssertUnwindSafe(handler(req)).catch_unwind().await {
                    Ok(outcome) => outcome,
                    Err(panic) => {
                        // The panic itself was logged by the panic hook
                        // (`panic_log.rs`); this request's log line will
                        // show the 500.
                        debug!(panic = panic_message(&*panic), "answering 500");
                        Err(Error::internal())
                    }
                }
            }
            Routed::WrongMethod(allow) => {
                let error = Error::new(405, format!("{} allows {allow}", req.path()));
                return error.into_response(as_json).with_header("Allow", allow);
            }
            Routed::NotFound => match &self.static_files {
                Some(files) if matches!(req.method(), Method::Get | Method::Head) => {
                    // Boxed: serving a file is a big future, and keeping it
                    // out of line keeps every other request's future small.
                    Box::pin(files.serve(req.request())).await
                }
                _ => Err(Error::not_found(format!("nothing at {}", req.path()))),
            },
            Routed::BadPath => Err(Error::bad_request(
                "the path is not valid percent-encoded UTF-8",
            )),
        };
        outcome.unwrap_or_else(|error| error.into_response(as_json))
    }
    // ANCHOR_END: dispatch
}

/// `/api` and everything under `/api/`, but not `/apiary`.
fn is_api_path(path: &str) -> bool {
    path.strip_prefix(API_PREFIX)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}
