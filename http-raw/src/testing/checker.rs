//! Running a lesson's checker in a test and holding its report to what it
//! should say. Used by http-raw's and http-server's `tests/checker.rs`, whose
//! checkers both speak HTTP through [`crate::check_client`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tcp_echo::check::{self, Stage, Verdict};

use crate::check_client::Target;

/// How long each check waits for the server: the checker's own default.
pub const PATIENCE: Duration = check::STEP_TIMEOUT;

/// What a run printed.
pub struct Report {
    /// How the run ended.
    pub verdict: Verdict,
    /// What the checker printed to stdout: the PASS/FAIL lines and reports.
    pub out: String,
    /// What it printed to stderr (nothing, when all goes well).
    pub err: String,
}

/// Runs `stages` against `addr`, stopping at the first failure.
pub async fn check_server(addr: SocketAddr, stages: &[Stage<Target>]) -> Report {
    let mut target = Target {
        addr,
        host: addr.to_string(),
        patience: PATIENCE,
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let verdict = check::run_stages(&mut target, stages, false, &mut out, &mut err)
        .await
        .expect("writing to a Vec cannot fail");
    Report {
        verdict,
        out: String::from_utf8_lossy(&out).into_owned(),
        err: String::from_utf8_lossy(&err).into_owned(),
    }
}

impl Report {
    /// Asserts stages 1..=`passes` passed and, unless that is all of them,
    /// that the next one failed with a full report and the run stopped there.
    pub fn assert_stops_after(&self, stages: &[Stage<Target>], passes: usize, who: &str) {
        let lines: Vec<&str> = self
            .out
            .lines()
            .filter(|line| line.starts_with("PASS") || line.starts_with("FAIL"))
            .collect();
        let mut wanted: Vec<String> = stages[..passes]
            .iter()
            .enumerate()
            .map(|(i, stage)| format!("PASS stage {}: {}", i + 1, stage.name))
            .collect();
        if passes < stages.len() {
            wanted.push(format!(
                "FAIL stage {}: {}",
                passes + 1,
                stages[passes].name
            ));
        }
        assert_eq!(lines, wanted, "{who}: the checker said\n{}", self.out);
        let expected_verdict = if passes == stages.len() {
            Verdict::AllPassed
        } else {
            Verdict::StageFailed
        };
        assert_eq!(self.verdict, expected_verdict, "{who}:\n{}", self.out);
        assert!(self.err.is_empty(), "{who}: stderr {:?}", self.err);
        if passes < stages.len() {
            for part in [
                "  sent:     ",
                "  expected: ",
                "  got:      ",
                "  hint:     ",
            ] {
                assert!(
                    self.out.contains(part),
                    "{who}: a failure report has `{part}`:\n{}",
                    self.out
                );
            }
        }
    }

    /// The `hint:` line of the failure.
    pub fn hint(&self) -> &str {
        self.out
            .lines()
            .find(|line| line.starts_with("  hint:"))
            .unwrap_or_default()
    }
}

/// The path of this package's example `name`: cargo puts examples next to
/// the test binary's `deps/` directory, and `cargo test -p LESSON` builds them.
pub fn example(name: &str) -> String {
    let test_binary = std::env::current_exe().expect("the test binary's path");
    let debug_dir: PathBuf = test_binary
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/debug")
        .to_path_buf();
    let path = debug_dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo test` for its package (which builds the examples) or `cargo build --examples`",
        path.display()
    );
    path.to_string_lossy().into_owned()
}
