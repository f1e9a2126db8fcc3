//! `cargo run -p http-raw --bin check -- ADDR`: checks any HTTP server, in
//! any language, against lesson 3's stages.
//!
//! What to notice: the checker is only a client. It sends exact bytes,
//! reads exact bytes back, and says what it expected; your server can be
//! written in Rust, Node, Python or C. The stages are listed in `stages.rs`
//! and described in the book's "Build it yourself" page for lesson 3.
//!
//! Try it: `cargo run -p http-raw` in one terminal, then
//! `cargo run -p http-raw --bin check -- 127.0.0.1:3000` in another: every
//! stage says PASS. Point it at your own server to see where it stands.

mod client;
mod runner;
mod stages;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let status = runner::run("http-raw", stages::STAGES, &args, &mut std::io::stdout());
    ExitCode::from(status)
}
