//! Running the stages: arguments, the report, the exit status.
//!
//! What to notice: the output is one line per stage, `PASS stage N: NAME` or
//! `FAIL stage N: NAME` followed by the exchange that failed, and the run
//! stops at the first failure (unless `--all`), because each stage builds on
//! the ones before it. Exit status: 0 all passed, 1 a stage failed, 2 bad
//! usage or nothing answering at the address.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use crate::client::Target;
use crate::stages::Stage;

/// How long the checker waits, by default, for anything it expects of the
/// server: generous, since a learner's debug build on a busy laptop can be
/// slow, and a server that never answers costs this much once per check.
pub const DEFAULT_PATIENCE: Duration = Duration::from_secs(5);

/// Runs the checker for `lesson` with command-line `args` (without the
/// program name), writing the report to `out`; returns the exit status.
pub fn run(lesson: &str, stages: &[Stage], args: &[String], out: &mut dyn Write) -> u8 {
    let usage = format!(
        "usage: cargo run -p {lesson} --bin check -- ADDR [--all] [--timeout SECS]   (ADDR: host:port or http://host:port)"
    );
    let mut addr = None;
    let mut all = false;
    let mut patience = DEFAULT_PATIENCE;
    let mut words = args.iter();
    while let Some(word) = words.next() {
        match word.as_str() {
            "--all" => all = true,
            "--timeout" => match words.next().and_then(|secs| secs.parse::<f64>().ok()) {
                Some(secs) if secs > 0.0 && secs <= 600.0 => {
                    patience = Duration::from_secs_f64(secs);
                }
                _ => return usage_error(out, "--timeout needs a number of seconds from 0 to 600"),
            },
            "-h" | "--help" => {
                let _ = writeln!(out, "{usage}");
                return 0;
            }
            other if addr.is_none() && !other.starts_with('-') => addr = Some(other),
            other => return usage_error(out, &format!("unexpected argument {other:?}; {usage}")),
        }
    }
    let Some(addr) = addr else {
        return usage_error(out, &usage);
    };
    let target = match Target::parse(addr, patience) {
        Ok(target) => target,
        Err(why) => return usage_error(out, &why),
    };
    if let Err(error) = TcpStream::connect_timeout(&target.addr, patience) {
        return usage_error(
            out,
            &format!(
                "nothing is answering at {} ({error}): start your server first, then run the checker again",
                target.addr
            ),
        );
    }
    let mut failed = 0;
    for (number, stage) in stages.iter().enumerate() {
        let number = number + 1;
        match (stage.check)(&target) {
            Ok(()) => {
                let _ = writeln!(out, "PASS stage {number}: {}", stage.name);
            }
            Err(failure) => {
                failed += 1;
                let _ = writeln!(out, "FAIL stage {number}: {}\n{failure}", stage.name);
                if !all {
                    break;
                }
            }
        }
    }
    if failed == 0 {
        let _ = writeln!(out, "all {} stages passed", stages.len());
        0
    } else {
        1
    }
}

/// One line saying what is wrong; exit status 2.
fn usage_error(out: &mut dyn Write, why: &str) -> u8 {
    let _ = writeln!(out, "check: {why}");
    2
}
