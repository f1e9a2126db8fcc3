//! The signals that stop a lesson 6 binary in the tests. Starting one and
//! reading its `listening on` line is the toolbox's runner, shared by every
//! lesson's tests: `testkit::process`.

#[cfg(unix)]
use nix::sys::signal::Signal;

/// A signal that stops a server.
#[cfg(unix)]
pub const STOP_SIGNALS: [Signal; 2] = [Signal::SIGTERM, Signal::SIGINT];
