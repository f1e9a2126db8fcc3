//! The last build-along step (`examples/step5-etag-range.rs`) serves ranges
//! exactly at the edges of a file, and 304 only for a tag that matches:
//! a learner copies this code, so its edges must be as exact as the
//! lesson's. The step runs as a real process; requests go through the raw
//! client, so every status and byte is seen as sent.

use tokio::net::TcpStream;
use tokio::time::{Duration, timeout};

use testkit::checker::example;
use testkit::process::{self, Running};
use testkit::raw_client::{RawClient, RawResponse};

/// How long the step is given to accept a connection.
const PATIENCE: Duration = Duration::from_secs(5);

async fn start_step5() -> (Running, u16) {
    let mut step = process::spawn(
        example("http-server", "step5-etag-range")
            .to_str()
            .expect("a UTF-8 path"),
        &[],
    );
    let port = step.listening_port("http").await;
    (step, port)
}

/// `GET /` with `extra` header lines, on a new connection.
async fn get_index(port: u16, extra: &str) -> RawResponse {
    let stream = timeout(PATIENCE, TcpStream::connect(("127.0.0.1", port)))
        .await
        .expect("connected within the patience")
        .expect("the step accepts connections");
    let mut client = RawClient::new(stream);
    client
        .exchange(format!("GET / HTTP/1.1\r\nHost: x\r\n{extra}\r\n").as_bytes())
        .await
}

#[tokio::test]
async fn ranges_at_the_edges_of_the_file_are_served_and_past_its_end_get_416() {
    let (_step, port) = start_step5().await;
    let whole = get_index(port, "").await;
    assert_eq!(whole.status, 200);
    let page = whole.body;
    let last = page.len() - 1;
    for (range, start, end) in [
        (format!("bytes=0-{last}"), 0, last),
        (format!("bytes=0-{}", last + 1), 0, last),
        (format!("bytes={last}-"), last, last),
        (format!("bytes={last}-{last}"), last, last),
        ("bytes=0-0".to_string(), 0, 0),
    ] {
        let response = get_index(port, &format!("Range: {range}\r\n")).await;
        assert_eq!(response.status, 206, "{range}:\n{}", response.head);
        let wanted = format!("bytes {start}-{end}/{}", page.len());
        assert_eq!(
            response.header("content-range"),
            Some(wanted.as_str()),
            "{range}"
        );
        assert_eq!(response.body, page[start..=end], "{range}");
    }
    for range in [
        format!("bytes={}-", page.len()),
        format!("bytes={}-", last + 2),
    ] {
        let response = get_index(port, &format!("Range: {range}\r\n")).await;
        assert_eq!(response.status, 416, "{range}:\n{}", response.head);
        let wanted = format!("bytes */{}", page.len());
        assert_eq!(response.header("content-range"), Some(wanted.as_str()));
    }
    // What it does not serve in part gets the whole file.
    for range in [
        "bytes=5-1",
        "bytes=0-1,5-6",
        "lines=1-2",
        "bytes=+1-2",
        "bytes=-5",
    ] {
        let response = get_index(port, &format!("Range: {range}\r\n")).await;
        assert_eq!(response.status, 200, "{range}:\n{}", response.head);
        assert_eq!(response.body, page, "{range}");
    }
}

#[tokio::test]
async fn only_the_current_tag_or_a_star_gets_304() {
    let (_step, port) = start_step5().await;
    let whole = get_index(port, "").await;
    let tag = whole.header("etag").expect("an ETag").to_string();
    for matching in [
        tag.clone(),
        format!("W/{tag}"),
        format!("\"other\", {tag}"),
        "*".into(),
    ] {
        let response = get_index(port, &format!("If-None-Match: {matching}\r\n")).await;
        assert_eq!(response.status, 304, "If-None-Match: {matching}");
        assert!(response.body.is_empty());
        assert_eq!(response.header("etag"), Some(tag.as_str()));
    }
    let stale = get_index(port, "If-None-Match: \"4d1-0\"\r\n").await;
    assert_eq!(stale.status, 200);
    assert_eq!(stale.body, whole.body);
}
