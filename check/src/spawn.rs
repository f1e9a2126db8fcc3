//! `--spawn 'COMMAND'`: the checker starts the learner's program itself and
//! checks its whole life, not only its answers.
//!
//! What to notice: a server is more than its replies. It reads its port from
//! the environment (`PORT`, `HOST`), is ready when it says it is, logs what
//! it serves, refuses a bad setting with one clear line, and on Ctrl+C (or a
//! process manager's SIGTERM) finishes the request in flight, exits 0 and
//! frees its port. Each of those is a stage here, numbered with the lesson's
//! own stages in one report (`runner::Report`):
//!
//! 1. `listens on PORT`, within [`LISTEN_WAIT`];
//! 2. the lesson's stages, as against a running server;
//! 3. first-server: `logs each request`; the lessons: `PORT=abc`;
//! 4. `Ctrl+C with a request in flight`, then `SIGTERM with a request in
//!    flight` (each on its own copy of the program).
//!
//! The program runs under `sh -c` (`cmd /C` on Windows) in a process group
//! of its own, which is what a terminal signals on Ctrl+C; the checker
//! signals that group, and kills it (SIGKILL) when done, so nothing it
//! started outlives the run. It ends only processes it started.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::process::{Child, Command};
use tokio::sync::Notify;
use tokio::time::{Instant, timeout, timeout_at};

use crate::lessons::{Lesson, first_server};
use crate::response_reader::ResponseReader;
use crate::runner::{Failure, Report, Verdict};
use crate::target::Target;
use crate::ws::{ChatTarget, Event, Peer};

/// How long the program may take to listen after it starts: a `cargo run`
/// that has already been built, or `node server.js`, is up in well under a
/// second; ten leaves room for a slow laptop.
pub const LISTEN_WAIT: Duration = Duration::from_secs(10);

/// How long the program may take to exit after a signal (or after
/// `PORT=abc`): the in-flight request takes one second, the rest is room.
pub const EXIT_WAIT: Duration = Duration::from_secs(10);

/// How long the checker waits, after a signal, for the program to show it
/// has seen it (exit, or stop accepting) before finishing the work in
/// flight; a program that keeps accepting for a while is given this much.
const SIGNAL_SEEN_WAIT: Duration = Duration::from_secs(2);

/// How often the checker looks whether the program listens yet: there is
/// no event for "a port was bound" that a process can wait on.
const LISTEN_POLL: Duration = Duration::from_millis(25);

/// How many of the program's last output lines a report shows.
const LAST_LINES: usize = 20;

/// The most output lines kept for the log stage; older ones are dropped, so
/// a chatty program cannot fill the checker's memory.
const MAX_KEPT_LINES: usize = 10_000;

/// The longest output line kept, in bytes; the rest of a longer line is
/// dropped.
const MAX_LINE: usize = 4096;

/// How long the log stage waits for the request lines to appear (a program
/// may write its log a moment after it answers).
const LOG_WAIT: Duration = Duration::from_secs(2);

/// The slow request each lesson's in-flight check makes: the lesson's own
/// demo route that answers after this many milliseconds.
const SLOW_MS: u64 = 1000;

/// The program's output, both streams, line by line as it came.
#[derive(Default)]
struct Output {
    lines: VecDeque<String>,
}

impl Output {
    fn push(&mut self, bytes: &[u8]) {
        let end = bytes.len().min(MAX_LINE);
        let line = String::from_utf8_lossy(&bytes[..end]);
        self.lines
            .push_back(line.trim_end_matches(['\r', '\n']).to_string());
        if self.lines.len() > MAX_KEPT_LINES {
            self.lines.pop_front();
        }
    }

    /// The last [`LAST_LINES`] lines, each on its own report line.
    fn tail(&self) -> String {
        if self.lines.is_empty() {
            return "nothing".to_string();
        }
        let skip = self.lines.len().saturating_sub(LAST_LINES);
        let lines: Vec<String> = self
            .lines
            .iter()
            .skip(skip)
            .map(|line| format!("\n            | {line}"))
            .collect();
        format!("its last {} lines:{}", lines.len(), lines.concat())
    }
}

/// One run of the learner's program.
struct Program {
    child: Child,
    /// Its process group's id (its pid), kept from the start: tokio forgets
    /// the pid once the child is reaped, and the group may outlive it.
    #[cfg_attr(not(unix), allow(dead_code))]
    group: Option<i32>,
    started: Instant,
    output: Arc<Mutex<Output>>,
    /// Woken at each new output line.
    new_line: Arc<Notify>,
    /// How it ended, once it has.
    ended: Option<ExitStatus>,
}

impl Program {
    /// Starts `command` through the shell with `PORT` and `HOST` set.
    fn start(command: &str, port: &str) -> io::Result<Program> {
        let mut shell = if cfg!(windows) {
            let mut shell = Command::new("cmd");
            shell.arg("/C");
            shell
        } else {
            let mut shell = Command::new("sh");
            shell.arg("-c");
            shell
        };
        shell
            .arg(shell_line(command))
            .env("PORT", port)
            .env("HOST", "127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // Its own process group, as a terminal gives a job: the signals go
        // to the group, so `sh` and what it started get them alike.
        #[cfg(unix)]
        shell.process_group(0);
        let mut child = shell.spawn()?;
        let output = Arc::new(Mutex::new(Output::default()));
        let new_line = Arc::new(Notify::new());
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(read_lines(stdout, output.clone(), new_line.clone()));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(read_lines(stderr, output.clone(), new_line.clone()));
        }
        let group = child.id().and_then(|pid| i32::try_from(pid).ok());
        Ok(Program {
            child,
            group,
            started: Instant::now(),
            output,
            new_line,
            ended: None,
        })
    }

    /// How it ended, if it has (without waiting).
    fn exited(&mut self) -> Option<ExitStatus> {
        if self.ended.is_none() {
            self.ended = self.child.try_wait().ok().flatten();
        }
        self.ended
    }

    /// Waits up to `limit` for it to exit.
    async fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        if self.ended.is_none() {
            self.ended = timeout(limit, self.child.wait()).await.ok()?.ok();
        }
        self.ended
    }

    /// `exited with status 1 after 0.4 s; its last 20 lines: ...`.
    fn exit_report(&self, status: ExitStatus) -> String {
        format!(
            "it {} {:.1} s after it started; {}",
            describe_status(status),
            self.started.elapsed().as_secs_f32(),
            self.tail()
        )
    }

    fn tail(&self) -> String {
        self.output
            .lock()
            .map(|output| output.tail())
            .unwrap_or_default()
    }

    fn lines(&self) -> Vec<String> {
        self.output
            .lock()
            .map(|output| output.lines.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Sends `stop` to its process group, as a terminal's Ctrl+C does.
    #[cfg(unix)]
    fn signal(&self, stop: Stop) -> io::Result<()> {
        use nix::sys::signal::{Signal, killpg};
        let signal = match stop {
            Stop::Interrupt => Signal::SIGINT,
            Stop::Terminate => Signal::SIGTERM,
        };
        let group = self
            .group
            .ok_or_else(|| io::Error::other("the program has no process id"))?;
        killpg(nix::unistd::Pid::from_raw(group), signal).map_err(io::Error::from)
    }

    /// Elsewhere there are no signals to send (see [`graceful`]).
    #[cfg(not(unix))]
    fn signal(&self, _stop: Stop) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }
}

impl Drop for Program {
    /// Kills the whole group: a program that left a child behind (still
    /// holding the port) must not outlive the checker. The group's id stays
    /// reserved while any member lives, so this reaches only what we
    /// started.
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(group) = self.group {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(group),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = self.child.start_kill();
    }
}

/// The line the shell runs: a single command gets `exec` in front, so the
/// program *is* the process the checker started, as it is a terminal's
/// job. Without it, `sh` (dash, at least) waits in between, dies of the
/// very Ctrl+C the program handles, and its death is all the checker sees.
/// A list (`cd app && node server.js`) runs as written.
fn shell_line(command: &str) -> String {
    let list = command.contains([';', '&', '|', '\n', '(', ')', '`']);
    // Settings in front (`FLAG=1 node server.js`) stay in front:
    // `FLAG=1 exec node server.js` passes them on.
    let words: Vec<&str> = command.split_whitespace().collect();
    let settings = words.iter().take_while(|word| word.contains('=')).count();
    let first = words.get(settings).copied().unwrap_or_default();
    if cfg!(windows) || list || first.is_empty() || first == "exec" || first == "cd" {
        return command.to_string();
    }
    if settings == 0 {
        return format!("exec {command}");
    }
    let (before, after) = words.split_at(settings);
    let mut line: Vec<&str> = before.to_vec();
    line.push("exec");
    line.extend_from_slice(after);
    line.join(" ")
}

/// Copies one output stream into `output`, a line at a time.
async fn read_lines(
    mut stream: impl AsyncRead + Unpin,
    output: Arc<Mutex<Output>>,
    new_line: Arc<Notify>,
) {
    let mut line = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(read @ 1..) = stream.read(&mut chunk).await {
        for &byte in &chunk[..read] {
            if byte == b'\n' {
                if let Ok(mut output) = output.lock() {
                    output.push(&line);
                }
                line.clear();
                new_line.notify_waiters();
            } else if line.len() < MAX_LINE {
                line.push(byte);
            }
        }
    }
    if !line.is_empty() {
        if let Ok(mut output) = output.lock() {
            output.push(&line);
        }
        new_line.notify_waiters();
    }
}

/// `exited with status 1`, `was killed by signal 2 (SIGINT)`.
fn describe_status(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exited with status {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(number) = status.signal() {
            let name = nix::sys::signal::Signal::try_from(number)
                .map(|signal| format!(" ({signal})"))
                .unwrap_or_default();
            return format!("was killed by signal {number}{name}");
        }
    }
    format!("ended ({status})")
}

/// A port nothing listens on now, on TCP and UDP alike.
async fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let port = listener.local_addr()?.port();
    drop(UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).await?);
    Ok(port)
}

/// Whether the port can be bound again, as the next start of the server
/// would bind it.
async fn port_free(port: u16, udp: bool) -> bool {
    if udp {
        UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).await.is_ok()
    } else {
        // std's bind sets SO_REUSEADDR on Unix, as servers do, so closed
        // connections waiting out TIME_WAIT do not count.
        TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await.is_ok()
    }
}

/// Whether something answers on the port: a TCP connection is accepted,
/// or a UDP datagram draws no "port unreachable".
async fn listens(port: u16, udp: bool) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    if !udp {
        // A connection to itself (TCP's simultaneous open, when the port
        // picked for our side is PORT) is not a server.
        return TcpStream::connect(addr)
            .await
            .is_ok_and(|stream| stream.local_addr().ok() != Some(addr));
    }
    let Ok(socket) = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await else {
        return false;
    };
    if socket.connect(addr).await.is_err() || socket.send(b"").await.is_err() {
        return false;
    }
    // On loopback the ICMP "port unreachable" comes back at once: a refused
    // receive means nothing is bound; a reply, or silence, means something is.
    let mut buf = [0u8; 64];
    match timeout(LISTEN_POLL, socket.recv(&mut buf)).await {
        Ok(Err(_)) => false,
        Ok(Ok(_)) | Err(_) => true,
    }
}

/// What the spawn mode needs to know of a lesson.
struct Life {
    /// It serves UDP (no connections to watch).
    udp: bool,
    /// What it has in flight when the signal comes.
    in_flight: InFlight,
}

/// The work in flight when the signal comes, per lesson.
#[derive(Clone, Copy)]
enum InFlight {
    /// An HTTP request whose head is half sent: the first server has no
    /// slow route, so the request is in flight on the client's side.
    HalfSentRequest,
    /// `GET /sleep?ms=1000`, the HTTP lessons' slow demo route.
    SlowRoute,
    /// An echo connection with a line not yet echoed back.
    EchoLine,
    /// A chat client, joined: it should get a close frame, not a cut.
    ChatClient,
    /// An idle connection held open (lessons without a slow request): the
    /// server may close it as it likes, and must still exit 0.
    HeldOpen,
    /// Nothing: UDP has no connection to keep.
    Nothing,
}

fn life_of(lesson: &str) -> Life {
    let in_flight = match lesson {
        "first-server" => InFlight::HalfSentRequest,
        "http-raw" | "http-server" => InFlight::SlowRoute,
        "tcp-echo" => InFlight::EchoLine,
        "ws-chat" => InFlight::ChatClient,
        "udp-echo" | "dns" => InFlight::Nothing,
        _ => InFlight::HeldOpen,
    };
    Life {
        udp: matches!(lesson, "udp-echo" | "dns"),
        in_flight,
    }
}

/// The command line of this mode: `[--all] --spawn COMMAND`.
fn parse(args: &[String]) -> Result<(String, bool), String> {
    let mut all = false;
    let mut command = None;
    let mut words = args.iter();
    while let Some(word) = words.next() {
        match word.as_str() {
            "--all" => all = true,
            "--spawn" => match words.next() {
                Some(given) if !given.trim().is_empty() => command = Some(given.clone()),
                _ => return Err("--spawn needs a COMMAND, e.g. --spawn 'node server.js'".into()),
            },
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            addr => {
                return Err(format!(
                    "give --spawn 'COMMAND' or ADDR, not both ({addr} looks like an ADDR)"
                ));
            }
        }
    }
    let command = command.ok_or("--spawn needs a COMMAND")?;
    Ok((command, all))
}

/// `check LESSON [--all] --spawn 'COMMAND'`.
pub async fn run(
    lesson: &Lesson,
    args: &[String],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<Verdict> {
    let (command, all) = match parse(args) {
        Ok(parsed) => parsed,
        Err(problem) => {
            writeln!(
                err,
                "check: {problem}; usage: cargo run -p check -- {} [--all] --spawn 'COMMAND'",
                lesson.name
            )?;
            return Ok(Verdict::Unusable);
        }
    };
    let port = match free_port().await {
        Ok(port) => port,
        Err(error) => {
            writeln!(err, "check: cannot find a free port on 127.0.0.1: {error}")?;
            return Ok(Verdict::Unusable);
        }
    };
    let life = life_of(lesson.name);
    let mut report = Report::new(out, err, all);
    let mut program = match Program::start(&command, &port.to_string()) {
        Ok(program) => program,
        Err(error) => {
            report.refuse(&format!("cannot start `{command}`: {error}"))?;
            return Ok(report.verdict());
        }
    };
    writeln!(
        report.out(),
        "started `{command}` with PORT={port} HOST=127.0.0.1"
    )?;

    let listening = report
        .stage("listens on PORT", &[], || {
            wait_listening(&mut program, port, life.udp)
        })
        .await?;
    if listening != crate::runner::Ended::Passed {
        return Ok(report.verdict());
    }

    let target = Target::resolve(&format!("127.0.0.1:{port}"))
        .await
        .map_err(io::Error::other)?;
    let first = report.next_number();
    lesson.checker.run_in(target, &mut report, first).await?;
    if let Some(status) = program.exited() {
        writeln!(report.out(), "  note:     {}", program.exit_report(status))?;
        return Ok(report.verdict());
    }

    let graceful_needs = [1];
    if lesson.name == "first-server" {
        // Stages 1, 3 and 4 of first-server sent the requests the log names.
        let needs = [first, first + 2, first + 3];
        if report.going() {
            report
                .stage("logs each request", &needs, || {
                    logs_requests(&program, port)
                })
                .await?;
        }
    } else if report.going() {
        report
            .stage("PORT=abc: one clear line, a non-zero exit", &[], || {
                bad_port(&command)
            })
            .await?;
    }
    if !report.going() {
        return Ok(report.verdict());
    }
    let interrupt = report.next_number();
    report
        .stage(
            "Ctrl+C (SIGINT) with a request in flight",
            &graceful_needs,
            || graceful(&mut program, port, &life, Stop::Interrupt),
        )
        .await?;
    drop(program);
    if report.going() {
        report
            .stage("SIGTERM with a request in flight", &[interrupt], || {
                graceful_again(&command, port, &life)
            })
            .await?;
    }
    Ok(report.verdict())
}

/// Stage 1: it listens on PORT within [`LISTEN_WAIT`].
async fn wait_listening(program: &mut Program, port: u16, udp: bool) -> Result<(), Failure> {
    let deadline = Instant::now() + LISTEN_WAIT;
    loop {
        if let Some(status) = program.exited() {
            return Err(Failure::new(
                "nothing: the checker only started the program",
                format!("it listens on PORT={port}"),
                program.exit_report(status),
                "it exited before it listened: read its last lines above (a missing file? an error at startup?)",
            ));
        }
        if listens(port, udp).await {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Failure::new(
                "nothing: the checker only started the program",
                format!(
                    "it listens on PORT={port} (127.0.0.1) within {} s",
                    LISTEN_WAIT.as_secs()
                ),
                format!(
                    "nothing listens on PORT after {} s; {}",
                    LISTEN_WAIT.as_secs(),
                    program.tail()
                ),
                "read the port from the environment: `const PORT = process.env.PORT || 3000` in Node, \
                 `std::env::var(\"PORT\")` in Rust; a fixed port is not the one the checker gave",
            ));
        }
        tokio::time::sleep(LISTEN_POLL).await;
    }
}

/// first-server: every request the stages sent is in the program's log,
/// method and URL.
async fn logs_requests(program: &Program, port: u16) -> Result<(), Failure> {
    let deadline = Instant::now() + LOG_WAIT;
    loop {
        let lines = program.lines();
        let missing: Vec<&str> = first_server::PATHS_ASKED
            .iter()
            .copied()
            .filter(|path| !lines.iter().any(|line| names_request(line, path, port)))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let woken = program.new_line.notified();
        if timeout_at(deadline, woken).await.is_err() {
            let wanted: Vec<String> = first_server::PATHS_ASKED
                .iter()
                .map(|path| format!("GET {path}"))
                .collect();
            let missing: Vec<String> = missing.iter().map(|path| format!("GET {path}")).collect();
            return Err(Failure::new(
                wanted.join(", "),
                "a line in its output for each request, naming its method and URL",
                format!("no line names {}; {}", missing.join(", "), program.tail()),
                "log every request as it comes: `console.log(`${req.method} ${req.url}`)` in Node, \
                 `tracing::info!(%method, %path)` in Rust; in Python print with `flush=True`, \
                 or the lines wait in a buffer",
            ));
        }
    }
}

/// Whether `line` names a GET of `path` (or of its full URL).
fn names_request(line: &str, path: &str, port: u16) -> bool {
    let url_end = format!(":{port}{path}");
    line.contains("GET")
        && line
            .split(|c: char| c.is_whitespace() || c == '"' || c == '\'')
            .any(|word| word == path || word.ends_with(&url_end))
}

/// Lessons: with `PORT=abc` the program says so and exits non-zero, no
/// crash.
async fn bad_port(command: &str) -> Result<(), Failure> {
    let mut program = Program::start(command, "abc").map_err(|error| {
        Failure::new(
            "",
            "the program to start",
            error.to_string(),
            "check COMMAND",
        )
    })?;
    let sent = "PORT=abc in its environment";
    let expected = "one line saying PORT is wrong, then a non-zero exit (no crash) within 10 s";
    let Some(status) = program.wait_exit(EXIT_WAIT).await else {
        return Err(Failure::new(
            sent,
            expected,
            format!(
                "it was still running {} s later; {}",
                EXIT_WAIT.as_secs(),
                program.tail()
            ),
            "check PORT when the program starts: print one line naming the bad value and exit 1",
        ));
    };
    let lines = program.lines();
    let crashed = status.code().is_none()
        || status.code() == Some(101)
        || lines.iter().any(|line| {
            line.contains("panicked at")
                || line.starts_with("    at ")
                || line.starts_with("Traceback (most recent call last)")
        });
    if status.success() || crashed {
        let hint = if status.success() {
            "a bad setting must stop the program with a non-zero status, so a script or process manager sees it failed"
        } else {
            "a crash (a panic, a stack trace) is not an error message: check PORT, print one line naming the bad value, exit 1"
        };
        return Err(Failure::new(
            sent,
            expected,
            program.exit_report(status),
            hint,
        ));
    }
    Ok(())
}

/// Which signal a graceful stage sends.
#[derive(Clone, Copy)]
enum Stop {
    Interrupt,
    Terminate,
}

impl Stop {
    fn name(self) -> &'static str {
        match self {
            Stop::Interrupt => "SIGINT (Ctrl+C)",
            Stop::Terminate => "SIGTERM",
        }
    }
}

/// SIGTERM, on a fresh copy of the program (the first one exited on
/// SIGINT).
async fn graceful_again(command: &str, port: u16, life: &Life) -> Result<(), Failure> {
    let mut program = Program::start(command, &port.to_string()).map_err(|error| {
        Failure::new(
            "",
            "the program to start again",
            error.to_string(),
            "check COMMAND",
        )
    })?;
    wait_listening(&mut program, port, life.udp).await?;
    graceful(&mut program, port, life, Stop::Terminate).await
}

/// With work in flight, `stop` arrives: the work finishes, the program
/// exits 0 within [`EXIT_WAIT`], and the port is free.
async fn graceful(
    program: &mut Program,
    port: u16,
    life: &Life,
    stop: Stop,
) -> Result<(), Failure> {
    // Windows has no SIGINT or SIGTERM one program can send another.
    if !cfg!(unix) {
        return Err(Failure::skip(format!(
            "this platform has no {} to send to another program",
            stop.name()
        )));
    }
    let sent = format!("{}, with {}", stop.name(), in_flight_words(life.in_flight));
    let expected = "the work in flight finished, then exit status 0 within 10 s, and the port free";
    let pending = begin(life.in_flight, port).await.map_err(|got| {
        Failure::new(
            &sent,
            expected,
            got,
            "the server did not take the work the checker meant to have in flight",
        )
    })?;
    program.signal(stop).map_err(|error| {
        Failure::new(
            &sent,
            expected,
            format!("the signal could not be sent: {error}"),
            "",
        )
    })?;
    let signalled = Instant::now();
    wait_signal_seen(program, port, life.udp).await;
    let finished = finish(pending).await;
    let remaining = EXIT_WAIT.saturating_sub(signalled.elapsed());
    let status = program.wait_exit(remaining).await;
    let handler = handler_hint(stop);
    let Some(status) = status else {
        return Err(Failure::new(
            &sent,
            expected,
            format!(
                "it was still running {} s after {}; {}",
                EXIT_WAIT.as_secs(),
                stop.name(),
                program.tail()
            ),
            format!(
                "{handler}; then let the program end: close the server, stop timers and open connections"
            ),
        ));
    };
    let took = signalled.elapsed().as_secs_f32();
    let exit = format!(
        "{} {took:.1} s after {}",
        describe_status(status),
        stop.name()
    );
    if status.code().is_none() {
        // Whether the work in flight was done before the signal killed
        // the program is a matter of timing; that it was killed is not.
        return Err(Failure::new(
            &sent,
            expected,
            format!(
                "it {exit} (the default: no handler), cutting off whatever was in flight; {}",
                program.tail()
            ),
            handler,
        ));
    }
    if let Err(got) = finished {
        return Err(Failure::new(
            &sent,
            expected,
            format!(
                "the work in flight got {got}; it {exit}; {}",
                program.tail()
            ),
            "let the work in flight finish before exiting: stop accepting, then wait for the open requests (Node's `server.close(callback)` does)",
        ));
    }
    if !status.success() {
        return Err(Failure::new(
            &sent,
            expected,
            format!("it {exit}; {}", program.tail()),
            "exit with status 0 after a clean shutdown: a process manager reads any other status as a crash",
        ));
    }
    if !port_free(port, life.udp).await {
        return Err(Failure::new(
            &sent,
            expected,
            format!("it {exit}, but PORT={port} was still bound afterwards"),
            "a process it started still holds the port: stop what you start, or `exec` the server instead of starting it as a child",
        ));
    }
    Ok(())
}

/// Waits until the program shows it has seen the signal (it exited, or it
/// stopped accepting: PORT refuses a connection), for at most
/// [`SIGNAL_SEEN_WAIT`]. Only then does the checker finish the work in
/// flight (send the rest of a half-sent request), so that work is still in
/// flight when the program handles the signal, not done just before.
async fn wait_signal_seen(program: &mut Program, port: u16, udp: bool) {
    let deadline = Instant::now() + SIGNAL_SEEN_WAIT;
    while Instant::now() < deadline {
        if program.exited().is_some() || (!udp && !listens(port, udp).await) {
            return;
        }
        tokio::time::sleep(LISTEN_POLL).await;
    }
}

/// What to add for `stop`, Node's way and Rust's.
fn handler_hint(stop: Stop) -> String {
    let (event, tokio) = match stop {
        Stop::Interrupt => ("SIGINT", "tokio::signal::ctrl_c()"),
        Stop::Terminate => (
            "SIGTERM",
            "tokio::signal::unix::signal(SignalKind::terminate())",
        ),
    };
    format!(
        "handle {event}: in Node `process.on('{event}', () => server.close(() => process.exit(0)))`; \
         in Rust wait for `{tokio}` in a `select!` beside the accept loop, then let the open connections finish"
    )
}

fn in_flight_words(in_flight: InFlight) -> &'static str {
    match in_flight {
        InFlight::HalfSentRequest => "a request half sent (its head not yet ended)",
        InFlight::SlowRoute => "`GET /sleep?ms=1000` in progress",
        InFlight::EchoLine => "an echo connection open, a line just sent",
        InFlight::ChatClient => "a chat client connected",
        InFlight::HeldOpen => "a connection open",
        InFlight::Nothing => "no work in flight (UDP has no connections)",
    }
}

/// The checker's side of the work in flight.
enum Pending {
    Http(TcpStream, Option<&'static [u8]>),
    Echo(TcpStream),
    Chat(Box<Peer>),
    Open(TcpStream),
    Nothing,
}

/// Starts the work in flight, and returns once the server has read it.
async fn begin(in_flight: InFlight, port: u16) -> Result<Pending, String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let host = format!("127.0.0.1:{port}");
    let connect = || async {
        timeout(crate::runner::STEP_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| "no connection within 5 s".to_string())?
            .map_err(|error| format!("no connection: {error}"))
    };
    Ok(match in_flight {
        InFlight::HalfSentRequest => {
            let mut stream = connect().await?;
            let head = format!("GET / HTTP/1.1\r\nHost: {host}\r\n");
            write(&mut stream, head.as_bytes()).await?;
            read_by_server(&stream, port).await;
            Pending::Http(stream, Some(b"Connection: close\r\n\r\n"))
        }
        InFlight::SlowRoute => {
            let mut stream = connect().await?;
            let request = format!(
                "GET /sleep?ms={SLOW_MS} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
            );
            write(&mut stream, request.as_bytes()).await?;
            read_by_server(&stream, port).await;
            Pending::Http(stream, None)
        }
        InFlight::EchoLine => {
            let mut stream = connect().await?;
            write(&mut stream, b"in flight\n").await?;
            read_by_server(&stream, port).await;
            Pending::Echo(stream)
        }
        InFlight::ChatClient => {
            let target = Target::resolve(&host).await?;
            let peer = Peer::join(&ChatTarget::new(target), "A")
                .await
                .map_err(|failure| failure.got)?;
            Pending::Chat(Box::new(peer))
        }
        InFlight::HeldOpen => Pending::Open(connect().await?),
        InFlight::Nothing => Pending::Nothing,
    })
}

async fn write(stream: &mut TcpStream, bytes: &[u8]) -> Result<(), String> {
    timeout(crate::runner::STEP_TIMEOUT, stream.write_all(bytes))
        .await
        .map_err(|_| "the server took no bytes within 5 s".to_string())?
        .map_err(|error| format!("sending failed: {error}"))
}

/// Finishes the work in flight after the signal: `Err` says what came
/// instead of its answer.
async fn finish(pending: Pending) -> Result<(), String> {
    let deadline = Instant::now() + EXIT_WAIT;
    match pending {
        Pending::Http(mut stream, rest) => {
            if let Some(rest) = rest {
                // The rest of the head; a server that has gone will not take it.
                let _ = stream.write_all(rest).await;
            }
            let raw = read_to_close(&mut stream, deadline).await;
            let mut reader = ResponseReader::new(false);
            match reader.read(&raw.0, true) {
                Ok(Some(response)) if response.status < 500 => Ok(()),
                _ => Err(format!("{} ({})", crate::http::quote(&raw.0), raw.1)),
            }
        }
        Pending::Echo(mut stream) => {
            let _ = stream.shutdown().await;
            let raw = read_to_close(&mut stream, deadline).await;
            if raw.0 == b"in flight\n" && raw.1 == "then the connection closed" {
                Ok(())
            } else {
                Err(format!(
                    "{} ({}) where the echo of \"in flight\\n\" was due",
                    crate::http::quote(&raw.0),
                    raw.1
                ))
            }
        }
        Pending::Chat(mut peer) => loop {
            match peer.next_event(deadline).await {
                Some(Event::Close(_)) => return Ok(()),
                Some(Event::Line(_) | Event::Binary(_)) => {}
                Some(Event::Ended(how)) => {
                    return Err(format!(
                        "a connection that ended without a close frame ({how})"
                    ));
                }
                None => {
                    return Err(format!(
                        "nothing within {} s: no close frame",
                        EXIT_WAIT.as_secs()
                    ));
                }
            }
        },
        // An idle session is no work: the server may close it however it
        // likes (a last `421` line, even a reset); only the exit counts.
        Pending::Open(mut stream) => {
            let _ = stream.shutdown().await;
            let _ = read_to_close(&mut stream, deadline).await;
            Ok(())
        }
        Pending::Nothing => Ok(()),
    }
}

/// Everything until the server closes (or `deadline`), and how it ended.
async fn read_to_close(stream: &mut TcpStream, deadline: Instant) -> (Vec<u8>, String) {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(0)) => return (bytes, "then the connection closed".into()),
            Ok(Ok(read)) if bytes.len() < crate::http::MAX_RESPONSE => {
                bytes.extend_from_slice(&chunk[..read]);
            }
            Ok(Ok(_)) => return (bytes, "more than the checker reads".into()),
            Ok(Err(error)) => return (bytes, format!("then the connection was cut: {error}")),
            Err(_) => return (bytes, "then nothing more".into()),
        }
    }
}

/// Waits until the server has read what `stream` sent, so the signal finds
/// the work truly in flight. Linux shows each socket's unread bytes in
/// `/proc/net/tcp`: the server's side of this connection reaching 0 unread
/// is the event. Elsewhere there is no such window, and a short pause
/// stands in for it.
async fn read_by_server(stream: &TcpStream, port: u16) {
    let Ok(ours) = stream.local_addr() else {
        return;
    };
    let deadline = Instant::now() + crate::runner::STEP_TIMEOUT;
    while Instant::now() < deadline {
        match unread_by_server(port, ours.port()) {
            Some(0) => return,
            Some(_) => tokio::time::sleep(LISTEN_POLL).await,
            None if cfg!(target_os = "linux") => tokio::time::sleep(LISTEN_POLL).await,
            None => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                return;
            }
        }
    }
}

/// The bytes the server's side of the connection from `client_port` to
/// `port` has not read, from `/proc/net/tcp` (Linux); `None` if unknown.
fn unread_by_server(port: u16, client_port: u16) -> Option<u64> {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .find_map(|table| {
            let text = std::fs::read_to_string(table).ok()?;
            text.lines().skip(1).find_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let local = u16::from_str_radix(fields.get(1)?.rsplit(':').next()?, 16).ok()?;
                let remote = u16::from_str_radix(fields.get(2)?.rsplit(':').next()?, 16).ok()?;
                if local != port || remote != client_port {
                    return None;
                }
                u64::from_str_radix(fields.get(4)?.split(':').nth(1)?, 16).ok()
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_command_is_execed_and_a_list_runs_as_written() {
        assert_eq!(shell_line("node server.js"), "exec node server.js");
        assert_eq!(
            shell_line("target/debug/tcp-echo"),
            "exec target/debug/tcp-echo"
        );
        assert_eq!(shell_line("FLAW=x node a.js"), "FLAW=x exec node a.js");
        for list in ["cd app && node server.js", "a; b", "exec node x", "X=1"] {
            assert_eq!(shell_line(list), list);
        }
    }

    #[test]
    fn a_log_line_names_a_request_by_path_or_by_url() {
        assert!(names_request("GET /", "/", 3000));
        assert!(names_request("GET /any/path?x=1", "/any/path?x=1", 3000));
        assert!(names_request(
            "[info] GET http://127.0.0.1:3000/favicon.ico 404",
            "/favicon.ico",
            3000
        ));
        assert!(!names_request("GET /favicon.ico", "/", 3000));
        assert!(!names_request("Server running at /", "/", 3000));
    }

    #[test]
    fn the_output_keeps_its_last_lines_and_a_bounded_count() {
        let mut output = Output::default();
        for number in 0..MAX_KEPT_LINES + 1 {
            output.push(format!("line {number}\n").as_bytes());
        }
        assert_eq!(output.lines.len(), MAX_KEPT_LINES);
        let tail = output.tail();
        assert!(tail.starts_with("its last 20 lines:"), "{tail}");
        assert!(
            tail.ends_with(&format!("| line {MAX_KEPT_LINES}")),
            "{tail}"
        );
    }

    #[test]
    fn spawn_options_take_a_command_and_refuse_an_addr_too() {
        let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse(&args(&["--all", "--spawn", "node server.js"])),
            Ok(("node server.js".to_string(), true))
        );
        assert!(parse(&args(&["--spawn"])).is_err());
        assert!(parse(&args(&["--spawn", " "])).is_err());
        assert!(parse(&args(&["--spawn", "x", "127.0.0.1:1"])).is_err());
    }
}
