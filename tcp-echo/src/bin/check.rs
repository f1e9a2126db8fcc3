//! `cargo run -p tcp-echo --bin check -- ADDR`: checks any echo server, in any language.
//!
//! The stages are in `tcp_echo::check::echo_stages`, the runner in
//! `tcp_echo::check`. Try it: `cargo run -p tcp-echo` in one terminal, then
//! `cargo run -p tcp-echo --bin check -- 127.0.0.1:7007` in another.

use std::process::ExitCode;

use tcp_echo::check::{self, echo_stages::STAGES};

fn main() -> ExitCode {
    check::main("tcp-echo", "127.0.0.1:7007", STAGES, |target| target)
}
