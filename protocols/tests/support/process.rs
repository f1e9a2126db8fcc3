//! Running a lesson 6 binary the way a learner does: env settings, the
//! `listening on` line, signals.
//!
//! What to notice: the binary gets `PORT=0` and `HOST=127.0.0.1`, and the
//! test reads the port from the first stdout line, as a script would. Both
//! pipes are drained all the time; the child is killed if the test ends early.

use std::process::{ExitStatus, Stdio};

#[cfg(unix)]
use nix::sys::signal::{Signal, kill};
#[cfg(unix)]
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use super::PATIENCE;

/// A binary running in the background.
pub struct Running {
    child: Child,
    /// Its stdout, line by line.
    pub stdout: mpsc::UnboundedReceiver<String>,
    /// Its stderr (the logs), line by line.
    pub stderr: mpsc::UnboundedReceiver<String>,
}

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

/// Starts `program` with `env` on top of `PORT=0`, `HOST=127.0.0.1`.
pub fn spawn(program: &str, env: &[(&str, &str)]) -> Running {
    let mut child = Command::new(program)
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env_remove("RUST_LOG")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {program}: {error}"));
    let stdout = drain(child.stdout.take().expect("piped"));
    let stderr = drain(child.stderr.take().expect("piped"));
    Running {
        child,
        stdout,
        stderr,
    }
}

/// The next line, `None` once the output ended; fails after [`PATIENCE`].
pub async fn next_line(lines: &mut mpsc::UnboundedReceiver<String>, what: &str) -> Option<String> {
    tokio::time::timeout(PATIENCE, lines.recv())
        .await
        .unwrap_or_else(|_| panic!("no {what} line within {PATIENCE:?}"))
}

/// Waits for a line containing `needle`; returns it.
pub async fn line_containing(lines: &mut mpsc::UnboundedReceiver<String>, needle: &str) -> String {
    let mut seen = Vec::new();
    loop {
        match next_line(lines, needle).await {
            Some(line) if line.contains(needle) => return line,
            Some(line) => seen.push(line),
            None => panic!("output ended without {needle:?}; saw {seen:#?}"),
        }
    }
}

impl Running {
    /// Reads the first stdout line, `listening on SCHEME://127.0.0.1:PORT`,
    /// and returns the port.
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
            .unwrap_or_else(|_| panic!("{line:?} does not end in a port"))
    }

    /// Sends `signal` to the child, by its PID (Unix only: Windows has no
    /// signals).
    #[cfg(unix)]
    pub fn signal(&self, signal: Signal) {
        let pid = self.child.id().expect("still running");
        kill(Pid::from_raw(pid as i32), signal).expect("signalling our own child");
    }

    /// Waits for the child to exit.
    pub async fn exit_status(&mut self) -> ExitStatus {
        tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("did not exit within {PATIENCE:?}"))
            .expect("waiting for the child")
    }

    /// Waits for the child to exit; returns its status and whole stderr.
    pub async fn exit_and_stderr(&mut self) -> (ExitStatus, Vec<String>) {
        let status = self.exit_status().await;
        let mut lines = Vec::new();
        while let Some(line) = next_line(&mut self.stderr, "stderr").await {
            lines.push(line);
        }
        (status, lines)
    }
}

/// Runs `program` with a bad setting: exit status 2, one line on stderr
/// naming the variable, no panic.
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
        "{name}={value}: one line on stderr, got {stderr:#?}"
    );
    assert!(
        stderr[0].contains(name),
        "{name}={value}: should name {name}: {:?}",
        stderr[0]
    );
    assert!(
        !stderr[0].contains("panicked"),
        "{name}={value}: {:?}",
        stderr[0]
    );
}

/// A signal that stops a server.
#[cfg(unix)]
pub const STOP_SIGNALS: [Signal; 2] = [Signal::SIGTERM, Signal::SIGINT];
