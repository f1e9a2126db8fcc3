//! Exercise: an Authorization middleware for lesson 4's plants API.
//!
//! What to do: write `require_token` below. Reading stays open to everyone
//! (GET and HEAD), but a request that changes plants (POST, PUT, DELETE
//! under `/api/`) needs the header `Authorization: Bearer letmein` (the
//! scheme's case does not matter: RFC 9110 section 11.1). Without it, or
//! with another token, answer 401 with a JSON error and
//! `WWW-Authenticate: Bearer`, which tells the client how to authenticate
//! (RFC 9110 section 11.6.1), and never call the handler. The app around it
//! is built with lesson 4's framework (`App`, its router and static files),
//! with a small plants API of its own.
//!
//! Check yourself: `cargo test -p http-server --test exercises -- --ignored`
//! fails until `require_token` is done. Try it by hand:
//! `cargo run -p http-server --example exercise-auth`, then
//! `curl -i -d '{"name": "Fern"}' http://127.0.0.1:4000/api/plants` (401 when
//! done) and the same with `-H 'Authorization: Bearer letmein'` (201). Hint
//! and solution: the book's "Build it yourself" page for lesson 4 (the
//! solution is `examples/solutions/auth.rs`).

use std::process::ExitCode;
use std::sync::{Mutex, PoisonError};

use http_raw::{HttpConfig, Response};
use http_server::{App, DEFAULT_PORT, DEFAULT_PUBLIC_DIR, Error, Next, Req, json};
use serde::Deserialize;
use tcp_echo::shutdown::shutdown_signal;
use tcp_echo::startup::{fail, listen};

/// The token this exercise accepts. (A real app compares against secrets it
/// keeps out of its code, and in constant time.)
pub const TOKEN: &str = "letmein";

// ANCHOR: require_token
/// Lets reads through; a change under `/api/` needs `Authorization: Bearer TOKEN`.
pub async fn require_token<S: Send + Sync + 'static>(req: Req<S>, next: Next<S>) -> Response {
    // Your code here. As it is, every request goes through.
    next.run(req).await
}
// ANCHOR_END: require_token

/// The plants' names, in memory: the API this exercise guards.
#[derive(Default)]
pub struct Plants {
    names: Mutex<Vec<String>>,
}

/// What a client sends to create a plant.
#[derive(Deserialize)]
struct NewPlant {
    name: String,
}

/// `GET /api/plants`: every name.
async fn list(req: Req<Plants>) -> Result<Response, Error> {
    let names = req
        .state()
        .names
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    json(200, &names)
}

/// `POST /api/plants` with `{"name": "..."}`: 201 and where it lives.
async fn create(req: Req<Plants>) -> Result<Response, Error> {
    let plant: NewPlant = req.json()?;
    let id = {
        let mut names = req
            .state()
            .names
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        names.push(plant.name.clone());
        names.len()
    };
    let created = serde_json::json!({ "id": id, "name": plant.name });
    Ok(json(201, &created)?.with_header("Location", format!("/api/plants/{id}")))
}

/// The plants API and lesson 4's static files, with `guard` (your
/// `require_token`) in front.
pub fn app<M, F>(guard: M) -> std::io::Result<App<Plants>>
where
    M: Fn(Req<Plants>, Next<Plants>) -> F + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    App::new(Plants::default())
        .middleware(guard)
        .get("/api/plants", list)
        .post("/api/plants", create)
        .static_files(DEFAULT_PUBLIC_DIR)
}

#[tokio::main]
async fn main() -> ExitCode {
    let config = match HttpConfig::from_env(DEFAULT_PORT) {
        Ok(config) => config,
        Err(error) => return fail("exercise-auth", error, 2),
    };
    let app = match app(require_token) {
        Ok(app) => app,
        Err(error) => return fail("exercise-auth", error, 1),
    };
    let scheme = config.scheme();
    let listener = match listen("exercise-auth", scheme, config.server.addr(), |addr| {
        format!("curl -i -d '{{\"name\": \"Fern\"}}' {scheme}://{addr}/api/plants")
    }) {
        Ok(listener) => listener,
        Err(status) => return status,
    };
    app.serve(listener, &config, shutdown_signal()).await;
    ExitCode::SUCCESS
}
