//! The checker (`--bin check`) is fair: the lesson's own server passes every
//! stage; each build-along step passes exactly the stages its header claims;
//! a Node server written the way tutorials write one passes what it should
//! and fails where it should; a server with one deliberate flaw fails at the
//! stage for that flaw, with a report that quotes the bytes; and nothing
//! answering is exit status 2 with one sentence. The checker's own response
//! parser and chunked decoder are tested too, on every prefix of their input.
//!
//! The checker runs in this process (its client is the library's
//! `http_raw::check_client`, its stages are included by path), the servers as
//! real processes or tasks on real sockets.

#[path = "../src/bin/check/stages.rs"]
mod stages;

mod flawed;

use std::net::{Ipv4Addr, SocketAddr};

use http_raw::check_client as client;
use http_raw::testing::checker::{check_server, example};
use tcp_echo::check::{self, Verdict};
use tcp_echo::testing::process;

#[tokio::test]
async fn the_lessons_own_server_passes_every_stage() {
    let mut server = process::spawn(env!("CARGO_BIN_EXE_http-raw"), &[]);
    let port = server.listening_port("http").await;
    let report = check_server(
        SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        stages::STAGES,
    )
    .await;
    report.assert_stops_after(stages::STAGES, stages::STAGES.len(), "http-raw");
}

/// Runs the build-along step `name` and checks it.
async fn check_step(name: &str, passes: usize) {
    let mut step = process::spawn(&example(name), &[]);
    let port = step.listening_port("http").await;
    let report = check_server(
        SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        stages::STAGES,
    )
    .await;
    report.assert_stops_after(stages::STAGES, passes, name);
}

// Each step's header says which stages it passes; these hold it to that.

#[tokio::test]
async fn step1_passes_stage_1_and_fails_route() {
    check_step("step1-respond", 1).await;
}

#[tokio::test]
async fn step2_passes_stages_1_to_2_and_fails_headers() {
    check_step("step2-route", 2).await;
}

#[tokio::test]
async fn step3_passes_stages_1_to_3_and_fails_the_body() {
    check_step("step3-headers", 3).await;
}

#[tokio::test]
async fn step4_passes_stages_1_to_5_and_fails_keep_alive() {
    check_step("step4-body", 5).await;
}

#[tokio::test]
async fn step5_passes_stages_1_to_6_and_fails_chunked() {
    check_step("step5-keep-alive", 6).await;
}

#[tokio::test]
async fn step6_passes_stages_1_to_8_and_fails_head() {
    check_step("step6-chunked", 8).await;
}

#[tokio::test]
async fn step7_passes_stages_1_to_9_and_fails_the_error_statuses() {
    check_step("step7-head", 9).await;
}

#[tokio::test]
async fn step8_passes_stages_1_to_11_and_fails_connection_close() {
    check_step("step8-refuse", 11).await;
}

#[tokio::test]
async fn step9_passes_every_stage() {
    check_step("step9-connection", stages::STAGES.len()).await;
}

#[tokio::test]
async fn a_server_without_flaws_passes_every_stage() {
    let addr = flawed::start(flawed::Flaw::None).await;
    check_server(addr, stages::STAGES).await.assert_stops_after(
        stages::STAGES,
        stages::STAGES.len(),
        "the flawless test server",
    );
}

/// Starts the server with `flaw` and asserts the checker stops at `stage`
/// with `hint_part` in its hint.
async fn assert_flaw_caught(flaw: flawed::Flaw, hint_part: &str) {
    let (_, stage) = flawed::FLAWS
        .iter()
        .find(|(candidate, _)| *candidate == flaw)
        .copied()
        .expect("every flaw is in FLAWS");
    let addr = flawed::start(flaw).await;
    let report = check_server(addr, stages::STAGES).await;
    report.assert_stops_after(stages::STAGES, stage - 1, &format!("{flaw:?}"));
    assert!(
        report.hint().contains(hint_part),
        "{flaw:?}: the hint should mention {hint_part:?}:\n{}",
        report.out
    );
}

#[tokio::test]
async fn no_content_length_fails_respond() {
    assert_flaw_caught(flawed::Flaw::NoContentLength, "Content-Length: 12").await;
}

#[tokio::test]
async fn routing_on_the_query_string_fails_route() {
    assert_flaw_caught(flawed::Flaw::RoutesOnQueryString, "first `?`").await;
}

#[tokio::test]
async fn trusting_one_read_fails_headers() {
    assert_flaw_caught(flawed::Flaw::TrustsOneRead, "two pieces").await;
}

#[tokio::test]
async fn a_body_read_as_text_fails_the_body_stage() {
    assert_flaw_caught(flawed::Flaw::BodyAsText, "keep them as bytes").await;
}

#[tokio::test]
async fn one_client_at_a_time_fails_concurrent_clients() {
    assert_flaw_caught(flawed::Flaw::OneClientAtATime, "own task").await;
}

#[tokio::test]
async fn closing_every_connection_fails_keep_alive() {
    assert_flaw_caught(flawed::Flaw::NoKeepAlive, "keep HTTP/1.1 connections open").await;
}

#[tokio::test]
async fn ignoring_chunked_fails_the_chunked_stage() {
    assert_flaw_caught(flawed::Flaw::IgnoresChunked, "RFC 9112 section 7.1").await;
}

#[tokio::test]
async fn a_fresh_buffer_per_request_fails_pipelining() {
    assert_flaw_caught(
        flawed::Flaw::FreshBufferPerRequest,
        "keep the bytes after it",
    )
    .await;
}

#[tokio::test]
async fn a_body_after_head_fails_head() {
    assert_flaw_caught(flawed::Flaw::BodyOnHead, "no body").await;
}

#[tokio::test]
async fn a_405_without_allow_fails_error_statuses() {
    assert_flaw_caught(flawed::Flaw::NoAllowOn405, "Allow: GET, HEAD").await;
}

#[tokio::test]
async fn no_body_limit_fails_limits() {
    assert_flaw_caught(flawed::Flaw::NoBodyLimit, "1 MiB").await;
}

#[tokio::test]
async fn ignoring_connection_close_fails_the_last_stage() {
    assert_flaw_caught(flawed::Flaw::IgnoresConnectionClose, "close the connection").await;
}

#[tokio::test]
async fn the_report_quotes_bytes_escaped() {
    let addr = flawed::start(flawed::Flaw::NoContentLength).await;
    let report = check_server(addr, stages::STAGES).await;
    let host = addr.to_string();
    assert!(
        report.out.contains(&format!(
            "  sent:     \"GET /hello HTTP/1.1\\r\\nHost: {host}\\r\\n\\r\\n\""
        )),
        "{}",
        report.out
    );
    assert!(
        report.out.contains("Hello, world\" ("),
        "the got: line shows the body: {}",
        report.out
    );
}

#[tokio::test]
#[ignore = "needs node; .ci/run runs it"]
async fn a_node_tutorial_server_passes_stages_1_to_3_and_fails_the_binary_body() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/node/server.js");
    let mut node = process::spawn(script, &[]);
    let port = node.listening_port("http").await;
    let report = check_server(
        SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        stages::STAGES,
    )
    .await;
    report.assert_stops_after(stages::STAGES, 3, "tests/node/server.js");
    assert!(report.out.contains("keep them as bytes"), "{}", report.out);
}

#[tokio::test]
async fn nothing_answering_is_exit_status_2_and_one_sentence() {
    // A port that was free a moment ago: nothing listens there now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let verdict = check::run(
        "http-raw",
        "127.0.0.1:3000",
        &[format!("127.0.0.1:{port}")],
        stages::STAGES,
        client::Target::from,
        &mut out,
        &mut err,
    )
    .await
    .expect("writing to a Vec cannot fail");
    assert_eq!(verdict, Verdict::Unusable);
    assert_eq!(verdict.exit_code(), 2);
    let err = String::from_utf8_lossy(&err);
    assert_eq!(err.lines().count(), 1, "one sentence: {err:?}");
    assert!(err.contains("nothing is answering"), "{err:?}");
    assert!(
        out.is_empty(),
        "no stage lines: {:?}",
        String::from_utf8_lossy(&out)
    );
}

#[test]
fn the_checkers_response_parser_waits_for_the_whole_head_and_refuses_bad_ones() {
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
    let parsed = client::parse_head(head).expect("a valid head");
    let (status, headers, length) = parsed.expect("complete");
    assert_eq!(status, 200);
    assert_eq!(headers, [("Content-Length".to_string(), "2".to_string())]);
    assert_eq!(length, head.len() - 2);
    for cut in 0..length {
        assert_eq!(
            client::parse_head(&head[..cut]),
            Ok(None),
            "{cut} bytes are not a whole head yet"
        );
    }
    for bad in [
        &b"HTTP/1.1 200 OK\nContent-Length: 2\n\nhi"[..],
        b"HTTP/1.1 2x0 OK\r\n\r\n",
        b"hello world\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
    ] {
        assert!(
            client::parse_head(bad).is_err(),
            "{:?} is not a valid head",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn the_checkers_chunked_decoder_stops_exactly_after_the_last_chunk() {
    let body = b"7\r\nHello, \r\n5;ext=1\r\nworld\r\n0\r\nTrailer: x\r\n\r\nNEXT";
    let end = body.len() - 4;
    assert_eq!(
        client::decode_chunked(body),
        Ok(Some((b"Hello, world".to_vec(), end)))
    );
    for cut in 0..end {
        assert_eq!(
            client::decode_chunked(&body[..cut]),
            Ok(None),
            "{cut} bytes are not a whole chunked body yet"
        );
    }
    assert!(client::decode_chunked(b"zz\r\n").is_err());
    assert!(client::decode_chunked(b"2\r\nabc\r\n").is_err());
}
