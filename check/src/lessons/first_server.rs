//! The first server's stages: the practice every beginner course ends with,
//! "the smallest HTTP server, in Node's built-in `http` module: log every
//! method and URL, return plain text".
//!
//! What to notice: these stages ask only what any small HTTP/1.x server
//! does, whatever its text, status or framing: a status line, headers and
//! a body for a GET, on any path, again and again, for a browser's request
//! as for `curl`'s, and for a second client while the first keeps its
//! connection open. A server that passes is a real web server; what it says
//! is its own business. `--spawn` (see `spawn.rs`) adds the stages about its
//! life: PORT, its log, Ctrl+C.

use crate::http::{Conn, Failure, Response, Target, blocking, get};
use crate::runner::Stage;

/// The stages, in order.
pub const STAGES: &[Stage<Target>] = &[
    Stage {
        name: "answers a GET",
        needs: &[],
        check: |target| blocking(target, answers_a_get),
    },
    Stage {
        name: "still there for a second request",
        needs: &[1],
        check: |target| blocking(target, second_request),
    },
    Stage {
        name: "answers any path",
        needs: &[1],
        check: |target| blocking(target, any_path),
    },
    Stage {
        name: "answers a browser",
        needs: &[1],
        check: |target| blocking(target, browser),
    },
    Stage {
        name: "two clients, one after the other",
        needs: &[1],
        check: |target| blocking(target, two_clients),
    },
];

/// The paths the stages ask for, in order: what a spawned server's log
/// should name (`spawn.rs` looks for each).
pub const PATHS_ASKED: &[&str] = &["/", "/any/path?x=1", "/favicon.ico"];

/// What every stage expects of a response.
const ANSWER: &str = "a status line (`HTTP/1.1 200 OK`), headers, and a body: any text";

/// Reads one response to `request` on a new connection.
fn ask(target: &Target, request: &[u8], expected: &str) -> Result<(Conn, Response), Failure> {
    let mut conn = Conn::open(target)?;
    let response = conn.request(request, expected)?;
    Ok((conn, response))
}

/// Stage 1: `GET /` gets a 2xx with a body.
fn answers_a_get(target: &Target) -> Result<(), Failure> {
    let expected = format!("{ANSWER}, status 2xx");
    let (_, response) = ask(target, &get(target, "/", ""), &expected)?;
    if !(200..300).contains(&response.status) {
        let hint =
            crate::sniff::websocket_hint(response.status, &target.host).unwrap_or_else(|| {
                "answer GET / with a 2xx status (`res.writeHead(200)`, or Node's default 200)"
                    .into()
            });
        return Err(response.fail(expected, hint));
    }
    if response.body.is_empty() {
        return Err(response.fail(
            expected,
            "send some text in the body (`res.end('Hello!')`): an empty page looks like nothing happened",
        ));
    }
    Ok(())
}

/// Stage 2: a second request, on a new connection, is answered too.
fn second_request(target: &Target) -> Result<(), Failure> {
    let expected = format!("{ANSWER}, again");
    ask(target, &get(target, "/", ""), &expected).map_err(|failure| Failure {
        hint: "the server answered once, then stopped: keep serving, one request after another (did it exit, or crash after the first? look at its output)".into(),
        ..failure
    })?;
    Ok(())
}

/// Stage 3: a path it never heard of, with a query, still gets an answer
/// (404 is an answer).
fn any_path(target: &Target) -> Result<(), Failure> {
    let expected = format!("{ANSWER}; any status, 404 included");
    ask(target, &get(target, PATHS_ASKED[1], ""), &expected).map_err(|failure| Failure {
        hint: "answer every request, whatever its path: a 404 `Not found` is an answer, silence is not".into(),
        ..failure
    })?;
    Ok(())
}

/// What Chromium 156 sent for `http://127.0.0.1:PORT/`, recorded once with
/// `chromium --headless=new --dump-dom` against `nc -l 127.0.0.1 PORT`
/// (Debian 12, December 2026). `{host}` is replaced with ADDR's host:port.
const CHROMIUM_PAGE: &str = "GET / HTTP/1.1\r\n\
Host: {host}\r\n\
Connection: keep-alive\r\n\
sec-ch-ua: \"Not:A-Brand\";v=\"8\", \"Chromium\";v=\"156\"\r\n\
sec-ch-ua-mobile: ?0\r\n\
sec-ch-ua-platform: \"Linux\"\r\n\
Upgrade-Insecure-Requests: 1\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/jxl,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7\r\n\
Sec-Fetch-Site: none\r\n\
Sec-Fetch-Mode: navigate\r\n\
Sec-Fetch-User: ?1\r\n\
Sec-Fetch-Dest: document\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
\r\n";

/// The favicon request a windowed Chromium sends next, on the same
/// connection. Headless Chromium asks for no favicon, so this one is the
/// page's head above with the fields Chromium's image fetches change
/// (`Accept`, `Sec-Fetch-*`, `Referer`), not a recording.
const CHROMIUM_FAVICON: &str = "GET /favicon.ico HTTP/1.1\r\n\
Host: {host}\r\n\
Connection: keep-alive\r\n\
sec-ch-ua-platform: \"Linux\"\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36\r\n\
sec-ch-ua: \"Not:A-Brand\";v=\"8\", \"Chromium\";v=\"156\"\r\n\
sec-ch-ua-mobile: ?0\r\n\
Accept: image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8\r\n\
Sec-Fetch-Site: same-origin\r\n\
Sec-Fetch-Mode: no-cors\r\n\
Sec-Fetch-Dest: image\r\n\
Referer: http://{host}/\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
\r\n";

/// Stage 4: a browser's page request, then its favicon request, as a
/// browser sends them: on the same connection when the server keeps it
/// open, on a new one when it closes it (as a browser does).
fn browser(target: &Target) -> Result<(), Failure> {
    let page = CHROMIUM_PAGE.replace("{host}", &target.host);
    let expected = format!("{ANSWER}, for a browser's request");
    let hint = "answer whatever headers come: a browser sends a dozen, and the server must read the whole head (up to the empty line) and answer";
    let (mut conn, response) =
        ask(target, page.as_bytes(), &expected).map_err(|failure| Failure {
            hint: hint.into(),
            ..failure
        })?;
    let favicon = CHROMIUM_FAVICON.replace("{host}", &target.host);
    let expected = format!("{ANSWER}, for the browser's `/favicon.ico` (a 404 is fine)");
    let kept_open = !response.ended_by_close && !response.header_has("connection", "close");
    if kept_open {
        if let Ok(response) = conn.request(favicon.as_bytes(), &expected) {
            return favicon_answered(response);
        }
        // The server closed the connection quietly: a browser opens a new
        // one and asks again, and so does the checker.
    }
    let (_, response) = ask(target, favicon.as_bytes(), &expected).map_err(|failure| Failure {
        hint: "a browser asks for /favicon.ico after every page: answer it too (a 404 is fine)"
            .into(),
        ..failure
    })?;
    favicon_answered(response)
}

/// A favicon answer is any status but a 5xx (a crash in the handler).
fn favicon_answered(response: Response) -> Result<(), Failure> {
    if response.status >= 500 {
        return Err(response.fail(
            "any status but 5xx for /favicon.ico (404 is usual)",
            "the server failed on /favicon.ico: answer a path it does not know with 404",
        ));
    }
    Ok(())
}

/// Stage 5: while a first client keeps its connection open (as browsers
/// do), a second client is answered.
fn two_clients(target: &Target) -> Result<(), Failure> {
    let expected = format!("{ANSWER}, for client 1");
    let (_first, _) = ask(target, &get(target, "/", ""), &expected)?;
    let expected = format!("{ANSWER}, for client 2 while client 1's connection is still open");
    ask(target, &get(target, "/", ""), &expected).map_err(|failure| Failure {
        hint: "serve each connection on its own (Node's `http` does; in Rust a task or thread per connection): client 1 left its connection open, as a browser does, and client 2 was not answered".into(),
        ..failure
    })?;
    Ok(())
}
