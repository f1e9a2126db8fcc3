//! The toolbox's checker run in the test's own process, and its report held
//! to what it should say: how a lesson's tests prove that its server, and
//! each build-along step, passes exactly the stages it claims.
//!
//! What to notice: [`check`] calls `check::run`, the very function behind
//! `cargo run -p check -- LESSON ADDR`, so nothing needs a prebuilt binary.
//! The checker's own fairness tests (broken servers, Node servers) live in
//! the `check` crate's `tests/`.

use std::fmt::Display;
use std::path::PathBuf;
use std::sync::OnceLock;

use check::Verdict;

/// What one run printed and how it ended.
#[derive(Debug)]
pub struct Report {
    /// The lesson checked (`tcp-echo`).
    pub lesson: String,
    /// How the run ended.
    pub verdict: Verdict,
    /// What the checker printed to stdout: the PASS/FAIL lines and reports.
    pub out: String,
    /// What it printed to stderr (nothing, when all goes well).
    pub err: String,
}

/// Runs `check LESSON [--all] ADDR` in this process. `addr` is anything
/// the checker takes as ADDR: a `SocketAddr`, `host:port`, a URL.
pub async fn check(lesson: &str, addr: impl Display, all: bool) -> Report {
    let mut args = vec![lesson.to_string(), addr.to_string()];
    if all {
        args.insert(1, "--all".to_string());
    }
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let verdict = check::run(&args, &mut out, &mut err)
        .await
        .expect("writing to a Vec cannot fail");
    Report {
        lesson: lesson.to_string(),
        verdict,
        out: String::from_utf8(out).expect("the checker prints UTF-8"),
        err: String::from_utf8(err).expect("the checker prints UTF-8"),
    }
}

/// Runs `check ARGS` in this process (`ARGS[0]` is the lesson): for
/// options beyond `--all`, such as `--ca FILE`.
pub async fn check_args(args: &[&str]) -> Report {
    let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let verdict = check::run(&args, &mut out, &mut err)
        .await
        .expect("writing to a Vec cannot fail");
    Report {
        lesson: args.first().cloned().unwrap_or_default(),
        verdict,
        out: String::from_utf8(out).expect("the checker prints UTF-8"),
        err: String::from_utf8(err).expect("the checker prints UTF-8"),
    }
}

/// Runs `check LESSON --all --spawn 'PROGRAM'` in this process: the checker
/// starts the built binary `program` itself (PORT and HOST set) and checks
/// its life as well as its answers.
pub async fn check_spawned(lesson: &str, program: &str) -> Report {
    let args = [lesson, "--all", "--spawn", &format!("'{program}'")].map(str::to_string);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let verdict = check::run(&args, &mut out, &mut err)
        .await
        .expect("writing to a Vec cannot fail");
    Report {
        lesson: lesson.to_string(),
        verdict,
        out: String::from_utf8(out).expect("the checker prints UTF-8"),
        err: String::from_utf8(err).expect("the checker prints UTF-8"),
    }
}

impl Report {
    /// Asserts a spawned run ([`check_spawned`]) passed every stage: the
    /// life stages and each of the lesson's, nothing skipped.
    pub fn assert_spawned_all_passed(&self, who: &str) {
        assert_eq!(self.verdict, Verdict::AllPassed, "{who}:\n{}", self.out);
        assert!(
            self.failed().is_empty() && self.skipped().is_empty(),
            "{who}:\n{}",
            self.out
        );
        let mut wanted = vec!["listens on PORT"];
        wanted.extend(stage_names(&self.lesson));
        wanted.extend([
            "PORT=abc: one clear line, a non-zero exit",
            "Ctrl+C (SIGINT) with a request in flight",
            "SIGTERM with a request in flight",
        ]);
        let passed: Vec<&str> = self
            .out
            .lines()
            .filter_map(|line| line.strip_prefix("PASS stage ")?.split_once(": "))
            .map(|(_, name)| name)
            .collect();
        assert_eq!(passed, wanted, "{who}:\n{}", self.out);
        assert!(self.err.is_empty(), "{who}: stderr {:?}", self.err);
    }

    /// The stage numbers on `PASS` lines (or `FAIL` lines).
    fn stages(&self, word: &str) -> Vec<usize> {
        self.out
            .lines()
            .filter_map(|line| line.strip_prefix(&format!("{word} stage ")))
            .filter_map(|rest| rest.split(':').next()?.parse().ok())
            .collect()
    }

    /// The stages that passed, by number.
    pub fn passed(&self) -> Vec<usize> {
        self.stages("PASS")
    }

    /// The stages that failed, by number.
    pub fn failed(&self) -> Vec<usize> {
        self.stages("FAIL")
    }

    /// The stages skipped, by number: a stage they need did not pass, or
    /// the platform lacks what they need.
    pub fn skipped(&self) -> Vec<usize> {
        self.stages("SKIP")
    }

    /// Every stage of the lesson, by number: `[1, 2, ..., N]`.
    pub fn all_stages(&self) -> Vec<usize> {
        (1..=stage_names(&self.lesson).len()).collect()
    }

    /// Asserts every stage passed, and nothing went to stderr.
    pub fn assert_all_passed(&self, who: &str) {
        self.assert_stops_after(stage_names(&self.lesson).len(), who);
    }

    /// Asserts stages 1..=`passes` passed and, unless that is all of them,
    /// that the next one failed with a full report and the run stopped there.
    pub fn assert_stops_after(&self, passes: usize, who: &str) {
        let names = stage_names(&self.lesson);
        let lines: Vec<&str> = self
            .out
            .lines()
            .filter(|line| line.starts_with("PASS") || line.starts_with("FAIL"))
            .collect();
        let mut wanted: Vec<String> = names[..passes]
            .iter()
            .enumerate()
            .map(|(i, name)| format!("PASS stage {}: {name}", i + 1))
            .collect();
        if passes < names.len() {
            wanted.push(format!("FAIL stage {}: {}", passes + 1, names[passes]));
        }
        assert_eq!(lines, wanted, "{who}: the checker said\n{}", self.out);
        let expected_verdict = if passes == names.len() {
            Verdict::AllPassed
        } else {
            Verdict::StageFailed
        };
        assert_eq!(self.verdict, expected_verdict, "{who}:\n{}", self.out);
        assert!(self.err.is_empty(), "{who}: stderr {:?}", self.err);
        if passes < names.len() {
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

/// The names of `lesson`'s stages, in order.
fn stage_names(lesson: &str) -> Vec<&'static str> {
    check::lessons::find(lesson)
        .unwrap_or_else(|| panic!("the toolbox has no lesson {lesson:?}"))
        .checker
        .stage_names()
}

/// The built example `name` of `package`. The first call builds the
/// package's examples (`cargo build --examples`: nothing to do when
/// `cargo test` already built them), so one test file run alone works too.
pub fn example(package: &str, name: &str) -> PathBuf {
    static BUILT: OnceLock<(String, PathBuf)> = OnceLock::new();
    let (built, dir) = BUILT.get_or_init(|| {
        // A test runs as target/PROFILE/deps/NAME-HASH.
        let exe = std::env::current_exe().expect("the test knows its own path");
        let profile_dir = exe
            .parent()
            .and_then(|deps| deps.parent())
            .expect("tests run from target/PROFILE/deps");
        let mut build = std::process::Command::new(env!("CARGO"));
        build.args(["build", "--quiet", "-p", package, "--examples"]);
        if profile_dir.ends_with("release") {
            build.arg("--release");
        }
        // The same target directory as this test, however it was chosen.
        if let Some(target_dir) = profile_dir.parent() {
            build.arg("--target-dir").arg(target_dir);
        }
        let status = build
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo runs");
        assert!(
            status.success(),
            "cargo build -p {package} --examples failed"
        );
        (package.to_string(), profile_dir.join("examples"))
    });
    assert_eq!(built, package, "one test binary, one package's examples");
    dir.join(name)
}
