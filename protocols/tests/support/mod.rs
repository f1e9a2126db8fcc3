//! Helpers for lesson 6's tests, beside the tests that use them.
//!
//! What to notice: every wait has a timeout ([`PATIENCE`]), so a server
//! that stops answering fails a test instead of hanging it; servers listen
//! on 127.0.0.1 port 0; nothing sleeps to wait for something.
//!
//! Each test file uses only some of these helpers, so the rest would be
//! reported as unused in that file's build.
#![allow(dead_code)]

pub mod dns_client;
pub mod line_client;
pub mod process;
pub mod reference;
pub mod servers;

use std::time::Duration;

/// The longest any single step of a test may take: generous, for debug
/// builds on a busy machine.
pub const PATIENCE: Duration = Duration::from_secs(10);
