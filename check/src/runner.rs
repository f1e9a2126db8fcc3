//! The stage runner: one lesson's stages, in order, against one server.
//!
//! `cargo run -p check -- LESSON ADDR` finds the lesson in `lessons/mod.rs`
//! and lands here: [`run`] resolves ADDR and runs the lesson's stages in
//! order. Each stage prints one line, `PASS stage N: NAME` or
//! `FAIL stage N: NAME`; after a FAIL come what was sent, what was expected,
//! what came back (bytes escaped: `\r\n`, `\x00`) and a hint, and the run
//! stops (`--all` runs on). Exit status: 0 when every stage passes, 1 when
//! one fails, 2 for bad usage or when nothing answers at ADDR (one sentence
//! on stderr).
//!
//! What to notice: a stage is an ordinary `async fn` that returns
//! `Ok(())` or a [`Failure`]. Everything it waits for has a deadline
//! ([`Target::timeout`]), so a silent server fails a stage instead of
//! hanging the checker.
//!
//! # Adding a lesson's stages
//!
//! A lesson is a file in `src/lessons/` with its stages, and one entry in
//! the table in `src/lessons/mod.rs`:
//!
//! ```no_run
//! use check::runner::{Failure, Stage};
//! use check::{Target, show, tcp};
//!
//! /// Stage 1: the server answers `ping` with `pong`.
//! async fn pong(target: &mut Target) -> Result<(), Failure> {
//!     let mut stream = tcp::connect(target).await?;
//!     tcp::send(&mut stream, b"ping\n", target.timeout).await?;
//!     let reply = tcp::read_exactly(&mut stream, 5, target.timeout).await;
//!     if reply.bytes == b"pong\n" {
//!         return Ok(());
//!     }
//!     Err(Failure::new(
//!         show(b"ping\n"),              // sent
//!         show(b"pong\n"),              // expected
//!         reply.describe(),             // got
//!         "answer each `ping` line with a `pong` line", // hint
//!     ))
//! }
//!
//! /// The stages, in order.
//! pub const STAGES: &[Stage<Target>] = &[Stage { name: "pong", check: |t| Box::pin(pong(t)) }];
//! ```
//!
//! - `Stage<C>`: the stage's name and its check, which gets `&mut C`. Most
//!   lessons use the [`Target`] itself as `C` (`|target| target` in the
//!   table); a lesson whose stages share something (one UDP client socket,
//!   say) makes its own context from the target.
//! - [`crate::tcp`] has the helpers: `tcp::connect` (a refused connection
//!   before any stage passed becomes "nothing answers", exit 2),
//!   `tcp::send`, `tcp::read_exactly`, `tcp::read_until` and
//!   `tcp::read_to_close`. The reads return a [`crate::tcp::Reply`]: the
//!   bytes that came and how the read ended; `Reply::describe` is the `got:`
//!   line, and `Reply::describe_against` says where a long reply parts from
//!   the expected one. A stage with its own client (UDP) reports "nothing
//!   listening" with [`Failure::nothing_answering`], as
//!   `lessons/udp_echo.rs` does; the HTTP lessons use [`crate::http`], the
//!   chat [`crate::ws`].
//! - [`crate::escape::show`] escapes bytes for the `sent:` and `expected:`
//!   lines (long payloads are cut, with their length);
//!   [`crate::escape::first_difference`] finds where two payloads part,
//!   [`crate::escape::show_window`] shows a few bytes from there.
//! - Tests run the checker in-process with [`crate::run`], the very function
//!   the binary runs, writing to any `Write`. `tests/` holds the fairness
//!   tests: deliberately broken servers and Node servers, each failing
//!   where it should.
//!
//! The stages are the spec the lesson's chapter gives: a learner's server
//! that does what the chapter says passes them, whatever it is written in.

use std::fmt;
use std::future::Future;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use crate::target::Target;

/// How long any one network step (connect, a send, a reply) may take before
/// the stage fails. Generous, because a learner's debug build on a busy
/// laptop is slow; a correct server on 127.0.0.1 answers in microseconds.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(5);

/// A stage's check, boxed so stages of one lesson fit in one table.
pub type StageFuture<'a> = Pin<Box<dyn Future<Output = Result<(), Failure>> + 'a>>;

/// One stage: a name for the `PASS`/`FAIL` line and the check to run.
/// Its number is its place in the lesson's table, from 1.
pub struct Stage<C> {
    /// A few words: `echo`, `binary-safe`, `keep-alive`.
    pub name: &'static str,
    /// Usually `|target| Box::pin(my_stage(target))`.
    pub check: for<'a> fn(&'a mut C) -> StageFuture<'a>,
}

/// Why a stage failed, in the words the learner will read.
#[derive(Debug)]
pub struct Failure {
    /// What the checker sent ([`show`] for bytes).
    pub sent: String,
    /// What it expected back.
    pub expected: String,
    /// What came back ([`Reply::describe`]).
    pub got: String,
    /// What to look at in the server's code.
    pub hint: String,
    /// Set by [`tcp::connect`] when nothing accepted the connection.
    nothing_answering: Option<NothingAnswering>,
}

impl Failure {
    /// A failure, in the order the learner reads it.
    pub fn new(
        sent: impl Into<String>,
        expected: impl Into<String>,
        got: impl Into<String>,
        hint: impl Into<String>,
    ) -> Failure {
        Failure {
            sent: sent.into(),
            expected: expected.into(),
            got: got.into(),
            hint: hint.into(),
            nothing_answering: None,
        }
    }

    /// The connection was refused (or never completed): nothing is
    /// listening at `addr`. Before any stage passed, the run ends with exit
    /// status 2 and [`NothingAnswering`]'s sentence; later, the stage fails
    /// with `hint`, since the server was there a moment ago.
    pub fn nothing_answering(
        addr: SocketAddr,
        error: impl fmt::Display,
        sent: impl Into<String>,
        hint: impl Into<String>,
    ) -> Failure {
        let error = error.to_string();
        Failure {
            nothing_answering: Some(NothingAnswering {
                addr,
                error: error.clone(),
            }),
            ..Failure::new(sent, format!("a server at {addr}"), error, hint)
        }
    }
}

/// A failure the checker cannot blame on a stage: nothing accepted the
/// connection. Before any stage has passed this means "no server at ADDR"
/// (exit 2); later it means the server stopped, and the stage fails.
#[derive(Debug)]
pub struct NothingAnswering {
    /// The address tried.
    pub addr: SocketAddr,
    /// What the operating system said (connection refused, timed out).
    pub error: String,
}

impl fmt::Display for NothingAnswering {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "nothing is answering at {} ({}): start your server first, or check ADDR",
            self.addr, self.error
        )
    }
}

/// How a run ended; [`Verdict::exit_code`] is the process's exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every stage passed: exit 0.
    AllPassed,
    /// A stage failed: exit 1.
    StageFailed,
    /// Bad usage, or nothing answering at ADDR: exit 2.
    Unusable,
    /// `--help` was asked for and shown: exit 0.
    HelpShown,
}

impl Verdict {
    /// 0, 1 or 2.
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::AllPassed | Verdict::HelpShown => 0,
            Verdict::StageFailed => 1,
            Verdict::Unusable => 2,
        }
    }
}

/// The command line: `[--all] ADDR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// ADDR as given.
    pub addr: String,
    /// `--all`: run every stage even after one fails.
    pub all: bool,
}

impl Options {
    /// Parses the arguments after the program name.
    pub fn parse(args: &[String]) -> Result<Options, String> {
        let mut all = false;
        let mut addr = None;
        for arg in args {
            match arg.as_str() {
                "--all" => all = true,
                flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
                given if addr.is_none() => addr = Some(given.to_string()),
                _ => return Err("give one ADDR".into()),
            }
        }
        let addr = addr.ok_or("give the ADDR of the server to check")?;
        Ok(Options { addr, all })
    }
}

/// One lesson's checker: parse `args` (what follows LESSON on the command
/// line), resolve ADDR, run `stages` on the context `context` makes from the
/// target. Stage lines go to `out`, the one-sentence errors (usage, nothing
/// answering) to `err`.
pub async fn run<C>(
    lesson: &str,
    example_addr: &str,
    args: &[String],
    stages: &[Stage<C>],
    context: impl FnOnce(Target) -> C,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<Verdict> {
    let usage = lesson_usage(lesson, example_addr);
    let options = match Options::parse(args) {
        Ok(options) => options,
        Err(problem) => {
            writeln!(err, "check: {problem}; {usage}")?;
            return Ok(Verdict::Unusable);
        }
    };
    let target = match Target::resolve(&options.addr).await {
        Ok(target) => target,
        Err(problem) => {
            writeln!(err, "check: {problem}; {usage}")?;
            return Ok(Verdict::Unusable);
        }
    };
    let mut context = context(target);
    run_stages(&mut context, stages, options.all, out, err).await
}

/// Runs `stages` in order on `context`, printing a line for each.
pub async fn run_stages<C>(
    context: &mut C,
    stages: &[Stage<C>],
    all: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<Verdict> {
    let mut verdict = Verdict::AllPassed;
    let mut passed_any = false;
    for (index, stage) in stages.iter().enumerate() {
        let number = index + 1;
        match (stage.check)(context).await {
            Ok(()) => {
                passed_any = true;
                writeln!(out, "PASS stage {number}: {}", stage.name)?;
            }
            Err(failure) => {
                if !passed_any && verdict == Verdict::AllPassed {
                    if let Some(nothing) = &failure.nothing_answering {
                        writeln!(err, "check: {nothing}")?;
                        return Ok(Verdict::Unusable);
                    }
                }
                verdict = Verdict::StageFailed;
                writeln!(out, "FAIL stage {number}: {}", stage.name)?;
                writeln!(out, "  sent:     {}", failure.sent)?;
                writeln!(out, "  expected: {}", failure.expected)?;
                writeln!(out, "  got:      {}", failure.got)?;
                writeln!(out, "  hint:     {}", failure.hint)?;
                if !all {
                    break;
                }
            }
        }
        out.flush()?;
    }
    Ok(verdict)
}

/// `usage: cargo run -p check -- LESSON [--all] ADDR (for example ...)`.
pub fn lesson_usage(lesson: &str, example_addr: &str) -> String {
    format!("usage: cargo run -p check -- {lesson} [--all] ADDR (for example {example_addr})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_take_one_addr_and_all() {
        let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            Options::parse(&args(&["--all", "127.0.0.1:1"])),
            Ok(Options {
                addr: "127.0.0.1:1".into(),
                all: true
            })
        );
        assert!(Options::parse(&args(&[])).is_err());
        assert!(Options::parse(&args(&["a:1", "b:2"])).is_err());
        assert!(Options::parse(&args(&["--everything", "a:1"])).is_err());
    }
}
