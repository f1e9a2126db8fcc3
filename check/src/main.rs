//! `cargo run -p check -- LESSON ADDR`: checks any server, in any language,
//! against a lesson's stages.
//!
//! Try it: `cargo run -p tcp-echo` in one terminal, then
//! `cargo run -p check -- tcp-echo 127.0.0.1:7007` in another: five stages
//! say PASS. `cargo run -p check -- --help` lists every lesson. The tool is
//! the library's `check::main` (`lib.rs`), so tests run the very same code.

use std::process::ExitCode;

fn main() -> ExitCode {
    check::main()
}
