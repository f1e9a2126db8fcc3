//! `cargo run -p check -- http-raw ADDR`: lesson 3's stages, what an HTTP/1.1 server must do, in the
//! order you would build it.
//!
//! What to notice: each stage is a few exact requests and the checks on what
//! comes back, and each failure says what to change. The early stages are
//! the build-along steps (`examples/stepN-*.rs`); the later ones are what
//! makes a server real: concurrency, keep-alive, pipelining, HEAD, the error
//! statuses and limits, and closing when asked. The book's "Build it
//! yourself" page is the same list in words.

use std::time::Duration;

use crate::http::{Conn, Failure, Response, Target, blocking, get, request};
use crate::runner::Stage;

/// Every stage, in order.
pub const STAGES: &[Stage<Target>] = &[
    Stage {
        name: "respond",
        check: |target| blocking(target, respond),
    },
    Stage {
        name: "route",
        check: |target| blocking(target, route),
    },
    Stage {
        name: "headers",
        check: |target| blocking(target, headers),
    },
    Stage {
        name: "body by Content-Length",
        check: |target| blocking(target, content_length_body),
    },
    Stage {
        name: "concurrent clients",
        check: |target| blocking(target, concurrent_clients),
    },
    Stage {
        name: "keep-alive",
        check: |target| blocking(target, keep_alive),
    },
    Stage {
        name: "chunked body",
        check: |target| blocking(target, chunked_body),
    },
    Stage {
        name: "pipelining",
        check: |target| blocking(target, pipelining),
    },
    Stage {
        name: "HEAD",
        check: |target| blocking(target, head),
    },
    Stage {
        name: "error statuses",
        check: |target| blocking(target, error_statuses),
    },
    Stage {
        name: "limits",
        check: |target| blocking(target, limits),
    },
    Stage {
        name: "Connection: close",
        check: |target| blocking(target, connection_close),
    },
];

/// How long the checker pauses between two halves of a request it sends
/// slowly: long enough that the server has certainly read the first half
/// alone, short enough not to drag.
const SLOW_SEND_GAP: Duration = Duration::from_millis(400);

const HELLO: &str =
    "200, Content-Type text/plain, Content-Length 12, a Date, and the body `Hello, world`";

/// Checks a `GET /hello` response.
fn expect_hello(response: &Response) -> Result<(), Failure> {
    response.expect_status(200, HELLO, "answer GET /hello with `HTTP/1.1 200 OK`")?;
    let framed = response.header("content-length").is_some()
        || response.header_has("transfer-encoding", "chunked");
    if response.ended_by_close || !framed {
        return Err(response.fail(
            HELLO,
            "add `Content-Length: 12` to the head: without it the client can only find the end of the body when the connection closes, so it cannot be kept for the next request (RFC 9112 section 6.3)",
        ));
    }
    if response.body != b"Hello, world" {
        return Err(response.fail(
            HELLO,
            "the body must be exactly `Hello, world`: no newline after it, and Content-Length counts its bytes",
        ));
    }
    if !response
        .header("content-type")
        .is_some_and(|value| value.to_ascii_lowercase().starts_with("text/plain"))
    {
        return Err(response.fail(
            HELLO,
            "add `Content-Type: text/plain; charset=utf-8`: it tells the browser how to show the body",
        ));
    }
    if response.header("date").is_none() {
        return Err(response.fail(
            HELLO,
            "add a `Date` header, such as `Date: Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110 section 6.6.1)",
        ));
    }
    Ok(())
}

/// Stage 1: `GET /hello` gets `Hello, world`, framed by Content-Length.
fn respond(target: &Target) -> Result<(), Failure> {
    let mut conn = Conn::open(target)?;
    let response = conn.request(&get(target, "/hello", ""), HELLO)?;
    expect_hello(&response)
}

/// Stage 2: the path picks the answer; the query string does not; unknown
/// paths get 404.
fn route(target: &Target) -> Result<(), Failure> {
    let page = "200, Content-Type text/html, and a body containing `<!DOCTYPE html>`";
    let response = Conn::open(target)?.request(&get(target, "/", ""), page)?;
    response.expect_status(200, page, "answer GET / with a small HTML page")?;
    let is_html = response
        .header("content-type")
        .is_some_and(|value| value.to_ascii_lowercase().starts_with("text/html"));
    let has_doctype = String::from_utf8_lossy(&response.body)
        .to_ascii_lowercase()
        .contains("<!doctype html>");
    if !is_html || !has_doctype {
        return Err(response.fail(
            page,
            "send `Content-Type: text/html; charset=utf-8` and a page that starts `<!DOCTYPE html>`",
        ));
    }

    let seed = "200 and the body `🌱 Plant seeded!` (UTF-8, 19 bytes)";
    let response = Conn::open(target)?.request(&get(target, "/seed-a-plant", ""), seed)?;
    if response.status != 200 || response.body != "🌱 Plant seeded!".as_bytes() {
        return Err(response.fail(
            seed,
            "route GET /seed-a-plant; Content-Length counts bytes, and 🌱 is 4 bytes in UTF-8",
        ));
    }

    let with_query = "200 and `Hello, world`: the query string (after `?`) never picks the route";
    let response =
        Conn::open(target)?.request(&get(target, "/hello?next=http://a/b", ""), with_query)?;
    if response.status != 200 || response.body != b"Hello, world" {
        return Err(response.fail(
            with_query,
            "route on the path only: cut the request target at the first `?`",
        ));
    }

    let missing = "404 for a path the server does not have";
    let response = Conn::open(target)?.request(&get(target, "/no-such-page", ""), missing)?;
    response.expect_status(
        404,
        missing,
        "answer any path you do not serve with `HTTP/1.1 404 Not Found`",
    )
}

/// Stage 3: `GET /headers` lists the request line and headers as parsed,
/// even when the head arrives in two pieces.
fn headers(target: &Target) -> Result<(), Failure> {
    let expected = "200, text/plain, listing `GET /headers HTTP/1.1` and each header sent (`X-Stage: three`, `User-Agent: netlessons-check`)";
    let check = |response: Response| {
        response.expect_status(200, expected, "add a GET /headers route")?;
        let text = String::from_utf8_lossy(&response.body).to_ascii_lowercase();
        for wanted in [
            "get /headers http/1.1",
            "x-stage: three",
            "user-agent: netlessons-check",
        ] {
            if !text.contains(wanted) {
                return Err(response.fail(
                    expected,
                    format!("the body should have a line `{wanted}` (header names in any case): write one line per header as `name: value`"),
                ));
            }
        }
        Ok(())
    };
    let head = get(
        target,
        "/headers",
        "X-Stage: three\r\nUser-Agent: netlessons-check\r\n",
    );
    check(Conn::open(target)?.request(&head, expected)?)?;

    // The same request in two pieces, split inside a header line.
    let split = head.len() - 20;
    let mut conn = Conn::open(target)?;
    conn.send_in_two(&head[..split], SLOW_SEND_GAP, &head[split..])?;
    let response = conn.read_response(false, expected);
    let slow_hint = "the head came in two pieces, 0.4 s apart: one read() may return part of a request. Keep reading (and appending) until the empty line \\r\\n\\r\\n has arrived, then parse";
    match response {
        Ok(response) if response.status == 200 => check(response),
        Ok(response) => Err(response.fail(expected, slow_hint)),
        Err(failure) => Err(Failure {
            hint: slow_hint.into(),
            ..failure
        }),
    }
}

/// A body that is not text: every byte value, `\r\n` and invalid UTF-8
/// included, repeated to `len` bytes.
fn binary_body(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 256) as u8).collect()
}

/// Stage 4: `POST /echo` sends the body back, byte for byte, however it is
/// split across reads.
fn content_length_body(target: &Target) -> Result<(), Failure> {
    for (len, slowly) in [(256, true), (100_000, false)] {
        let body = binary_body(len);
        let expected = format!("200 and the {len}-byte binary body back, byte for byte");
        let bytes = request(
            target,
            "POST",
            "/echo",
            "Content-Type: application/octet-stream\r\n",
            &body,
        );
        let mut conn = Conn::open(target)?;
        if slowly {
            let split = bytes.len() - len / 2;
            conn.send_in_two(&bytes[..split], SLOW_SEND_GAP, &bytes[split..])?;
        } else {
            conn.send(&bytes)?;
        }
        let response = conn.read_response(false, &expected)?;
        response.expect_status(200, &expected, "add a POST /echo route")?;
        if response.body != body {
            let at = response
                .body
                .iter()
                .zip(&body)
                .position(|(a, b)| a != b)
                .unwrap_or(response.body.len().min(body.len()));
            return Err(response.fail(
                expected,
                format!(
                    "the body came back different from byte {at} ({} bytes back, {len} sent). Read exactly Content-Length bytes after the head, over as many reads as it takes, and keep them as bytes: decoding them as text changes bytes that are not UTF-8",
                    response.body.len()
                ),
            ));
        }
    }
    Ok(())
}

/// Stage 5: while one client sits on half a request, others are answered.
fn concurrent_clients(target: &Target) -> Result<(), Failure> {
    let mut slow = Conn::open(target)?;
    let hello = get(target, "/hello", "");
    slow.send(&hello[..10])?;
    for client in 1..=4 {
        let mut conn = Conn::open(target)?;
        let response = conn.request(&hello, HELLO).map_err(|failure| Failure {
            hint: format!(
                "client {client} of 4 got no answer while another client had sent half a request: serve each connection in its own task (`tokio::spawn`) or thread, so one slow client cannot hold up the rest"
            ).into(),
            ..failure
        })?;
        expect_hello(&response)?;
    }
    slow.send(&hello[10..])?;
    let response = slow.read_response(false, HELLO)?;
    expect_hello(&response)
}

/// Stage 6: one connection, several requests, one after another.
fn keep_alive(target: &Target) -> Result<(), Failure> {
    let mut conn = Conn::open(target)?;
    for (round, path) in ["/hello", "/seed-a-plant", "/hello"]
        .into_iter()
        .enumerate()
    {
        let expected = format!(
            "request {} of 3 on one connection answered with 200",
            round + 1
        );
        let response = conn.request(&get(target, path, ""), &expected).map_err(|failure| {
            Failure {
                hint: "HTTP/1.1 keeps the connection open by default (RFC 9112 section 9.3): after a response, go back to reading the next request on the same connection".into(),
                ..failure
            }
        })?;
        response.expect_status(200, &expected, "route GET /hello and GET /seed-a-plant")?;
        if response.header_has("connection", "close") {
            return Err(response.fail(
                expected,
                "the response said `Connection: close` although the client did not ask to close: keep HTTP/1.1 connections open",
            ));
        }
    }
    Ok(())
}

/// Stage 7: `POST /echo` with a chunked body, then the same connection
/// still works.
fn chunked_body(target: &Target) -> Result<(), Failure> {
    let expected = "200 and the decoded body `Hello, world`";
    let head = format!(
        "POST /echo HTTP/1.1\r\nHost: {}\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n",
        target.host
    );
    let mut conn = Conn::open(target)?;
    conn.send_in_two(
        format!("{head}7\r\nHello, \r\n").as_bytes(),
        SLOW_SEND_GAP,
        b"5;note=extension\r\nworld\r\n0\r\n\r\n",
    )?;
    let response = conn.read_response(false, expected)?;
    if response.status != 200 || response.body != b"Hello, world" {
        return Err(response.fail(
            expected,
            "with `Transfer-Encoding: chunked` the body is chunks: a size in hex (maybe `;extensions`, ignore them), \\r\\n, that many bytes, \\r\\n; a size of 0 ends it, then trailer lines and an empty line (RFC 9112 section 7.1)",
        ));
    }
    let after = "the next request on the same connection answered with `Hello, world`";
    let response = conn.request(&get(target, "/hello", ""), after).map_err(|failure| Failure {
        hint: "after a chunked body, read up to and including the final `0\\r\\n\\r\\n`, and no further: the next request starts there".into(),
        ..failure
    })?;
    if response.status != 200 {
        return Err(response.fail(
            after,
            "after a chunked body, read up to and including the final `0\\r\\n\\r\\n`, and no further: the next request starts there",
        ));
    }
    Ok(())
}

/// Stage 8: three requests in one write are answered, in order.
fn pipelining(target: &Target) -> Result<(), Failure> {
    let mut bytes = get(target, "/hello", "");
    bytes.extend(request(target, "POST", "/echo", "", b"pipelined"));
    bytes.extend(get(target, "/seed-a-plant", ""));
    let mut conn = Conn::open(target)?;
    conn.send(&bytes)?;
    let hint = "the three requests came in one write, so one read gets all of them: parse one request, answer it, and keep the bytes after it for the next (do not read into a fresh buffer)";
    let wanted: [(&str, &[u8]); 3] = [
        ("1 of 3: `Hello, world`", b"Hello, world"),
        ("2 of 3: `pipelined`, echoed", b"pipelined"),
        ("3 of 3: `🌱 Plant seeded!`", "🌱 Plant seeded!".as_bytes()),
    ];
    for (what, body) in wanted {
        let expected = format!("pipelined response {what}");
        let response = conn
            .read_response(false, &expected)
            .map_err(|failure| Failure {
                sent: bytes.clone(),
                hint: hint.into(),
                ..failure
            })?;
        if response.status != 200 || response.body != body {
            return Err(Failure {
                sent: bytes.clone(),
                ..response.fail(expected, hint)
            });
        }
    }
    Ok(())
}

/// Stage 9: HEAD gets GET's status and headers, and no body.
fn head(target: &Target) -> Result<(), Failure> {
    let expected = "200, the headers GET would get (Content-Length 12, if any), and no body";
    let mut conn = Conn::open(target)?;
    conn.send(format!("HEAD /hello HTTP/1.1\r\nHost: {}\r\n\r\n", target.host).as_bytes())?;
    let response = conn.read_response(true, expected)?;
    response.expect_status(
        200,
        expected,
        "answer HEAD wherever you answer GET, with the same status and headers (RFC 9110 section 9.3.2)",
    )?;
    // A Content-Length is optional here (RFC 9110 section 8.6), but if
    // present it must be GET's.
    if response
        .header("content-length")
        .is_some_and(|length| length != "12")
    {
        return Err(response.fail(expected, "send the Content-Length that GET would send: 12"));
    }
    // If a body followed the head, it is now where the next response should start.
    let next = "the next response on the connection, starting `HTTP/1.1`";
    let after = conn.request(&get(target, "/hello", ""), next);
    match after {
        Ok(after) if after.status == 200 => Ok(()),
        Ok(after) => Err(after.fail(next, "a HEAD response has no body")),
        Err(failure) => Err(Failure {
            hint: "a HEAD response has a head and no body: bytes after it are read as the start of the next response".into(),
            ..failure
        }),
    }
}

/// Sends `bytes` on a new connection and checks the status, and that the
/// connection then closes if `then_close`.
fn refuse(
    target: &Target,
    bytes: &[u8],
    status: u16,
    expected: &str,
    hint: &str,
    then_close: bool,
) -> Result<Response, Failure> {
    let mut conn = Conn::open(target)?;
    let response = conn.request(bytes, expected).map_err(|failure| Failure {
        hint: hint.into(),
        ..failure
    })?;
    response.expect_status(status, expected, hint)?;
    if then_close {
        if let Err(note) = conn.wait_closed() {
            return Err(Failure {
                got_note: note,
                ..response.fail(
                    format!("{expected}, then the connection closed"),
                    "after a request that cannot be parsed, close the connection: where the next request would start is unknown",
                )
            });
        }
    }
    Ok(response)
}

/// Stage 10: the statuses that say what was wrong with a request.
fn error_statuses(target: &Target) -> Result<(), Failure> {
    let response = refuse(
        target,
        &request(target, "DELETE", "/hello", "", b""),
        405,
        "405 Method Not Allowed with an `Allow` header listing GET",
        "a path you serve, with a method you do not: 405, and `Allow: GET, HEAD` says what would work (RFC 9110 section 15.5.6)",
        false,
    )?;
    if !response.header_has("allow", "GET") {
        return Err(response.fail(
            "405 Method Not Allowed with an `Allow` header listing GET",
            "add `Allow: GET, HEAD` to the 405 (RFC 9110 section 15.5.6: a 405 must say what is allowed)",
        ));
    }
    let cases: [(&[u8], u16, &str, &str, bool); 5] = [
        (
            b"GET /hello HTTP/1.1\r\n\r\n",
            400,
            "400 Bad Request: an HTTP/1.1 request without Host",
            "HTTP/1.1 requires exactly one Host header (RFC 9112 section 3.2): refuse a request without one",
            false,
        ),
        (
            b"HELLO THERE\r\n\r\n",
            400,
            "400 Bad Request, then the connection closed",
            "a request line is METHOD SP TARGET SP HTTP/1.1: answer anything else with 400",
            true,
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400,
            "400 Bad Request: Content-Length and Transfer-Encoding together",
            "a request with both is ambiguous, the root of request smuggling: refuse it (RFC 9112 section 6.1)",
            true,
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
            501,
            "501 Not Implemented: a Transfer-Encoding other than chunked",
            "you cannot find the end of a body in an encoding you do not know: 501 (RFC 9112 section 6.1)",
            true,
        ),
        (
            b"GET /hello HTTP/2.0\r\nHost: x\r\n\r\n",
            505,
            "505 HTTP Version Not Supported for HTTP/2.0 in a request line",
            "answer versions other than HTTP/1.0 and HTTP/1.1 with 505",
            true,
        ),
    ];
    for (bytes, status, expected, hint, then_close) in cases {
        refuse(target, bytes, status, expected, hint, then_close)?;
    }
    Ok(())
}

/// Stage 11: requests too large are refused with the status that names the
/// limit.
fn limits(target: &Target) -> Result<(), Failure> {
    let too_big = format!(
        "POST /echo HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n\r\n",
        target.host,
        1024 * 1024 + 1
    );
    refuse(
        target,
        too_big.as_bytes(),
        413,
        "413 Content Too Large for a body over 1 MiB, answered without waiting for the body",
        "check Content-Length against your limit (1 MiB) as soon as the head is parsed, and refuse before reading the body",
        false,
    )?;
    let long_target = format!(
        "GET /{} HTTP/1.1\r\nHost: {}\r\n\r\n",
        "a".repeat(8100),
        target.host
    );
    refuse(
        target,
        long_target.as_bytes(),
        414,
        "414 URI Too Long for a request line over 8000 bytes",
        "cap the request line at 8000 bytes (RFC 9112 section 3) and answer 414 when it is longer",
        false,
    )?;
    let big_header = format!(
        "GET /hello HTTP/1.1\r\nHost: {}\r\nX-Big: {}\r\n\r\n",
        target.host,
        "b".repeat(9 * 1024)
    );
    refuse(
        target,
        big_header.as_bytes(),
        431,
        "431 Request Header Fields Too Large for a header section over 8 KiB",
        "cap the header section at 8 KiB and answer 431: without a cap, one client can make you buffer any amount",
        false,
    )?;
    Ok(())
}

/// Stage 12: `Connection: close` is honoured, and HTTP/1.0 closes unless it
/// asks to keep the connection.
fn connection_close(target: &Target) -> Result<(), Failure> {
    let cases = [
        (
            get(target, "/hello", "Connection: close\r\n"),
            "`Hello, world`, then the connection closed",
            "the client sent `Connection: close`: after this response, close the connection (RFC 9112 section 9.6)",
        ),
        (
            b"GET /hello HTTP/1.0\r\n\r\n".to_vec(),
            "`Hello, world` to an HTTP/1.0 request, then the connection closed",
            "HTTP/1.0 closes after each response unless the request says `Connection: keep-alive` (RFC 9112 section 9.3)",
        ),
    ];
    for (bytes, expected, hint) in cases {
        let mut conn = Conn::open(target)?;
        let response = conn.request(&bytes, expected)?;
        if response.status != 200 || response.body != b"Hello, world" {
            return Err(response.fail(expected, "answer GET /hello with `Hello, world`"));
        }
        if let Err(note) = conn.wait_closed() {
            return Err(Failure {
                got_note: note,
                ..response.fail(expected, hint)
            });
        }
    }
    let expected = "two answers on one HTTP/1.0 connection that asked `Connection: keep-alive`";
    let keep = b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    let mut conn = Conn::open(target)?;
    let first = conn.request(keep, expected)?;
    if !first.header_has("connection", "keep-alive") {
        return Err(first.fail(
            expected,
            "an HTTP/1.0 client that asks to keep the connection needs `Connection: keep-alive` in the response, or it will not reuse it",
        ));
    }
    conn.request(keep, expected).map_err(|failure| Failure {
        hint: "the HTTP/1.0 client asked `Connection: keep-alive`: keep the connection open".into(),
        ..failure
    })?;
    Ok(())
}
