//! Build lesson 4 yourself, step 2: path parameters and shared state.
//!
//! What to notice: a route's path is now a pattern, `/api/plants/:id`,
//! matched segment by segment; the `:id` segment matches anything and the
//! handler reads what it matched. Handlers also get the app's state: one
//! store, created in `main` and shared by every request through an `Arc`,
//! behind a `Mutex` because requests run at the same time on several
//! threads. It is a std `Mutex`: no handler holds it across an `.await`.
//! Plants go out as JSON, written by serde_json rather than by hand.
//!
//! Try it: `cargo run -p http-server --example step2-params`, then
//! `curl -i http://127.0.0.1:4000/api/plants/1`, then the checker: stages 1
//! and 2 pass, stage 3 (create a plant) fails: there is no POST yet.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};

use http_raw::{HttpConfig, Method, Request, Response};
use serde::Serialize;
use tcp_echo::shutdown::shutdown_signal;
use tcp_echo::startup::{fail, listen};

// ANCHOR: router
/// What a handler gets: the request, what the path's `:name` segments
/// matched, and the app's state.
struct Ctx<'a> {
    request: &'a Request,
    params: Vec<(&'static str, String)>,
    state: &'a AppState,
}

impl Ctx<'_> {
    /// What the `:name` segment of the route's pattern matched.
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(param, _)| *param == name)
            .map(|(_, value)| value.as_str())
    }
}

/// What answers a request.
type Handler = fn(&Ctx) -> Response;

/// One route: a method, a path pattern, and the handler for them.
struct Route {
    method: Method,
    pattern: &'static str,
    handler: Handler,
}

/// Every route, in the order they were added.
struct Router {
    routes: Vec<Route>,
}

/// Matches `path` against `pattern`, segment by segment: `/api/plants/:id`
/// matches `/api/plants/7` with `id` = `7`.
fn match_path(pattern: &'static str, path: &str) -> Option<Vec<(&'static str, String)>> {
    let mut wanted = pattern.split('/');
    let mut given = path.split('/');
    let mut params = Vec::new();
    loop {
        match (wanted.next(), given.next()) {
            (None, None) => return Some(params),
            (Some(segment), Some(value)) if segment.starts_with(':') && !value.is_empty() => {
                params.push((&segment[1..], value.to_string()));
            }
            (Some(segment), Some(value)) if segment == value => {}
            _ => return None,
        }
    }
}

impl Router {
    fn new() -> Router {
        Router { routes: Vec::new() }
    }

    fn get(mut self, pattern: &'static str, handler: Handler) -> Router {
        self.routes.push(Route {
            method: Method::Get,
            pattern,
            handler,
        });
        self
    }

    /// Finds the route for `request` and runs it.
    fn dispatch(&self, request: &Request, state: &AppState) -> Response {
        // HEAD is GET without the body; http_raw drops the body for us.
        let method = match request.method() {
            Method::Head => Method::Get,
            method => method,
        };
        let mut allowed = Vec::new();
        for route in &self.routes {
            let Some(params) = match_path(route.pattern, request.path()) else {
                continue;
            };
            if route.method == method {
                let ctx = Ctx {
                    request,
                    params,
                    state,
                };
                return (route.handler)(&ctx);
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
/// One plant, as the API shows it.
#[derive(Clone, Serialize)]
struct Plant {
    id: u64,
    name: String,
}

/// The app's state: created once, shared by every request.
struct AppState {
    plants: Mutex<BTreeMap<u64, Plant>>,
}

impl AppState {
    /// Two plants to look at, until step 3 can create more.
    fn new() -> AppState {
        let plants = [(1, "Basil"), (2, "Mint")]
            .map(|(id, name)| {
                let name = name.to_string();
                (id, Plant { id, name })
            })
            .into();
        AppState {
            plants: Mutex::new(plants),
        }
    }

    /// The store, locked. A handler that panicked while holding the lock
    /// left no half-done change (each is one step), so carry on.
    fn plants(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Plant>> {
        self.plants.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `value` as a JSON response.
fn json(status: u16, value: &impl Serialize) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => Response::new(status)
            .with_header("Content-Type", "application/json")
            .with_body(body),
        Err(_) => Response::text(500, "could not write JSON\n"),
    }
}

fn hello(_ctx: &Ctx) -> Response {
    Response::text(200, "Hello, world")
}

fn list_plants(ctx: &Ctx) -> Response {
    let plants: Vec<Plant> = ctx.state.plants().values().cloned().collect();
    json(200, &plants)
}

fn get_plant(ctx: &Ctx) -> Response {
    let id = ctx.param("id").and_then(|id| id.parse::<u64>().ok());
    let plant = id.and_then(|id| ctx.state.plants().get(&id).cloned());
    match plant {
        Some(plant) => json(200, &plant),
        None => Response::text(404, format!("no plant at {}\n", ctx.request.path())),
    }
}

fn app() -> Router {
    Router::new()
        .get("/hello", hello)
        .get("/api/plants", list_plants)
        .get("/api/plants/:id", get_plant)
}
// ANCHOR_END: app

// ANCHOR: main
#[tokio::main]
async fn main() -> ExitCode {
    let config = match HttpConfig::from_env(4000) {
        Ok(config) => config,
        Err(error) => return fail("step2-params", error, 2),
    };
    let scheme = config.scheme();
    let listener = match listen("step2-params", scheme, config.server.addr(), |addr| {
        format!("curl -i {scheme}://{addr}/api/plants/1")
    }) {
        Ok(listener) => listener,
        Err(status) => return status,
    };
    // Built once, shared by every request.
    let router = Arc::new(app());
    let state = Arc::new(AppState::new());
    let handler = move |request: Request| {
        let (router, state) = (Arc::clone(&router), Arc::clone(&state));
        async move { router.dispatch(&request, &state) }
    };
    http_raw::serve(listener, &config, handler, shutdown_signal()).await;
    ExitCode::SUCCESS
}
// ANCHOR_END: main
