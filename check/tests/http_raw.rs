//! Is http-raw's checker fair? It is run against servers whose behaviour we
//! know: a small HTTP server written here (`support/flawed_http.rs`) passes
//! every stage, and with one deliberate flaw fails at the stage for that
//! flaw, with a report that quotes the bytes; a Node server written the way
//! tutorials write one passes what it should and fails where it should; and
//! nothing answering is exit status 2 with one sentence. The checker's own
//! response parser and chunked decoder are tested too, on every prefix of
//! their input.
//!
//! That the lesson's own server and its build-along steps pass is
//! http-raw's own test (`http-raw/tests/checker.rs`).

mod support;

use check::Verdict;
use check::response_reader as client;
use support::flawed_http as flawed;
use support::{Outcome, check_lesson, free_tcp_port, start_node};

/// Runs the checker against `addr`, stopping at the first failure.
async fn check_server(addr: std::net::SocketAddr) -> Outcome {
    check_lesson("http-raw", addr).await
}

#[tokio::test]
async fn a_server_without_flaws_passes_every_stage() {
    let addr = flawed::start(flawed::Flaw::None).await;
    let outcome = check_server(addr).await;
    assert_eq!(
        outcome.passed(),
        (1..=12).collect::<Vec<_>>(),
        "{}",
        outcome.out
    );
    assert_eq!(outcome.verdict, Verdict::AllPassed);
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
    let outcome = check_server(addr).await;
    outcome.assert_fails_at(stage, &[]);
    assert!(
        outcome.hint().contains(hint_part),
        "{flaw:?}: the hint should mention {hint_part:?}:\n{}",
        outcome.out
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
    let report = check_server(addr).await;
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
async fn a_node_tutorial_server_passes_stages_1_to_3_and_fails_the_binary_body() {
    let node = start_node("http-raw.js").await;
    let outcome = check_server(node.addr).await;
    outcome.assert_fails_at(4, &["keep them as bytes"]);
}

#[tokio::test]
async fn nothing_answering_is_exit_status_2_and_one_sentence() {
    // A port that was free a moment ago: nothing listens there now.
    let outcome = check_server(support::local(free_tcp_port())).await;
    assert_eq!(outcome.verdict, Verdict::Unusable);
    assert_eq!(outcome.verdict.exit_code(), 2);
    assert_eq!(
        outcome.err.lines().count(),
        1,
        "one sentence: {:?}",
        outcome.err
    );
    assert!(
        outcome.err.contains("nothing is answering"),
        "{:?}",
        outcome.err
    );
    assert!(outcome.out.is_empty(), "no stage lines: {:?}", outcome.out);
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
