//! Lesson 4: from primitives to a framework, built on http-raw.
//!
//! Lesson 3 ended with routing as a `match` and every handler doing its own
//! parsing and error pages. That is fine for eight routes and painful for
//! eighty. This crate is the layer Express gives Node: a router with path
//! parameters, middleware, typed JSON in and out, errors as values, app state
//! passed explicitly, and static files, small enough to read in one sitting.
//!
//! Reading order: `main.rs` (the demo app, which reads like an Express app),
//! `app.rs` (routes + middleware + dispatch), `router.rs`, `middleware.rs`,
//! `req.rs`, `error.rs`, `static_files.rs`; then the demo's `plants.rs`
//! (the JSON API) and `shared_state.rs` (the pitfall).
//!
//! Try it: `cargo run -p http-server`, then open <http://127.0.0.1:4000>.

pub mod app;
pub mod error;
pub mod json;
pub mod middleware;
pub mod plants;
pub mod req;
pub mod router;
pub mod shared_state;
pub mod static_files;

pub use app::App;
pub use error::Error;
pub use json::json;
pub use middleware::Next;
pub use req::Req;

/// Port 4000, one up from lesson 3's 3000, so both can run at once.
pub const DEFAULT_PORT: u16 = 4000;

/// Where the demo's static files are, unless `PUBLIC_DIR` says otherwise:
/// this crate's `public/` directory.
pub const DEFAULT_PUBLIC_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/public");
