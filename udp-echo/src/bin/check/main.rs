//! `cargo run -p udp-echo --bin check -- ADDR`: checks any UDP echo server, in any language.
//!
//! The stages are in `stages.rs`, the runner in `tcp_echo::check` (lesson 1
//! holds the checker every lesson uses). Try it: `cargo run -p udp-echo` in
//! one terminal, then `cargo run -p udp-echo --bin check -- 127.0.0.1:7007`.

mod stages;

use std::process::ExitCode;

use tcp_echo::check;

fn main() -> ExitCode {
    check::main(
        "udp-echo",
        "127.0.0.1:7007",
        stages::STAGES,
        stages::UdpClient::new,
    )
}
