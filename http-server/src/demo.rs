//! The demo app, assembled: a small site and a JSON API, one process.
//!
//! What to notice: `demo_app` reads like an Express app, one line per
//! middleware and per route, and it is a library function, not the body of
//! `main`: the binary and the tests serve the very same app through `run`.

use std::future::Future;
use std::io;

use http_raw::Response;
use tokio::net::TcpListener;

use crate::config::HttpServerConfig;
use crate::memory_store::MemoryStore;
use crate::middleware::{log_requests, request_id};
use crate::plants::{self, PlantStore};
use crate::shared_state::{greet_right, greet_wrong, identify_user};
use crate::{App, Error, Req};

/// JSON bodies are small; anything bigger than this is refused with 413,
/// from the request's head, before the body is read.
pub const BODY_LIMIT: usize = 16 * 1024;

/// `GET /hello`: the same answer as lesson 3's, for comparing the two.
async fn hello<S>(_req: Req<S>) -> Result<Response, Error> {
    Ok(Response::text(200, "Hello, world"))
}

/// `GET /panic`: shows that a panicking handler costs one request, not the server.
async fn crash<S>(_req: Req<S>) -> Result<Response, Error> {
    panic!("this handler always panics, to show that the server survives it")
}

// ANCHOR: app
/// The demo app, its plants kept in `plants`.
pub fn demo_app<P: PlantStore>(plants: P, config: &HttpServerConfig) -> io::Result<App<P>> {
    App::new(plants)
        .body_limit(BODY_LIMIT)
        .middleware(request_id)
        .middleware(log_requests)
        .middleware(identify_user)
        .get("/hello", hello)
        .get("/api/plants", plants::list)
        .post("/api/plants", plants::create)
        .get("/api/plants/:id", plants::get)
        .put("/api/plants/:id", plants::update)
        .delete("/api/plants/:id", plants::delete)
        .get("/shared-state/wrong", greet_wrong)
        .get("/shared-state/right", greet_right)
        .get("/panic", crash)
        .static_files(&config.public_dir)
}
// ANCHOR_END: app

/// Serves the demo app on `listener` until `shutdown` completes. An error
/// means the app could not be built (the public directory is gone).
pub async fn run(
    listener: TcpListener,
    config: &HttpServerConfig,
    shutdown: impl Future,
) -> io::Result<()> {
    let app = demo_app(MemoryStore::new(config.max_plants), config)?;
    app.serve(listener, &config.http, shutdown).await;
    Ok(())
}
