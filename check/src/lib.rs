//! The learner's toolbox: checks a server, written in any language, against
//! a lesson's stages.
//!
//! `cargo run -p check -- LESSON ADDR` connects to the server at ADDR and
//! runs that lesson's stages in order, one `PASS` or `FAIL` line each; after
//! a `FAIL`, what was sent, what was expected, what came back, and a hint.
//! LESSON is a lesson's crate name (`tcp-echo`, `udp-echo`, `http-raw`,
//! `http-server`, `ws-chat`), or one of lesson 6's servers (`smtp`, `ftp`,
//! `dns`); `cargo run -p check -- --help` lists them, and
//! `cargo run -p check -- LESSON --help` lists that lesson's stages.
//!
//! What to notice: this crate depends on no lesson. It checks from the
//! outside only, with its own clients, exactly as it would check a server
//! written in Node or Python, so a lesson's server passes because it does
//! what the chapter says, never because it shares code with its checker.
//!
//! Reading order:
//!
//! | file | what it holds |
//! |---|---|
//! | `lib.rs` | the command line: LESSON, `--help`, usage |
//! | `doctor/` | `doctor ADDR`: why a connection fails, and the page to read |
//! | `lessons/mod.rs` | the table of lessons, found by name |
//! | `lessons/NAME.rs` | each lesson's stages, in the order you build it |
//! | `runner.rs` | runs a lesson's stages, prints the report, picks the exit status |
//! | `target.rs` | ADDR, from `host:port` or a URL |
//! | `tcp.rs`, `http.rs`, `ws.rs` | the clients the stages use (UDP's is in `lessons/udp_echo.rs`) |
//! | `response_reader.rs` | the one HTTP response reader, no I/O: the checker's and the tests' |
//! | `escape.rs` | bytes shown as a Rust byte string: `"\r\n"`, `"\x00"` |
//! | `tls.rs` | `https://`: the TLS client settings, trusting the dev CA or `--ca FILE` |
//! | `sniff.rs` | before stage 1: is another protocol answering (HTTP, TLS, WebSocket)? |
//! | `spawn.rs` | `--spawn 'COMMAND'`: starts the program, checks its life (PORT, log, Ctrl+C) |
//! | `difference.rs` | how a reply differs from what was expected: bytes added, changed, missing |
//!
//! Tests (and the lessons' own tests) run the checker in-process with
//! [`run`], the very function the binary runs.

pub mod conversation;
pub mod difference;
pub mod dns_message;
pub mod doctor;
pub mod escape;
pub mod http;
pub mod lessons;
pub mod response_reader;
pub mod runner;
pub mod sniff;
pub mod spawn;
pub mod target;
pub mod tcp;
pub mod tls;
pub mod ws;

use std::io::{self, Write};
use std::process::ExitCode;

pub use escape::show;
pub use lessons::{LESSONS, Lesson};
pub use runner::{Failure, Stage, Verdict};
pub use target::Target;

/// The command line's shape, for usage lines.
const USAGE: &str =
    "usage: cargo run -p check -- LESSON [--all] ADDR, or LESSON [--all] --spawn 'COMMAND'";

/// The whole tool: `args` is the command line after the program name
/// (`["tcp-echo", "127.0.0.1:7007"]`). Report lines and help go to `out`,
/// one-sentence errors to `err`. The exit status is
/// [`Verdict::exit_code`].
pub async fn run(args: &[String], out: &mut dyn Write, err: &mut dyn Write) -> io::Result<Verdict> {
    // The doctor is blocking code (one address after another); it runs on
    // this thread, and nothing else runs meanwhile.
    if args.first().is_some_and(|word| word == "doctor") {
        return doctor::run(&args[1..], out, err);
    }
    let wants_help = args.iter().any(|arg| arg == "--help" || arg == "-h");
    // LESSON is the first word that is not an option; the lesson's checker
    // reads every other word (`--all`, ADDR) wherever it stands.
    let Some(at) = args.iter().position(|arg| !arg.starts_with('-')) else {
        if wants_help {
            write_help(out)?;
            return Ok(Verdict::HelpShown);
        }
        return usage_error(err, "name the LESSON to check and the ADDR of its server");
    };
    let name = &args[at];
    let Some(lesson) = lessons::find(name) else {
        if wants_help {
            write_help(out)?;
            return Ok(Verdict::HelpShown);
        }
        let problem = if looks_like_addr(name) {
            format!("name the LESSON before ADDR ({name} looks like an ADDR)")
        } else {
            format!("there is no lesson {name:?}")
        };
        return usage_error(err, &problem);
    };
    if wants_help {
        write_lesson_help(out, lesson)?;
        return Ok(Verdict::HelpShown);
    }
    let mut rest = args.to_vec();
    rest.remove(at);
    if rest.iter().any(|arg| arg == "--spawn") {
        return spawn::run(lesson, &rest, out, err).await;
    }
    lesson.checker.run(lesson, &rest, out, err).await
}

/// `main` for the binary: the process's arguments, stdout and stderr, and a
/// single-threaded runtime (stages run one at a time; a stage that needs
/// several clients at once runs them as tasks or with `join`).
pub fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("check: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    let verdict = runtime.block_on(run(&args, &mut io::stdout(), &mut io::stderr()));
    match verdict {
        Ok(verdict) => ExitCode::from(verdict.exit_code()),
        // stdout closed (`check ... | head -1`): nothing more to say.
        Err(_) => ExitCode::from(2),
    }
}

/// Bad usage: one line on stderr, `check: PROBLEM; usage: ...`, exit 2.
fn usage_error(err: &mut dyn Write, problem: &str) -> io::Result<Verdict> {
    writeln!(
        err,
        "check: {problem}; {USAGE}, LESSON one of {} (--help says more)",
        lesson_names()
    )?;
    Ok(Verdict::Unusable)
}

/// `tcp-echo, udp-echo, ...`.
fn lesson_names() -> String {
    let names: Vec<&str> = LESSONS.iter().map(|lesson| lesson.name).collect();
    names.join(", ")
}

/// `127.0.0.1:7007`, `localhost:3000`, `http://...`: what a learner who
/// left out LESSON typed first.
fn looks_like_addr(word: &str) -> bool {
    word.contains("://") || word.contains(':') || word.bytes().all(|b| b.is_ascii_digit())
}

/// `--help` without a lesson: what the tool does, and every lesson.
fn write_help(out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "check: checks a server, written in any language, against a lesson's stages.\n"
    )?;
    writeln!(out, "{USAGE}\n")?;
    writeln!(out, "LESSON is one of:")?;
    let width = LESSONS
        .iter()
        .map(|lesson| lesson.name.len())
        .max()
        .unwrap_or(0);
    for lesson in LESSONS {
        writeln!(
            out,
            "  {:width$}  {} (for example {})",
            lesson.name, lesson.about, lesson.example_addr
        )?;
    }
    writeln!(
        out,
        "\nADDR is host:port, or a URL (http://127.0.0.1:3000/, ws://127.0.0.1:8080/ws).\n\
         https:// speaks TLS, trusting the dev CA (target/dev-cert/ca.pem) or --ca FILE.\n\
         --all runs every stage, even after one fails.\n\
         --spawn 'COMMAND' starts your program itself (via the shell, PORT set to a free port,\n\
         HOST=127.0.0.1) and checks its life too: it listens on PORT, the lesson's stages, a bad\n\
         PORT, and Ctrl+C and SIGTERM with work in flight (exit 0, port free).\n\n\
         Each stage prints PASS or FAIL; after a FAIL come what was sent, what was expected,\n\
         what came back, and a hint. Exit status: 0 when every stage passes, 1 when one fails,\n\
         2 for bad usage or when nothing answers at ADDR.\n\n\
         `cargo run -p check -- LESSON --help` lists that lesson's stages.\n\
         `cargo run -p check -- doctor ADDR` explains why a connection to ADDR fails (doctor --help)."
    )
}

/// `LESSON --help`: the lesson's usage and its stages.
fn write_lesson_help(out: &mut dyn Write, lesson: &Lesson) -> io::Result<()> {
    writeln!(out, "check {}: {}.\n", lesson.name, lesson.about)?;
    writeln!(
        out,
        "{}\n",
        runner::lesson_usage(lesson.name, lesson.example_addr)
    )?;
    writeln!(out, "Its stages, in order:")?;
    for (index, name) in lesson.checker.stage_names().iter().enumerate() {
        writeln!(out, "  {}. {name}", index + 1)?;
    }
    writeln!(
        out,
        "\n--all runs every stage, even after one fails.\n\
         --spawn 'COMMAND' starts the program itself and adds the stages of its life:\n\
         listens on PORT first; then PORT=abc (first-server: logs each request);\n\
         Ctrl+C (SIGINT) and SIGTERM with a request in flight last."
    )
}
