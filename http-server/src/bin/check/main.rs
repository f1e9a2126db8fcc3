//! `cargo run -p http-server --bin check -- ADDR`: checks any web app, in
//! any language, against lesson 4's stages.
//!
//! What to notice: the stages are in `stages.rs`; the HTTP client is lesson
//! 3's checkers' (`http_raw::check_client`), and the runner (report, exit status) is `tcp_echo::check`. The book's "Build
//! it yourself" page for lesson 4 lists the stages in words.
//!
//! Try it: `cargo run -p http-server` in one terminal, then
//! `cargo run -p http-server --bin check -- 127.0.0.1:4000` in another.

mod stages;

use std::process::ExitCode;

use http_raw::check_client;

fn main() -> ExitCode {
    tcp_echo::check::main(
        "http-server",
        "127.0.0.1:4000",
        stages::STAGES,
        check_client::Target::from,
    )
}
