//! The checker: runs a lesson's stages against any server, in any language.
//!
//! `cargo run -p LESSON --bin check -- ADDR` connects to the server at ADDR
//! and runs the lesson's stages in order. Each stage prints one line,
//! `PASS stage N: NAME` or `FAIL stage N: NAME`; after a FAIL come what was
//! sent, what was expected, what came back (bytes escaped: `\r\n`, `\x00`)
//! and a hint, and the run stops (`--all` runs on). Exit status: 0 when every
//! stage passes, 1 when one fails, 2 for bad usage or when nothing answers
//! at ADDR (one sentence on stderr).
//!
//! What to notice: a stage is an ordinary `async fn` that returns
//! `Ok(())` or a [`Failure`]. Everything it waits for has a deadline
//! ([`Target::timeout`]), so a silent server fails a stage instead of
//! hanging the checker.
//!
//! # Writing a lesson's checker
//!
//! Every lesson uses this module; a lesson adds only its stages and a
//! three-line `src/bin/check.rs`:
//!
//! ```no_run
//! use tcp_echo::check::{self, Failure, Stage, Target, show, tcp};
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
//! fn main() -> std::process::ExitCode {
//!     let stages: &[Stage<Target>] = &[Stage { name: "pong", check: |t| Box::pin(pong(t)) }];
//!     check::main("ping-pong", "127.0.0.1:7000", stages, |target| target)
//! }
//! ```
//!
//! - `Stage<C>`: the stage's name and its check, which gets `&mut C`. Most
//!   lessons use the [`Target`] itself as `C` (`|target| target`); a lesson
//!   whose stages share something (one UDP client socket, say) makes its own
//!   context from the target.
//! - [`tcp`] has the helpers: [`tcp::connect`] (a refused connection before
//!   any stage passed becomes "nothing answers", exit 2), [`tcp::send`],
//!   [`tcp::read_exactly`], [`tcp::read_until`] and [`tcp::read_to_close`].
//!   The reads return a [`Reply`]: the bytes that came and how the read
//!   ended; [`Reply::describe`] is the `got:` line, and
//!   [`Reply::describe_against`] says where a long reply parts from the
//!   expected one. A stage with its own client (UDP, TLS) reports "nothing
//!   listening" with [`Failure::nothing_answering`], as udp-echo's
//!   `src/bin/check/stages.rs` does.
//! - [`show`] escapes bytes for the `sent:` and `expected:` lines (long
//!   payloads are cut, with their length). [`first_difference`] finds where
//!   two payloads part, [`show_window`] shows a few bytes from there.
//! - Tests run a checker in-process with [`run`], which writes to any
//!   `Write`, or through the binary. Stages in the lesson's library are at
//!   hand for its tests; stages kept next to the binary
//!   (`src/bin/check/stages.rs`) are included by tests with `#[path]`. Every lesson's binary is named `check`,
//!   so they all build to the same `target/debug/check`: run a lesson's
//!   checker with `cargo run -p LESSON --bin check`, never from that path.
//!   Examples share one directory the same way (`target/debug/examples/`):
//!   give build-along steps names no other lesson uses.
//! - tcp-echo's `tests/checker.rs` shows the fairness tests: the lesson's
//!   server, each step, broken servers and Node servers, in-process and
//!   through the binary.
//!
//! The stages are the spec the lesson's chapter gives: a learner's server
//! that does what the chapter says passes them, whatever it is written in.

pub mod echo_stages;
pub mod escape;
pub mod tcp;

use std::fmt;
use std::future::Future;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::pin::Pin;
use std::process::ExitCode;
use std::time::Duration;

pub use escape::{first_difference, push_escaped, show, show_from, show_window};
pub use tcp::{Reply, ReplyEnd};

/// How long any one network step (connect, a send, a reply) may take before
/// the stage fails. Generous, because a learner's debug build on a busy
/// laptop is slow; a correct server on 127.0.0.1 answers in microseconds.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the server under test is, and how long to wait for it.
#[derive(Debug, Clone)]
pub struct Target {
    /// ADDR as the learner typed it (`127.0.0.1:7007`, `http://localhost:3000/`).
    pub given: String,
    /// `host:port` from ADDR, for a `Host` header.
    pub authority: String,
    /// Every address the host resolved to, never none; `connect` tries
    /// them in order.
    addrs: Vec<SocketAddr>,
    /// The deadline for each network step.
    pub timeout: Duration,
}

impl Target {
    /// Reduces ADDR (`host:port`, or a URL such as `http://host:port/path` or
    /// `ws://host:port/ws`) to `host:port` and resolves it.
    pub async fn resolve(given: &str) -> Result<Target, String> {
        let authority = authority_of(given)?;
        let addrs: Vec<SocketAddr> =
            tokio::time::timeout(STEP_TIMEOUT, tokio::net::lookup_host(authority.as_str()))
                .await
                .map_err(|_| {
                    format!("cannot resolve {authority}: no answer within {STEP_TIMEOUT:?}")
                })?
                .map_err(|error| format!("cannot resolve {authority}: {error}"))?
                .collect();
        if addrs.is_empty() {
            return Err(format!("{authority} resolves to no address"));
        }
        Ok(Target {
            given: given.to_string(),
            authority,
            addrs,
            timeout: STEP_TIMEOUT,
        })
    }

    /// The address a client tries first.
    pub fn addr(&self) -> SocketAddr {
        self.addrs[0] // `resolve` refuses a host with no address
    }

    /// Every address ADDR resolved to (`localhost` may be `::1` and
    /// `127.0.0.1`), in the order to try them.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }
}

/// `host:port` from ADDR: a URL loses its scheme and path and gets its
/// scheme's default port if it names none.
fn authority_of(given: &str) -> Result<String, String> {
    let (rest, default_port) = match given.split_once("://") {
        None => (given, None),
        Some(("http" | "ws", rest)) => (rest, Some(80)),
        Some(("https" | "wss", rest)) => (rest, Some(443)),
        Some((scheme, _)) => {
            return Err(format!(
                "ADDR {given:?} has scheme {scheme:?}; use host:port, http://, https://, ws:// or wss://"
            ));
        }
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // The port is after the last colon, unless that colon is inside `[::1]`.
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(_, port)| !port.contains(']'));
    match (has_port, default_port) {
        _ if authority.is_empty() => Err(format!("ADDR {given:?} names no host")),
        (true, _) => Ok(authority.to_string()),
        (false, Some(port)) => Ok(format!("{authority}:{port}")),
        (false, None) => Err(format!(
            "ADDR {given:?} has no port; write host:port, e.g. 127.0.0.1:7007"
        )),
    }
}

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
}

impl Verdict {
    /// 0, 1 or 2.
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::AllPassed => 0,
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

/// The whole checker: parse `args`, resolve ADDR, run `stages` on the
/// context `context` makes from the target. Stage lines go to `out`, the
/// one-sentence errors (usage, nothing answering) to `err`.
pub async fn run<C>(
    lesson: &str,
    example_addr: &str,
    args: &[String],
    stages: &[Stage<C>],
    context: impl FnOnce(Target) -> C,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<Verdict> {
    let usage = format!(
        "usage: cargo run -p {lesson} --bin check -- [--all] ADDR (for example {example_addr})"
    );
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

/// `main` for a lesson's `src/bin/check.rs`: the process's arguments,
/// stdout and stderr, and a single-threaded runtime (stages run one at a
/// time; a stage that needs several clients at once runs them as tasks or
/// with `join`).
pub fn main<C>(
    lesson: &str,
    example_addr: &str,
    stages: &[Stage<C>],
    context: impl FnOnce(Target) -> C,
) -> ExitCode {
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
    let mut out = io::stdout();
    let mut err = io::stderr();
    let verdict = runtime.block_on(run(
        lesson,
        example_addr,
        &args,
        stages,
        context,
        &mut out,
        &mut err,
    ));
    match verdict {
        Ok(verdict) => ExitCode::from(verdict.exit_code()),
        // stdout closed (`check ... | head -1`): nothing more to say.
        Err(_) => ExitCode::from(2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addr_forms_reduce_to_host_and_port() {
        let table = [
            ("127.0.0.1:7007", "127.0.0.1:7007"),
            ("localhost:3000", "localhost:3000"),
            ("[::1]:8080", "[::1]:8080"),
            ("http://127.0.0.1:3000/hello?x=1", "127.0.0.1:3000"),
            ("http://localhost", "localhost:80"),
            ("https://example.test/", "example.test:443"),
            ("ws://127.0.0.1:8080/ws", "127.0.0.1:8080"),
            ("http://[::1]/", "[::1]:80"),
        ];
        for (given, authority) in table {
            assert_eq!(authority_of(given).as_deref(), Ok(authority), "{given}");
        }
    }

    #[test]
    fn addr_without_port_or_with_odd_scheme_is_refused() {
        for given in ["127.0.0.1", "[::1]", "ftp://127.0.0.1:21", "http://", ""] {
            assert!(authority_of(given).is_err(), "{given}");
        }
    }

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
