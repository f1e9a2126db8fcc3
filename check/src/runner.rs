//! The stage runner: one lesson's stages, in order, against one server.
//!
//! `cargo run -p check -- LESSON ADDR` finds the lesson in `lessons/mod.rs`
//! and lands here: [`run`] resolves ADDR and runs the lesson's stages in
//! order. Each stage prints one line, `PASS stage N: NAME`,
//! `FAIL stage N: NAME` or `SKIP stage N: NAME (why)`; after a FAIL come what
//! was sent, what was expected, what came back (bytes escaped: `\r\n`,
//! `\x00`) and a hint, and the run stops (`--all` runs on). Exit status: 0
//! when every stage passes (a SKIP for the platform's limits allowed), 1 when
//! one fails, 2 for bad usage or when nothing answers at ADDR (one sentence
//! on stderr).
//!
//! What to notice: a stage is an ordinary `async fn` that returns
//! `Ok(())` or a [`Failure`]. Everything it waits for has a deadline
//! ([`Target::timeout`]), so a silent server fails a stage instead of
//! hanging the checker. A stage names the stages it builds on
//! ([`Stage::needs`]): when one of them did not pass, it is not run at all
//! but reported `SKIP stage N: NAME (needs stage M)`, because its own
//! failure would only repeat the earlier one with a hint about the wrong
//! thing (a concurrency hint for a server whose only fault is its text).
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
//! pub const STAGES: &[Stage<Target>] = &[Stage {
//!     name: "pong",
//!     needs: &[],
//!     check: |t| Box::pin(pong(t)),
//! }];
//! ```
//!
//! - `Stage<C>`: the stage's name, the stages it needs (by number, e.g.
//!   `needs: &[1]`), and its check, which gets `&mut C`. Most
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
//! - A stage that cannot run on this machine (the operating system lacks
//!   what it needs) returns [`Failure::skip`]: `SKIP stage N: NAME (why)`,
//!   which does not fail the run.
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

/// One stage: a name for the `PASS`/`FAIL`/`SKIP` line, the stages it
/// builds on, and the check to run. Its number is its place in the lesson's
/// table, from 1.
pub struct Stage<C> {
    /// A few words: `echo`, `binary-safe`, `keep-alive`.
    pub name: &'static str,
    /// The stages this one builds on, by number (`&[1, 4]`): when one of
    /// them did not pass, this one is skipped, `SKIP stage N: NAME (needs
    /// stage M)`, instead of failing again with a hint about the wrong thing.
    /// A stage needs another when it sends what that one checks (the same
    /// route, the same kind of payload), so the other's mistake would fail
    /// it too.
    pub needs: &'static [usize],
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
    /// Set by [`Failure::skip`]: not the server's fault, this machine lacks
    /// what the stage needs; says what, and what to do.
    skipped: Option<String>,
    /// The book's section about this mistake (`docs/src/PAGE.md#part`),
    /// printed as a `book:` line after the hint.
    book: Option<&'static str>,
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
            skipped: None,
            book: None,
        }
    }

    /// Not a failure: the stage cannot run on this machine (the operating
    /// system lacks what it needs, or caps it). `why` says what, and what
    /// to do about it; the line is `SKIP stage N: NAME (why)`, and the run
    /// still passes if every other stage does.
    pub fn skip(why: impl Into<String>) -> Failure {
        Failure {
            skipped: Some(why.into()),
            ..Failure::new("", "", "", "")
        }
    }

    /// The same failure, with the book's section about it (a path from the
    /// repository root, `docs/src/PAGE.md#part`) on a `book:` line.
    pub fn with_book(self, section: &'static str) -> Failure {
        Failure {
            book: Some(section),
            ..self
        }
    }

    /// Whether this is a skip ([`Failure::skip`]) rather than a failure.
    pub fn is_skip(&self) -> bool {
        self.skipped.is_some()
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
    /// `--ca FILE`: the CA to trust for `https://`.
    pub ca: Option<String>,
}

impl Options {
    /// Parses the arguments after the program name.
    pub fn parse(args: &[String]) -> Result<Options, String> {
        let mut all = false;
        let mut addr = None;
        let mut ca = None;
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--all" => all = true,
                "--ca" => ca = Some(args.next().ok_or("--ca needs a FILE")?.clone()),
                flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
                given if addr.is_none() => addr = Some(given.to_string()),
                _ => return Err("give one ADDR".into()),
            }
        }
        let addr = addr.ok_or("give the ADDR of the server to check")?;
        Ok(Options { addr, all, ca })
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
    let mut target = match Target::resolve(&options.addr).await {
        Ok(target) => target,
        Err(problem) => {
            writeln!(err, "check: {problem}; {usage}")?;
            return Ok(Verdict::Unusable);
        }
    };
    // Another protocol answering is one sentence, not a stage 1 FAIL.
    if let Some(sentence) = crate::sniff::other_protocol(lesson, &target).await {
        writeln!(err, "check: {sentence}")?;
        return Ok(Verdict::StageFailed);
    }
    // `https://` really speaks TLS, trusting the dev CA or `--ca FILE`.
    if target.wants_tls() {
        match crate::tls::client_config(options.ca.as_deref().map(std::path::Path::new)) {
            Ok(config) => target.tls = Some(config),
            Err(problem) => {
                writeln!(err, "check: {problem}")?;
                return Ok(Verdict::Unusable);
            }
        }
    }
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
    let mut report = Report::new(out, err, all);
    for stage in stages {
        if !report.going() {
            break;
        }
        report
            .stage(stage.name, stage.needs, || (stage.check)(context))
            .await?;
    }
    Ok(report.verdict())
}

/// How a stage ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// `PASS`.
    Passed,
    /// `FAIL`, with its report.
    Failed,
    /// `SKIP`: a stage it needs did not pass, or the platform lacks what it
    /// needs.
    Skipped,
}

/// The report as it is printed: one line per stage, numbered in the order
/// they come, and the verdict they add up to. Stages are numbered by the
/// order of [`Report::stage`] calls, so a mode that puts stages of its own
/// around a lesson's (`--spawn`) numbers them all in one sequence.
pub struct Report<'w> {
    out: &'w mut dyn Write,
    err: &'w mut dyn Write,
    /// `--all`: go on after a failure.
    all: bool,
    /// How each stage so far ended; stage N is at N - 1.
    ended: Vec<Ended>,
    /// For a stage skipped because another did not pass: the stage that
    /// failed at the root of it (a stage may need one that was skipped).
    root: Vec<Option<usize>>,
    /// Set when nothing answered before any stage passed (exit 2).
    unusable: bool,
    /// Set by [`Report::refuse`]: the run ended before its stages.
    refused: bool,
}

impl<'w> Report<'w> {
    /// An empty report writing to `out` (stage lines) and `err` (the
    /// one-sentence errors).
    pub fn new(out: &'w mut dyn Write, err: &'w mut dyn Write, all: bool) -> Report<'w> {
        Report {
            out,
            err,
            all,
            ended: Vec::new(),
            root: Vec::new(),
            unusable: false,
            refused: false,
        }
    }

    /// The number the next stage gets.
    pub fn next_number(&self) -> usize {
        self.ended.len() + 1
    }

    /// How stage `number` ended, if it has run.
    pub fn ended(&self, number: usize) -> Option<Ended> {
        self.ended.get(number_index(number)?).copied()
    }

    /// Whether more stages should run: not after a failure (unless
    /// `--all`), nor once nothing answered or the run was refused.
    pub fn going(&self) -> bool {
        let failed = self.ended.contains(&Ended::Failed);
        !self.unusable && !self.refused && (self.all || !failed)
    }

    /// The first of `needs` that did not pass (or has not run); if that one
    /// was skipped for want of another, that other: the stage to fix first.
    pub fn missing(&self, needs: &[usize]) -> Option<usize> {
        let first = needs
            .iter()
            .copied()
            .find(|&number| self.ended(number) != Some(Ended::Passed))?;
        let root = number_index(first).and_then(|at| self.root.get(at).copied().flatten());
        Some(root.unwrap_or(first))
    }

    /// Runs one stage, unless a stage it needs did not pass, and prints its
    /// line (and, after a FAIL, the report). `check` makes the stage's
    /// future; it is not called when the stage is skipped.
    pub async fn stage<F>(
        &mut self,
        name: &str,
        needs: &[usize],
        check: impl FnOnce() -> F,
    ) -> io::Result<Ended>
    where
        F: Future<Output = Result<(), Failure>>,
    {
        let number = self.next_number();
        if let Some(missing) = self.missing(needs) {
            writeln!(
                self.out,
                "SKIP stage {number}: {name} (needs stage {missing})"
            )?;
            self.root.push(Some(missing));
            return self.record(Ended::Skipped);
        }
        self.root.push(None);
        let result = check().await;
        self.print(number, name, result)
    }

    /// Prints a stage's line for a result found elsewhere, and records it.
    fn print(
        &mut self,
        number: usize,
        name: &str,
        result: Result<(), Failure>,
    ) -> io::Result<Ended> {
        let failure = match result {
            Ok(()) => {
                writeln!(self.out, "PASS stage {number}: {name}")?;
                return self.record(Ended::Passed);
            }
            Err(failure) => failure,
        };
        if let Some(why) = &failure.skipped {
            writeln!(self.out, "SKIP stage {number}: {name} ({why})")?;
            return self.record(Ended::Skipped);
        }
        // Nothing has passed or failed yet: the server was never there.
        let first = self.ended.iter().all(|ended| *ended == Ended::Skipped);
        if let (true, Some(nothing)) = (first, &failure.nothing_answering) {
            writeln!(self.err, "check: {nothing}")?;
            self.unusable = true;
            return Ok(Ended::Failed);
        }
        writeln!(self.out, "FAIL stage {number}: {name}")?;
        writeln!(self.out, "  sent:     {}", failure.sent)?;
        writeln!(self.out, "  expected: {}", failure.expected)?;
        writeln!(self.out, "  got:      {}", failure.got)?;
        writeln!(self.out, "  hint:     {}", failure.hint)?;
        if let Some(book) = failure.book {
            writeln!(self.out, "  book:     {book}")?;
        }
        self.record(Ended::Failed)
    }

    /// Ends the run before its stages with one sentence on stderr and exit
    /// status 1: what answers is not what this lesson checks.
    pub fn refuse(&mut self, sentence: &str) -> io::Result<()> {
        writeln!(self.err, "check: {sentence}")?;
        self.refused = true;
        Ok(())
    }

    /// The stage lines' writer, for a note between them.
    pub fn out(&mut self) -> &mut dyn Write {
        &mut *self.out
    }

    fn record(&mut self, ended: Ended) -> io::Result<Ended> {
        self.ended.push(ended);
        self.out.flush()?;
        Ok(ended)
    }

    /// What the stages add up to: nothing answering (2), a failure or a
    /// refusal (1), or every stage passed, skips for the platform's sake
    /// allowed (0). (A skip for a missing stage comes only after a failure.)
    pub fn verdict(&self) -> Verdict {
        if self.unusable {
            Verdict::Unusable
        } else if self.refused || self.ended.contains(&Ended::Failed) {
            Verdict::StageFailed
        } else {
            Verdict::AllPassed
        }
    }
}

/// Where stage `number` is kept: at `number - 1`.
fn number_index(number: usize) -> Option<usize> {
    number.checked_sub(1)
}

/// `usage: cargo run -p check -- LESSON [--all] ADDR (for example ...)`.
pub fn lesson_usage(lesson: &str, example_addr: &str) -> String {
    format!("usage: cargo run -p check -- {lesson} [--all] ADDR (for example {example_addr})")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stages' context in these tests: which stages fail, which skip.
    struct Script {
        failing: &'static [usize],
        platform_skips: &'static [usize],
        ran: Vec<usize>,
    }

    fn scripted(script: &mut Script, number: usize) -> StageFuture<'_> {
        script.ran.push(number);
        let result = if script.failing.contains(&number) {
            Err(Failure::new("x", "y", "z", format!("fix stage {number}")))
        } else if script.platform_skips.contains(&number) {
            Err(Failure::skip("this machine cannot"))
        } else {
            Ok(())
        };
        Box::pin(async move { result })
    }

    /// 1; 2 needs 1; 3 needs 2; 4 needs nothing; 5 needs 4.
    const CHAIN: &[Stage<Script>] = &[
        Stage {
            name: "one",
            needs: &[],
            check: |s| scripted(s, 1),
        },
        Stage {
            name: "two",
            needs: &[1],
            check: |s| scripted(s, 2),
        },
        Stage {
            name: "three",
            needs: &[2],
            check: |s| scripted(s, 3),
        },
        Stage {
            name: "four",
            needs: &[],
            check: |s| scripted(s, 4),
        },
        Stage {
            name: "five",
            needs: &[4],
            check: |s| scripted(s, 5),
        },
    ];

    async fn run_script(
        failing: &'static [usize],
        skips: &'static [usize],
        all: bool,
    ) -> (Verdict, String, Vec<usize>) {
        let mut script = Script {
            failing,
            platform_skips: skips,
            ran: Vec::new(),
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let verdict = run_stages(&mut script, CHAIN, all, &mut out, &mut err)
            .await
            .expect("writing to a Vec");
        assert!(err.is_empty());
        (verdict, String::from_utf8(out).expect("UTF-8"), script.ran)
    }

    #[tokio::test]
    async fn a_stage_whose_needed_stage_failed_is_skipped_naming_the_root() {
        let (verdict, out, ran) = run_script(&[1], &[], true).await;
        assert_eq!(
            out.lines()
                .filter(|line| !line.starts_with(' '))
                .collect::<Vec<_>>(),
            [
                "FAIL stage 1: one",
                "SKIP stage 2: two (needs stage 1)",
                "SKIP stage 3: three (needs stage 1)",
                "PASS stage 4: four",
                "PASS stage 5: five",
            ],
            "{out}"
        );
        assert_eq!(ran, [1, 4, 5], "skipped stages do not run");
        assert_eq!(verdict, Verdict::StageFailed);
    }

    #[tokio::test]
    async fn without_all_the_run_stops_at_the_first_failure() {
        let (verdict, out, ran) = run_script(&[2], &[], false).await;
        assert!(out.ends_with("  hint:     fix stage 2\n"), "{out}");
        assert_eq!(ran, [1, 2]);
        assert_eq!(verdict, Verdict::StageFailed);
    }

    #[tokio::test]
    async fn a_platform_skip_passes_the_run_and_skips_what_needs_it() {
        let (verdict, out, _) = run_script(&[], &[4], false).await;
        assert!(
            out.contains(
                "SKIP stage 4: four (this machine cannot)\nSKIP stage 5: five (needs stage 4)"
            ),
            "{out}"
        );
        assert_eq!(verdict, Verdict::AllPassed);
        assert_eq!(verdict.exit_code(), 0);
    }

    #[test]
    fn options_take_one_addr_and_all() {
        let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            Options::parse(&args(&["--all", "127.0.0.1:1"])),
            Ok(Options {
                addr: "127.0.0.1:1".into(),
                all: true,
                ca: None,
            })
        );
        assert!(Options::parse(&args(&[])).is_err());
        assert!(Options::parse(&args(&["a:1", "b:2"])).is_err());
        assert!(Options::parse(&args(&["--everything", "a:1"])).is_err());
    }
}
