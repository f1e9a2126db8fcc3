//! The build-along steps' own limits hold at their boundaries: a learner
//! copies these programs, so their caps must be as exact as the lesson's.
//!
//! Each test runs the last step (`examples/step9-connection.rs`, which
//! carries every limit of the earlier steps) as a real process and talks to
//! it with the raw client: at the limit the request is served, one byte over
//! it is refused with the limit's status, also when the bytes arrive in two
//! reads.

use tokio::net::TcpStream;
use tokio::time::{Duration, sleep, timeout};

use testkit::checker::example;
use testkit::process::{self, Running};
use testkit::raw_client::{RawClient, RawResponse};

/// The steps' caps, as their constants say.
const MAX_REQUEST_LINE: usize = 8000;
const MAX_HEAD: usize = 8 * 1024;

/// How long the server is given to answer anything.
const PATIENCE: Duration = Duration::from_secs(5);

async fn start_step9() -> (Running, u16) {
    let mut step = process::spawn(
        example("http-raw", "step9-connection")
            .to_str()
            .expect("a UTF-8 path"),
        &[],
    );
    let port = step.listening_port("http").await;
    (step, port)
}

/// A new connection to the step.
async fn connect(port: u16) -> RawClient {
    let stream = timeout(PATIENCE, TcpStream::connect(("127.0.0.1", port)))
        .await
        .expect("connected within the patience")
        .expect("the step accepts connections");
    RawClient::new(stream)
}

/// Sends `request` (in two writes, split at `split`, when given) on a new
/// connection and reads one response.
async fn exchange(port: u16, request: &[u8], split: Option<usize>) -> RawResponse {
    let mut client = connect(port).await;
    match split {
        None => client.send(request).await,
        Some(at) => {
            client.send(&request[..at]).await;
            // Give the first piece the chance to be a read of its own. Not
            // a synchronisation: the answer must be the same either way.
            sleep(Duration::from_millis(50)).await;
            client.send(&request[at..]).await;
        }
    }
    client.read_response().await
}

/// A GET whose request line is exactly `len` bytes long (without its CRLF).
fn request_line_of(len: usize) -> Vec<u8> {
    let fixed = "GET / HTTP/1.1".len();
    let target = format!("/{}", "a".repeat(len - fixed));
    format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes()
}

/// A GET /hello whose whole head is exactly `len` bytes long.
fn head_of(len: usize) -> Vec<u8> {
    let fixed = "GET /hello HTTP/1.1\r\nHost: x\r\nX-Pad: \r\n\r\n".len();
    format!(
        "GET /hello HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\n\r\n",
        "p".repeat(len - fixed)
    )
    .into_bytes()
}

#[tokio::test]
async fn a_request_line_at_the_limit_is_read_and_one_byte_more_gets_414() {
    let (_step, port) = start_step9().await;
    for split in [None, Some(MAX_REQUEST_LINE - 10)] {
        for (len, status) in [
            (MAX_REQUEST_LINE - 1, 404),
            (MAX_REQUEST_LINE, 404),
            (MAX_REQUEST_LINE + 1, 414),
        ] {
            let response = exchange(port, &request_line_of(len), split).await;
            assert_eq!(
                response.status, status,
                "a request line of {len} bytes (split at {split:?}):\n{}",
                response.head
            );
        }
    }
}

#[tokio::test]
async fn a_request_line_that_never_ends_gets_414_without_waiting_for_its_end() {
    let (_step, port) = start_step9().await;
    // One byte over the limit and no CRLF yet: refused on what has arrived.
    let mut unfinished = b"GET /".to_vec();
    unfinished.resize(MAX_REQUEST_LINE + 1, b'a');
    let response = exchange(port, &unfinished, None).await;
    assert_eq!(response.status, 414, "{}", response.head);
    // At the limit, with its CR but not its LF, it may still be a request.
    let mut client = connect(port).await;
    client
        .send(&request_line_of(MAX_REQUEST_LINE)[..MAX_REQUEST_LINE + 1])
        .await;
    client.expect_open_for(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn a_head_at_the_limit_is_served_and_one_byte_more_gets_431_complete_or_not() {
    let (_step, port) = start_step9().await;
    for split in [None, Some(MAX_HEAD - 100)] {
        for (len, status) in [(MAX_HEAD - 1, 200), (MAX_HEAD, 200), (MAX_HEAD + 1, 431)] {
            let response = exchange(port, &head_of(len), split).await;
            assert_eq!(
                response.status, status,
                "a head of {len} bytes (split at {split:?}):\n{}",
                response.head
            );
        }
    }
    // Not complete yet: at the limit the step waits for the rest; one byte
    // more is refused on what has arrived.
    let mut client = connect(port).await;
    client.send(&head_of(MAX_HEAD + 2)[..MAX_HEAD]).await;
    client.expect_open_for(Duration::from_millis(300)).await;
    let response = exchange(port, &head_of(MAX_HEAD + 3)[..MAX_HEAD + 1], None).await;
    assert_eq!(response.status, 431, "{}", response.head);
}

#[tokio::test]
async fn a_chunk_size_near_2_to_the_64_gets_413_and_the_step_keeps_serving() {
    let (_step, port) = start_step9().await;
    // A first chunk, so that what is held plus the size would overflow.
    let request = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\nffffffffffffffff\r\n";
    let response = exchange(port, request, None).await;
    assert_eq!(response.status, 413, "{}", response.head);
    let hello = exchange(port, b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", None).await;
    assert_eq!(hello.body_text(), "Hello, world");
}

#[tokio::test]
async fn chunked_bodies_at_the_body_limit_are_read_and_one_byte_more_gets_413() {
    const MAX_BODY: usize = 1024 * 1024;
    let (_step, port) = start_step9().await;
    for (len, status) in [(MAX_BODY - 1, 200), (MAX_BODY, 200), (MAX_BODY + 1, 413)] {
        // Two chunks, so that the limit is crossed by the second one's size
        // line, on top of what the first one left held.
        let first = MAX_BODY / 2;
        let second = len - first;
        let mut request =
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        request.extend_from_slice(format!("{first:x}\r\n").as_bytes());
        request.resize(request.len() + first, b'b');
        request.extend_from_slice(format!("\r\n{second:x}\r\n").as_bytes());
        let mut client = connect(port).await;
        client.send(&request).await;
        if status == 200 {
            // The rest is sent only where the step will read it: bytes
            // left unread when it closes could reset the connection before
            // its answer is read.
            let mut rest = vec![b'b'; second];
            rest.extend_from_slice(b"\r\n0\r\n\r\n");
            client.send(&rest).await;
        }
        let response = client.read_response().await;
        assert_eq!(response.status, status, "a body of {len} bytes");
        if status == 200 {
            assert_eq!(response.body.len(), len);
        }
    }
}
