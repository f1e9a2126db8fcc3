//! The demo app, assembled: a small site and a JSON API, one process.
//!
//! What to notice: `demo_app` reads like an Express app, one line per
//! middleware and per route, and it is a library function, not the body of
//! `main`: the binary and the tests serve the very same app through `run`.
//! `run` picks where the plants live: in this process (the default), or in
//! the Redis that `REDIS_URL` names, shared with every other copy.

use std::fmt;
use std::future::Future;
use std::io;
use std::path::PathBuf;

use http_raw::Response;
use tokio::net::TcpListener;
use tracing::info;

use crate::config::HttpServerConfig;
use crate::memory_store::MemoryStore;
use crate::middleware::{log_requests, request_id};
use crate::plants::{self, PlantStore};
use crate::redis_store::RedisStore;
use crate::shared_state::{greet_right, greet_wrong, identify_user};
use crate::{App, Error, Req};

/// JSON bodies are small; anything bigger than this is refused with 413,
/// from the request's head, before the body is read.
pub const BODY_LIMIT: usize = 16 * 1024;

/// `GET /hello`: the same answer as lesson 3's, for comparing the two.
async fn hello<S>(_req: Req<S>) -> Result<Response, Error> {
    Ok(Response::text(200, "Hello, world"))
}

/// The longest `/sleep` this demo takes, in milliseconds: ten seconds
/// show a request in flight; a longer wait would only hold a connection.
/// (Lesson 3's demo has the same bound for its own `/sleep`.)
pub const MAX_SLEEP_MS: u64 = 10_000;

/// `GET /sleep?ms=N`: lesson 3's slow route (200 after N ms, default 1000,
/// at most [`MAX_SLEEP_MS`]), so that a request can be caught in flight: by
/// a SIGTERM, or behind a proxy (the production chapter's lab).
async fn sleep<S>(req: Req<S>) -> Result<Response, Error> {
    let max = MAX_SLEEP_MS;
    let ms = req
        .query("ms")
        .unwrap_or_else(|| "1000".to_string())
        .parse::<u64>()
        .ok()
        .filter(|ms| *ms <= max)
        .ok_or_else(|| Error::bad_request(format!("ms must be a whole number from 0 to {max}")))?;
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    Ok(Response::text(
        200,
        format!("slept {ms} ms without blocking anyone\n"),
    ))
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
        .get("/sleep", sleep)
        .get("/panic", crash)
        .static_files(&config.public_dir)
}
// ANCHOR_END: app

/// Why the demo app could not start. `Display` is the one line `main` prints.
#[derive(Debug)]
pub enum StartError {
    /// `PUBLIC_DIR` cannot be served (it was removed after the check, ...).
    PublicDir(PathBuf, io::Error),
    /// `REDIS_URL` is set, and that Redis cannot be used.
    Redis(String, String),
    /// The bound address cannot be read (for the default `INSTANCE_NAME`).
    LocalAddr(io::Error),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::PublicDir(dir, error) => {
                write!(f, "PUBLIC_DIR={dir:?} cannot be served: {error}")
            }
            StartError::Redis(url, problem) => write!(f, "REDIS_URL={url:?}: {problem}"),
            StartError::LocalAddr(error) => write!(f, "cannot read the bound address: {error}"),
        }
    }
}

impl std::error::Error for StartError {}

// ANCHOR: run
/// Serves the demo app on `listener` until `shutdown` completes, with its
/// plants in Redis if `config.redis_url` is set, else in memory.
pub async fn run(
    listener: TcpListener,
    config: &HttpServerConfig,
    shutdown: impl Future,
) -> Result<(), StartError> {
    match &config.redis_url {
        None => {
            info!(
                max = config.max_plants,
                "plants kept in this process's memory"
            );
            let plants = MemoryStore::new(config.max_plants);
            serve_demo(plants, listener, config, shutdown).await
        }
        Some(url) => {
            let plants = RedisStore::connect(url, config.max_plants)
                .await
                .map_err(|problem| StartError::Redis(url.clone(), problem))?;
            info!(max = config.max_plants, %url, "plants kept in Redis");
            serve_demo(plants, listener, config, shutdown).await
        }
    }
}
// ANCHOR_END: run

/// The demo app with `plants`, named, served.
async fn serve_demo<P: PlantStore>(
    plants: P,
    listener: TcpListener,
    config: &HttpServerConfig,
    shutdown: impl Future,
) -> Result<(), StartError> {
    let instance = match &config.instance_name {
        Some(name) => name.clone(),
        None => listener
            .local_addr()
            .map_err(StartError::LocalAddr)?
            .to_string(),
    };
    let app = demo_app(plants, config)
        .map_err(|error| StartError::PublicDir(config.public_dir.clone(), error))?
        // Which copy answered: behind a load balancer, the way to tell.
        .header_on_every_response("x-instance", instance);
    app.serve(listener, &config.http, shutdown).await;
    Ok(())
}
