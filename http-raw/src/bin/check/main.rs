//! `cargo run -p http-raw --bin check -- ADDR`: checks any HTTP server, in
//! any language, against lesson 3's stages.
//!
//! What to notice: the checker is only a client. It sends exact bytes,
//! reads exact bytes back, and says what it expected; your server can be
//! written in Rust, Node, Python or C. The stages are in `stages.rs`, the
//! client is the library's `check_client.rs`, the runner (report, exit status) in
//! `tcp_echo::check`; the book's "Build it yourself" page for lesson 3 lists
//! the stages in words.
//!
//! Try it: `cargo run -p http-raw` in one terminal, then
//! `cargo run -p http-raw --bin check -- 127.0.0.1:3000` in another: every
//! stage says PASS. Point it at your own server to see where it stands.

mod stages;

use std::process::ExitCode;

use http_raw::check_client;

fn main() -> ExitCode {
    tcp_echo::check::main(
        "http-raw",
        "127.0.0.1:3000",
        stages::STAGES,
        check_client::Target::from,
    )
}
