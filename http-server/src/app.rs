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
use tracing::error;

use crate::error::Error;
use crate::middleware::Next;
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

/// An application: state, middleware, routes, and optionally static files.
pub struct App<S> {
    state: Arc<S>,
    middleware: Vec<Middleware<S>>,
    router: Router<Handler<S>>,
    static_files: Option<StaticFiles>,
    json_errors_under: String,
}

/// The parts of an `App` that every request needs, shared once it runs.
pub(crate) struct AppCore<S> {
    state: Arc<S>,
    pub(crate) middleware: Vec<Middleware<S>>,
    router: Router<Handler<S>>,
    static_files: Option<StaticFiles>,
    json_errors_under: String,
}

impl<S: Send + Sync + 'static> App<S> {
    /// An app whose handlers share `state`.
    pub fn new(state: S) -> App<S> {
        App {
            state: Arc::new(state),
            middleware: Vec::new(),
            router: Router::new(),
            static_files: None,
            json_errors_under: "/api".to_string(),
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

    /// Error responses for paths under `prefix` are JSON (default `/api`).
    pub fn json_errors_under(mut self, prefix: &str) -> App<S> {
        self.json_errors_under = prefix.to_string();
        self
    }

    /// Runs the app on `listener` with http-raw until `shutdown` completes.
    pub async fn serve(self, listener: TcpListener, config: &HttpConfig, shutdown: impl Future) {
        let core = Arc::new(self.into_core());
        http_raw::serve(
            listener,
            config,
            move |request| Arc::clone(&core).handle(request),
            shutdown,
        )
        .await;
    }

    /// The app as a plain `async fn(Request) -> Response`, for tests and for
    /// serving it some other way.
    pub fn into_handler(self) -> impl Fn(Request) -> BoxFuture<Response> + Send + Sync + 'static {
        let core = Arc::new(self.into_core());
        move |request| Box::pin(Arc::clone(&core).handle(request))
    }

    fn into_core(self) -> AppCore<S> {
        AppCore {
            state: self.state,
            middleware: self.middleware,
            router: self.router,
            static_files: self.static_files,
            json_errors_under: self.json_errors_under,
        }
    }
}

impl<S: Send + Sync + 'static> AppCore<S> {
    /// One request, through the middleware, to its route.
    async fn handle(self: Arc<Self>, request: Request) -> Response {
        let mut req = Req::new(request, Arc::clone(&self.state));
        req.json_errors = req.path().starts_with(&self.json_errors_under);
        Next::start(self).run(req).await
    }

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
                        let message = panic
                            .downcast_ref::<&str>()
                            .map(|text| text.to_string())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_default();
                        error!(panic = %message, "handler panicked; answering 500");
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
