//! Lesson 4: from primitives to a framework, built on http-raw.
//!
//! Lesson 3 ended with routing as a `match` and every handler doing its own
//! parsing and error pages. That is fine for eight routes and painful for
//! eighty. This crate is the layer Express gives Node: a router with path
//! parameters, middleware, typed JSON in and out, errors as values, app state
//! passed explicitly, and static files, small enough to read in one sitting.
//!
//! Reading order: `main.rs`, `demo.rs` (the demo app, which reads like an
//! Express app), `app.rs` (routes + middleware + dispatch), `router.rs`,
//! `middleware.rs`, `req.rs`, `error.rs`, `static_files.rs`; then the
//! demo's `plants.rs` (the JSON API), `idempotency.rs` (a repeat that cannot
//! change twice), `memory_store.rs` and `redis_store.rs` (where plants live),
//! `redis_link.rs` (what a call to Redis can know), `shared_state.rs` (the
//! pitfall), `config.rs` and `panic_log.rs`.
//!
//! Try it: `cargo run -p http-server`, then open <http://127.0.0.1:4000>.

// The framework.
pub mod app;
pub mod error;
pub mod json;
pub mod middleware;
pub mod panic_log;
pub mod req;
pub mod router;
pub mod static_files;

// The demo app built with it.
pub mod config;
pub mod demo;
pub mod idempotency;
pub mod memory_store;
pub mod plants;
pub mod redis_link;
pub mod redis_store;
pub mod shared_state;

pub use app::App;
pub use config::{DEFAULT_PORT, DEFAULT_PUBLIC_DIR, HttpServerConfig};
pub use demo::{demo_app, run};
pub use error::Error;
pub use json::json;
pub use middleware::Next;
pub use req::Req;
