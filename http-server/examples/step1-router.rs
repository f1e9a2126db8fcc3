//! Build lesson 4 yourself, step 1: a router table.
//!
//! What to notice: lesson 3 routed with one `match` on the path and the
//! method, which reads well for eight routes and badly for eighty. A router
//! turns that `match` into data: a list of (method, path, handler), built
//! once at startup and searched for each request. The search also knows
//! when the path exists with other methods, so 405 and its `Allow` header
//! come for free. HTTP itself (parsing, framing, keep-alive) is lesson 3's
//! library, `http_raw::serve`: this lesson is about the layer on top.
//!
//! Try it: `cargo run -p http-server --example step1-router`, then
//! `curl -i http://127.0.0.1:4000/hello`, then
//! `cargo run -p check -- http-server 127.0.0.1:4000`: stage 1
//! passes, stage 2 (list plants as JSON) fails: there is no API yet.

// ANCHOR: uses
use std::process::ExitCode;
use std::sync::Arc;

use http_raw::{HttpConfig, Method, Request, Response};
use tcp_echo::shutdown::shutdown_signal;
use tcp_echo::startup::{fail, listen};
// ANCHOR_END: uses

// ANCHOR: router
/// What answers a request.
type Handler = fn(&Request) -> Response;

/// One route: a method, a path, and the handler for them.
struct Route {
    method: Method,
    path: &'static str,
    handler: Handler,
}

/// Every route, in the order they were added.
struct Router {
    routes: Vec<Route>,
}

impl Router {
    fn new() -> Router {
        Router { routes: Vec::new() }
    }

    fn get(mut self, path: &'static str, handler: Handler) -> Router {
        self.routes.push(Route {
            method: Method::Get,
            path,
            handler,
        });
        self
    }

    /// Finds the route for `request` and runs it.
    fn dispatch(&self, request: &Request) -> Response {
        // HEAD is GET without the body; http_raw drops the body for us.
        let method = match request.method() {
            Method::Head => Method::Get,
            method => method,
        };
        let mut allowed = Vec::new();
        for route in self
            .routes
            .iter()
            .filter(|route| route.path == request.path())
        {
            if route.method == method {
                return (route.handler)(request);
            }
            allowed.push(route.method.as_str());
        }
        if allowed.is_empty() {
            return Response::text(404, format!("nothing at {}\n", request.path()));
        }
        // The path exists, with other methods: say which (RFC 9110 section 15.5.6).
        Response::text(405, "method not allowed\n").with_header("Allow", allowed.join(", "))
    }
}
// ANCHOR_END: router

// ANCHOR: app
fn hello(_request: &Request) -> Response {
    Response::text(200, "Hello, world")
}

fn app() -> Router {
    Router::new().get("/hello", hello)
}
// ANCHOR_END: app

// ANCHOR: main
#[tokio::main]
async fn main() -> ExitCode {
    let config = match HttpConfig::from_env(4000) {
        Ok(config) => config,
        Err(error) => return fail("step1-router", error, 2),
    };
    let scheme = config.scheme();
    let listener = match listen("step1-router", scheme, config.server.addr(), |addr| {
        format!("curl -i {scheme}://{addr}/hello")
    }) {
        Ok(listener) => listener,
        Err(status) => return status,
    };
    // Built once, shared by every request.
    let router = Arc::new(app());
    let handler = move |request: Request| {
        let router = Arc::clone(&router);
        async move { router.dispatch(&request) }
    };
    http_raw::serve(listener, &config, handler, shutdown_signal()).await;
    ExitCode::SUCCESS
}
// ANCHOR_END: main
