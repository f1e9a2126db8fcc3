//! Helpers for the HTTP lessons' tests: http-raw's own, http-server's and
//! ws-chat's.
//!
//! What to notice: this is library code that only tests use, so it sits
//! behind the `test-support` feature, which only `[dev-dependencies]` turn
//! on: `cargo run -p http-raw` never compiles it (as with
//! `tcp_echo::testing`). A test file says `use http_raw::testing::*;` for the
//! in-process server and the raw client, and names [`tls`] and [`checker`]
//! when it needs them.

pub mod checker;
pub mod raw_client;
pub mod test_server;
pub mod tls;

pub use raw_client::*;
pub use test_server::*;
