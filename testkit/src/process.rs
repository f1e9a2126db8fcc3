//! Running a lesson's binary the way a learner does, for the tests of every lesson.
//!
//! What to notice: the binary is started with `PORT=0`, and the test reads
//! the port from its `listening on` line, as a script would; every wait has
//! a timeout ([`STEP_TIMEOUT`]), and the child is killed if the test ends
//! early.

use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// How long any single step of a binary test may take before it fails.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// A lesson binary running in the background, killed if the test ends early.
pub struct Running {
    /// The process.
    pub child: Child,
    /// Its stdout, line by line. Both pipes are drained all the time by
    /// background tasks, so a chatty server never blocks on a full pipe
    /// while the test is not reading its logs.
    pub stdout: mpsc::UnboundedReceiver<String>,
    /// Its stderr (the logs), line by line.
    pub stderr: mpsc::UnboundedReceiver<String>,
}

/// Forwards every line of `pipe` to a channel.
fn drain<R: AsyncRead + Unpin + Send + 'static>(pipe: R) -> mpsc::UnboundedReceiver<String> {
    let (lines_tx, lines_rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut lines = BufReader::new(pipe).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    lines_rx
}

/// Starts `program` with `env` (on top of `PORT=0`, `HOST=127.0.0.1`).
pub fn spawn(program: &str, env: &[(&str, &str)]) -> Running {
    spawn_command(Command::new(program), env)
}

/// Starts `nc` (netcat-openbsd) with `args`, its stdin and stdout piped,
/// killed if the test ends early.
pub fn spawn_nc(args: &[&str]) -> Child {
    Command::new("nc")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("`nc` must be installed (Debian: apt-get install netcat-openbsd)")
}

/// Starts `program` under `sh` with at most `max_files` open file descriptors
/// (`ulimit -n`), to see what the server does when it runs out. Unix only.
#[cfg(unix)]
pub fn spawn_with_fd_limit(program: &str, max_files: u32, env: &[(&str, &str)]) -> Running {
    let mut command = Command::new("sh");
    command.args([
        "-c",
        &format!("ulimit -n {max_files} && exec \"$0\""),
        program,
    ]);
    spawn_command(command, env)
}

fn spawn_command(mut command: Command, env: &[(&str, &str)]) -> Running {
    let program = format!("{:?}", command.as_std().get_program());
    command
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env_remove("RUST_LOG")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {program}: {error}"));
    let stdout = drain(child.stdout.take().expect("stdout is piped"));
    let stderr = drain(child.stderr.take().expect("stderr is piped"));
    Running {
        child,
        stdout,
        stderr,
    }
}

/// The next line of `lines` (`None` once the output has ended), failing the
/// test after [`STEP_TIMEOUT`].
pub async fn next_line(lines: &mut mpsc::UnboundedReceiver<String>, what: &str) -> Option<String> {
    tokio::time::timeout(STEP_TIMEOUT, lines.recv())
        .await
        .unwrap_or_else(|_| panic!("no {what} line within {STEP_TIMEOUT:?}"))
}

/// Waits for a line of `lines` containing `needle`; returns it.
pub async fn line_containing(lines: &mut mpsc::UnboundedReceiver<String>, needle: &str) -> String {
    let mut seen = Vec::new();
    loop {
        match next_line(lines, needle).await {
            Some(line) if line.contains(needle) => return line,
            Some(line) => seen.push(line),
            None => panic!("output ended without a line containing {needle:?}; saw: {seen:#?}"),
        }
    }
}

impl Running {
    /// Reads the first stdout line every lesson prints, `listening on SCHEME://IP:PORT`,
    /// checks its form and returns the port.
    pub async fn listening_port(&mut self, scheme: &str) -> u16 {
        let Some(line) = next_line(&mut self.stdout, "`listening on`").await else {
            // It exited before listening: say how, and what it printed.
            let (status, stderr) = self.exit_and_stderr().await;
            panic!("stdout closed before the `listening on` line: {status}; stderr: {stderr:#?}");
        };
        let prefix = format!("listening on {scheme}://127.0.0.1:");
        let port = line
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("first stdout line {line:?} does not start with {prefix:?}"));
        port.parse()
            .unwrap_or_else(|_| panic!("first stdout line {line:?} does not end in a port number"))
    }

    /// Sends `signal` to the child, by its PID. Unix only: Windows has no
    /// signals (its Ctrl+C is an event for a whole console), so the tests
    /// that stop a binary this way are `#[cfg(unix)]`.
    #[cfg(unix)]
    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        use nix::sys::signal::kill;
        use nix::unistd::Pid;
        let pid = self.child.id().expect("child still running");
        kill(Pid::from_raw(pid as i32), signal).expect("sending a signal to our own child");
    }

    /// Waits for the child to exit.
    pub async fn exit_status(&mut self) -> ExitStatus {
        tokio::time::timeout(STEP_TIMEOUT, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("the server did not exit within {STEP_TIMEOUT:?}"))
            .expect("waiting for the child")
    }

    /// Waits for the child to exit and returns its whole stderr.
    pub async fn exit_and_stderr(&mut self) -> (ExitStatus, Vec<String>) {
        let status = self.exit_status().await;
        let mut lines = Vec::new();
        while let Some(line) = next_line(&mut self.stderr, "stderr").await {
            lines.push(line);
        }
        (status, lines)
    }
}

/// Runs `program` with a bad setting and checks what every lesson promises:
/// exit status 2, exactly one line on stderr that names the variable,
/// nothing that looks like a panic.
pub async fn assert_rejects_config(program: &str, name: &str, value: &str) {
    let mut running = spawn(program, &[(name, value)]);
    let (status, stderr) = running.exit_and_stderr().await;
    assert_eq!(
        status.code(),
        Some(2),
        "{name}={value}: exit status; stderr: {stderr:#?}"
    );
    assert_eq!(
        stderr.len(),
        1,
        "{name}={value}: expected one line on stderr, got {stderr:#?}"
    );
    assert!(
        stderr[0].contains(name),
        "{name}={value}: the line should name {name}: {:?}",
        stderr[0]
    );
    assert!(
        !stderr[0].contains("panicked"),
        "{name}={value}: panicked: {:?}",
        stderr[0]
    );
}
