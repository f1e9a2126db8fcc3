//! Helpers for the lessons' tests, shared by every lesson's `tests/`.
//!
//! What to notice: this is library code that only tests use, so it sits
//! behind the `test-support` feature, which only `[dev-dependencies]` turn
//! on: `cargo run -p tcp-echo` never compiles it.

pub mod idle_crowd;
pub mod in_process;
pub mod process;
pub mod redis;
pub mod reference;
