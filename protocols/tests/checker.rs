//! Lesson 6 passes its own checkers (`cargo run -p check -- smtp|ftp|dns
//! ADDR`), run in this process through the toolbox's library, against the
//! programs a learner runs.
//!
//! - Each of the three servers, the built binary started as
//!   `cargo run -p protocols --bin NAME` starts it (PORT=0, its port read
//!   from its `listening on` line), passes every stage of its checker.
//! - Each build-along step (`examples/*-stepN-*.rs`) passes exactly the
//!   stages its header claims, and fails the next one: the checker's stages
//!   follow the build-along's order.
//!
//! That the checkers are fair (flawed servers fail where they should, real
//! servers pass) is the toolbox's own test: `check/tests/smtp.rs`, `ftp.rs`
//! and `dns.rs`.

mod support;

use std::net::SocketAddr;

use testkit::checker::{Report, check, example};
use testkit::process::spawn;

/// The sample folder every FTP step and the checker's stages know.
const FTP_ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/ftp-root");

/// Starts `program` with `env` (on top of PORT=0, HOST=127.0.0.1), reads
/// its port from its `listening on SCHEME://` line, and runs the
/// `lesson` checker against it, stopping at the first failure.
async fn check_program(program: &str, lesson: &str, env: &[(&str, &str)]) -> Report {
    // A DNS step binds UDP on PORT=0 and then TCP on the same number, which
    // another test's connection may hold: the steps keep that short, so the
    // test hands them a number free for both (the lesson's server retries).
    let dns_port;
    let mut env = env.to_vec();
    if lesson == "dns" {
        dns_port = port_free_for_udp_and_tcp().await.to_string();
        env.push(("PORT", &dns_port));
    }
    let mut running = spawn(program, &env);
    let port = running.listening_port(lesson).await;
    check(lesson, SocketAddr::from(([127, 0, 0, 1], port)), false).await
}

/// A port number both UDP and TCP could bind on 127.0.0.1 a moment ago, found
/// with the lesson's own `bind_dns` (which tries until a pair is free).
async fn port_free_for_udp_and_tcp() -> u16 {
    let sockets = protocols::dns::bind_dns(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("a port free for UDP and TCP");
    sockets.udp.local_addr().expect("a bound socket").port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_smtp_server_passes_every_stage() {
    let mail = tempfile::tempdir().expect("tempdir");
    let mail_dir = mail.path().to_str().expect("a UTF-8 path");
    let report = check_program(
        env!("CARGO_BIN_EXE_smtp"),
        "smtp",
        &[("MAIL_DIR", mail_dir)],
    )
    .await;
    report.assert_all_passed("the smtp server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ftp_server_passes_every_stage() {
    // No FTP_ROOT: the default is the sample folder the stages know.
    let report = check_program(env!("CARGO_BIN_EXE_ftp"), "ftp", &[]).await;
    report.assert_all_passed("the ftp server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dns_server_passes_every_stage() {
    // No ZONE_FILE: the default is the plants.test zone the stages ask.
    let report = check_program(env!("CARGO_BIN_EXE_dns"), "dns", &[]).await;
    report.assert_all_passed("the dns server");
}

/// Each step: its checker, the stages it passes before the first failure
/// (all of them: `None`), and the sentence in its `//!` header that says so
/// (the header must not drift from the truth).
const STEP_CLAIMS: &[(&str, &str, Option<usize>, &str)] = &[
    (
        "smtp-step1-conversation",
        "smtp",
        Some(4),
        "Checker: passes stages 1-4, then fails stage 5",
    ),
    (
        "smtp-step2-messages",
        "smtp",
        Some(8),
        "Checker: passes stages 1-8, then fails stage 9",
    ),
    (
        "smtp-step3-limits",
        "smtp",
        None,
        "Checker: passes every stage.",
    ),
    (
        "ftp-step1-control",
        "ftp",
        Some(4),
        "Checker: passes stages 1-4, then fails stage 5",
    ),
    (
        "ftp-step2-passive",
        "ftp",
        Some(9),
        "Checker: passes stages 1-9, then fails stage 10",
    ),
    (
        "ftp-step3-jail",
        "ftp",
        Some(12),
        "Checker: passes stages 1-12, then fails stage 13",
    ),
    (
        "dns-step1-answer",
        "dns",
        Some(1),
        "Checker: passes stage 1, then fails stage 2",
    ),
    (
        "dns-step2-zone",
        "dns",
        Some(6),
        "Checker: passes stages 1-6, then fails stage 7",
    ),
    (
        "dns-step3-safe",
        "dns",
        Some(8),
        "Checker: passes stages 1-8, then fails stage 9",
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_step_passes_exactly_the_stages_it_claims() {
    let mail = tempfile::tempdir().expect("tempdir");
    let mail_dir = mail.path().to_str().expect("a UTF-8 path");
    for &(name, lesson, passes, sentence) in STEP_CLAIMS {
        let source =
            std::fs::read_to_string(format!("{}/examples/{name}.rs", env!("CARGO_MANIFEST_DIR")))
                .expect("the step's source");
        assert!(
            source.contains(sentence),
            "{name}.rs should say {sentence:?} in its header"
        );
        let program = example("protocols", name);
        let env = [("MAIL_DIR", mail_dir), ("FTP_ROOT", FTP_ROOT)];
        let report = check_program(program.to_str().expect("a UTF-8 path"), lesson, &env).await;
        match passes {
            Some(passes) => report.assert_stops_after(passes, name),
            None => report.assert_all_passed(name),
        }
    }
}
