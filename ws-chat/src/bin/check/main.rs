//! `cargo run -p ws-chat --bin check -- ADDR`: checks any chat server, in any
//! language, against the lesson's stages.
//!
//! ADDR is `host:port` (the WebSocket is then at `/ws`) or a URL such as
//! `ws://127.0.0.1:8080/ws`. The stages are in `stages.rs`, the checker's
//! WebSocket client in `peer.rs`, and the runner (PASS/FAIL lines, exit
//! status) is lesson 1's `tcp_echo::check`.
//!
//! Try it: `cargo run -p ws-chat` in one terminal, then
//! `cargo run -p ws-chat --bin check -- 127.0.0.1:8080` in another.

mod peer;
mod stages;

use std::process::ExitCode;

use tcp_echo::check;

fn main() -> ExitCode {
    check::main(
        "ws-chat",
        "127.0.0.1:8080",
        stages::STAGES,
        peer::ChatTarget::new,
    )
}
