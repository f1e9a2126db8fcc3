//! Build lesson 4 yourself, step 4: static files, safely.
//!
//! What to notice: a request the routes do not know is looked up as a file
//! in the public directory, with its Content-Type from its extension. The
//! path comes from the client, so it is decoded first (`%2e%2e` is `..`)
//! and refused if any segment could climb out of the directory: without
//! that check, `GET /../../etc/passwd` reads any file the server can. Files
//! are read with `tokio::fs`, which does not block the runtime's threads.
//!
//! Try it: `cargo run -p http-server --example step4-static`, then open
//! <http://127.0.0.1:4000/> and try
//! `curl -i --path-as-is http://127.0.0.1:4000/../Cargo.toml` (404), then the
//! checker: stages 1 to 7 pass, stage 8 (ETag and 304) fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};

use http_raw::{HttpConfig, Method, Request, Response};
use serde::{Deserialize, Serialize};
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

/// What answers a request: a response, or an error to report.
type Handler = fn(&Ctx) -> Result<Response, ApiError>;

/// Something that went wrong, said once and turned into a response in one
/// place.
struct ApiError {
    status: u16,
    message: String,
}

impl ApiError {
    fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 400,
            message: message.into(),
        }
    }

    fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 404,
            message: message.into(),
        }
    }

    /// `{"error": "..."}`, so a client can always show what went wrong.
    fn into_response(self) -> Response {
        json(self.status, &serde_json::json!({ "error": self.message }))
    }
}

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

    fn route(mut self, method: Method, pattern: &'static str, handler: Handler) -> Router {
        self.routes.push(Route {
            method,
            pattern,
            handler,
        });
        self
    }

    fn get(self, pattern: &'static str, handler: Handler) -> Router {
        self.route(Method::Get, pattern, handler)
    }

    fn post(self, pattern: &'static str, handler: Handler) -> Router {
        self.route(Method::Post, pattern, handler)
    }

    fn put(self, pattern: &'static str, handler: Handler) -> Router {
        self.route(Method::Put, pattern, handler)
    }

    fn delete(self, pattern: &'static str, handler: Handler) -> Router {
        self.route(Method::Delete, pattern, handler)
    }

    /// Finds the route for `request` and runs it; `None` if no route's
    /// pattern matches the path.
    fn dispatch(&self, request: &Request, state: &AppState) -> Option<Response> {
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
                return Some((route.handler)(&ctx).unwrap_or_else(ApiError::into_response));
            }
            allowed.push(route.method.as_str());
        }
        if allowed.is_empty() {
            return None;
        }
        // The path exists, with other methods: say which (RFC 9110 section 15.5.6).
        Some(Response::text(405, "method not allowed\n").with_header("Allow", allowed.join(", ")))
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

/// What a client sends to create or rename a plant.
#[derive(Deserialize)]
struct PlantInput {
    name: String,
}

/// The plants, and the next id to give out.
#[derive(Default)]
struct Store {
    next_id: u64,
    plants: BTreeMap<u64, Plant>,
}

/// The app's state: created once, shared by every request.
#[derive(Default)]
struct AppState {
    store: Mutex<Store>,
}

impl AppState {
    /// The store, locked. A handler that panicked while holding the lock
    /// left no half-done change (each is one step), so carry on.
    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
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

/// The `:id` in the path, as a number.
fn id_param(ctx: &Ctx) -> Result<u64, ApiError> {
    ctx.param("id")
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| ApiError::not_found(format!("no plant at {}", ctx.request.path())))
}

/// The plant name in the request's JSON body.
fn name_from_body(ctx: &Ctx) -> Result<String, ApiError> {
    // A body that is not JSON, or has no `name`, is the client's mistake: 400.
    let input: PlantInput = serde_json::from_slice(ctx.request.body()).map_err(|error| {
        ApiError::bad_request(format!("expected {{\"name\": \"...\"}}: {error}"))
    })?;
    let name = input.name.trim();
    if name.is_empty() {
        return Err(ApiError::bad_request("name must not be empty"));
    }
    Ok(name.to_string())
}

fn hello(_ctx: &Ctx) -> Result<Response, ApiError> {
    Ok(Response::text(200, "Hello, world"))
}

fn list_plants(ctx: &Ctx) -> Result<Response, ApiError> {
    let plants: Vec<Plant> = ctx.state.store().plants.values().cloned().collect();
    Ok(json(200, &plants))
}

fn create_plant(ctx: &Ctx) -> Result<Response, ApiError> {
    let name = name_from_body(ctx)?;
    let plant = {
        let mut store = ctx.state.store();
        store.next_id += 1;
        let plant = Plant {
            id: store.next_id,
            name,
        };
        store.plants.insert(plant.id, plant.clone());
        plant
    };
    Ok(json(201, &plant).with_header("Location", format!("/api/plants/{}", plant.id)))
}

fn get_plant(ctx: &Ctx) -> Result<Response, ApiError> {
    let id = id_param(ctx)?;
    let plant = ctx.state.store().plants.get(&id).cloned();
    let plant = plant.ok_or_else(|| ApiError::not_found(format!("no plant with id {id}")))?;
    Ok(json(200, &plant))
}

fn rename_plant(ctx: &Ctx) -> Result<Response, ApiError> {
    let id = id_param(ctx)?;
    let name = name_from_body(ctx)?;
    let mut store = ctx.state.store();
    let plant = store
        .plants
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found(format!("no plant with id {id}")))?;
    plant.name = name;
    Ok(json(200, plant))
}

fn delete_plant(ctx: &Ctx) -> Result<Response, ApiError> {
    let id = id_param(ctx)?;
    match ctx.state.store().plants.remove(&id) {
        Some(_) => Ok(Response::new(204)),
        None => Err(ApiError::not_found(format!("no plant with id {id}"))),
    }
}

fn app() -> Router {
    Router::new()
        .get("/hello", hello)
        .get("/api/plants", list_plants)
        .post("/api/plants", create_plant)
        .get("/api/plants/:id", get_plant)
        .put("/api/plants/:id", rename_plant)
        .delete("/api/plants/:id", delete_plant)
}
// ANCHOR_END: app

// ANCHOR: static_files
/// Answers `request` with a file from `dir`, or 404.
async fn static_file(dir: &Path, request: &Request) -> Response {
    let not_found = || Response::text(404, format!("nothing at {}\n", request.path()));
    if !matches!(request.method(), Method::Get | Method::Head) {
        return not_found();
    }
    let Some(relative) = safe_relative_path(request.path()) else {
        return not_found();
    };
    let mut file = dir.join(relative);
    if request.path().ends_with('/') {
        file.push("index.html");
    }
    match tokio::fs::read(&file).await {
        Ok(bytes) => {
            let content_type = mime_guess::from_path(&file).first_or_octet_stream();
            Response::new(200)
                .with_header("Content-Type", content_type.to_string())
                .with_body(bytes)
        }
        // Not there, a directory, unreadable: all 404 to the client.
        Err(_) => not_found(),
    }
}

/// The request path as a path relative to the public directory, or `None`
/// if it could climb out of it.
fn safe_relative_path(path: &str) -> Option<PathBuf> {
    // Decode first: the file system sees `%2e%2e` as `..` once decoded.
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .ok()?;
    let mut relative = PathBuf::new();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => return None,
            // `\` is a separator on Windows; NUL ends a path in C.
            segment if segment.contains(['\\', '\0']) => return None,
            segment => relative.push(segment),
        }
    }
    Some(relative)
}
// ANCHOR_END: static_files

// ANCHOR: main
#[tokio::main]
async fn main() -> ExitCode {
    let config = match HttpConfig::from_env(4000) {
        Ok(config) => config,
        Err(error) => return fail("step4-static", error, 2),
    };
    let scheme = config.scheme();
    let listener = match listen("step4-static", scheme, config.server.addr(), |addr| {
        format!("open {scheme}://{addr}/ in a browser")
    }) {
        Ok(listener) => listener,
        Err(status) => return status,
    };
    // Built once, shared by every request.
    let router = Arc::new(app());
    let state = Arc::new(AppState::default());
    // The site: PUBLIC_DIR, or the `public` folder beside this crate's
    // Cargo.toml (CARGO_MANIFEST_DIR is that folder, when it is compiled).
    let public_dir = std::env::var("PUBLIC_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/public").to_string());
    let public_dir = Arc::new(PathBuf::from(public_dir));
    let handler = move |request: Request| {
        let (router, state) = (Arc::clone(&router), Arc::clone(&state));
        let public_dir = Arc::clone(&public_dir);
        async move {
            match router.dispatch(&request, &state) {
                Some(response) => response,
                None => static_file(&public_dir, &request).await,
            }
        }
    };
    http_raw::serve(listener, &config, handler, shutdown_signal()).await;
    ExitCode::SUCCESS
}
// ANCHOR_END: main
