//! Is the dns checker fair? It is run against servers whose behaviour we
//! know: a small DNS server written here (`support/flawed_dns.rs`) passes
//! every stage, and with one deliberate flaw fails at the stage for that
//! flaw, with a hint naming the mistake; dnsmasq, a real server,
//! authoritative for the same names, passes every stage; nothing listening
//! is exit status 2 with one sentence. The checker's own message reader is
//! tested in `src/dns_message.rs`.
//!
//! That the lesson's own server and its build-along steps pass is the
//! lesson's own test (`protocols/tests/checker.rs`).

mod support;

use check::Verdict;
use support::flawed_dns as flawed;
use support::{check_all, check_lesson, local};

/// Every stage of the dns checker, by number.
const ALL_STAGES: [usize; 10] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

/// Starts the server with `flaw` and asserts the checker stops at its stage
/// with `hint_part` in the hint and each of `says` in the report.
async fn assert_flaw_caught(flaw: flawed::Flaw, hint_part: &str, says: &[&str]) {
    let stage = flawed::FLAWS
        .iter()
        .find(|(candidate, _)| *candidate == flaw)
        .map(|&(_, stage)| stage)
        .expect("every flaw is in FLAWS");
    let addr = flawed::start(flaw).await;
    let outcome = check_lesson("dns", addr).await;
    outcome.assert_fails_at(stage, says);
    assert!(
        outcome.hint().contains(hint_part),
        "{flaw:?}: the hint should mention {hint_part:?}:\n{}",
        outcome.out
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_flaws_passes_every_stage() {
    let addr = flawed::start(flawed::Flaw::None).await;
    let outcome = check_all("dns", addr).await;
    assert_eq!(outcome.passed(), ALL_STAGES, "{}", outcome.out);
    assert_eq!(outcome.verdict, Verdict::AllPassed);
    assert_eq!(outcome.err, "");
}

#[tokio::test]
async fn an_id_not_copied_fails_stage_1() {
    assert_flaw_caught(
        flawed::Flaw::IdNotCopied,
        "copy the query's ID",
        &["got:      ID 0x0000"],
    )
    .await;
}

#[tokio::test]
async fn a_pointer_one_byte_off_fails_stage_1() {
    assert_flaw_caught(
        flawed::Flaw::PointerOffByOne,
        "0x0c, byte 12, is where the question's name starts",
        &["the compression pointer at byte 33 to byte 13"],
    )
    .await;
}

#[tokio::test]
async fn an_aaaa_question_answered_with_a_fails_stage_2() {
    assert_flaw_caught(
        flawed::Flaw::AaaaAnsweredWithA,
        "never an A record",
        &["answer: www.plants.test. 300 IN A 127.0.0.1"],
    )
    .await;
}

#[tokio::test]
async fn txt_without_its_length_byte_fails_stage_3() {
    assert_flaw_caught(
        flawed::Flaw::TxtWithoutLength,
        "RDLENGTH",
        &["a TXT string's length runs past the record's data"],
    )
    .await;
}

#[tokio::test]
async fn names_compared_with_their_case_fail_stage_4() {
    assert_flaw_caught(flawed::Flaw::CaseSensitive, "RFC 4343", &["REFUSED"]).await;
}

#[tokio::test]
async fn noerror_for_a_missing_name_fails_stage_5() {
    assert_flaw_caught(
        flawed::Flaw::NxdomainAsNoerror,
        "NXDOMAIN",
        &["nope.plants.test"],
    )
    .await;
}

#[tokio::test]
async fn a_zone_check_without_the_dot_fails_stage_6() {
    assert_flaw_caught(
        flawed::Flaw::ZoneWithoutTheDot,
        "with the dot",
        &["notplants.test A"],
    )
    .await;
}

#[tokio::test]
async fn a_server_that_trusts_label_lengths_fails_stage_7() {
    assert_flaw_caught(
        flawed::Flaw::TrustsLabelLengths,
        "check every length",
        &[
            "a question with a 63-byte label and 3 bytes after it",
            "did the server crash?",
        ],
    )
    .await;
}

#[tokio::test]
async fn an_answer_of_any_size_over_udp_fails_stage_8() {
    assert_flaw_caught(flawed::Flaw::NoTruncation, "TC set", &["(672 bytes)"]).await;
}

#[tokio::test]
async fn an_alias_answered_without_its_cname_fails_stage_9() {
    assert_flaw_caught(
        flawed::Flaw::CnameFlattened,
        "the CNAME record",
        &["answer: shop.plants.test. 300 IN A 127.0.0.1"],
    )
    .await;
}

#[tokio::test]
async fn an_soa_whose_length_forgets_its_numbers_fails_stage_10() {
    assert_flaw_caught(
        flawed::Flaw::SoaLengthShort,
        "RDLENGTH",
        &["a SOA record's data length is"],
    )
    .await;
}

#[tokio::test]
async fn nothing_listening_is_exit_status_2_and_one_sentence() {
    // A UDP port that was free a moment ago: the query brings back an ICMP
    // "port unreachable".
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|socket| socket.local_addr())
        .expect("a free port")
        .port();
    let outcome = check_lesson("dns", local(port)).await;
    assert_eq!(outcome.verdict, Verdict::Unusable);
    assert_eq!(outcome.err.lines().count(), 1, "{:?}", outcome.err);
    assert!(
        outcome.err.contains("nothing is answering"),
        "{:?}",
        outcome.err
    );
    assert!(outcome.out.is_empty(), "{:?}", outcome.out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs dnsmasq (dnsmasq-base); .ci/run runs it"]
async fn dnsmasq_authoritative_for_the_same_names_passes_every_stage() {
    let server = support::real_servers::start_dnsmasq().await;
    let outcome = check_all("dns", server.addr).await;
    assert_eq!(outcome.passed(), ALL_STAGES, "{}", outcome.out);
    assert_eq!(outcome.verdict, Verdict::AllPassed);
}

#[tokio::test]
async fn an_echo_server_is_named_with_the_command_that_checks_it() {
    let server = support::start_node("udp-echo.js").await;
    let outcome = check_lesson("dns", server.addr).await;
    outcome.assert_fails_at(1, &["got:      the query itself, byte for byte"]);
    assert!(
        outcome.hint().contains(&format!(
            "does not speak DNS: check it with `cargo run -p check -- udp-echo {}`",
            server.addr
        )),
        "{}",
        outcome.out
    );
}
