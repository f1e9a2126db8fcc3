//! The demo routes: what `cargo run -p http-raw` answers.
//!
//! What to notice: routing, at its simplest, is a `match` on the path and the
//! method. It reads well for eight routes; lesson 4 shows why it stops
//! reading well at eighty, and builds a router. The same `match` decides,
//! from the head alone, how much body a request may send (`body_limit`):
//! only `POST /echo` takes one. The pitfall demos are here too: `/sleep`
//! waits the right way, `/block` the wrong way, and `/visits` shows that the
//! process, and its memory, outlive every request.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::request::{Method, Request};
use crate::response::Response;
use crate::service::Service;

/// The longest `/sleep` or `/block` we accept, so that a typo cannot tie up
/// the server for an hour.
pub const MAX_DEMO_WAIT_MS: u64 = 10_000;

/// The largest body `POST /echo` takes: 1 MiB. It is read into memory
/// whole, so with the head and write buffers this sets the most memory one
/// connection can hold (see `limits.rs`).
pub const ECHO_BODY_LIMIT: usize = crate::limits::DEFAULT_BODY_LIMIT;

/// The demo application. Its state is shared by every request and lives as
/// long as the process.
#[derive(Debug)]
pub struct DemoApp {
    /// How many times `/visits` was requested, by anyone.
    visits: AtomicU64,
    /// When the server started.
    started: Instant,
}

impl DemoApp {
    /// Fresh state: no visits yet.
    pub fn new() -> DemoApp {
        DemoApp {
            visits: AtomicU64::new(0),
            started: Instant::now(),
        }
    }
}

impl Default for DemoApp {
    fn default() -> Self {
        Self::new()
    }
}

// ANCHOR: body_limit
impl Service for DemoApp {
    async fn call(&self, request: Request) -> Response {
        respond(self, request).await
    }

    /// Only `POST /echo` takes a body; any other request that announces one
    /// gets 413 before a byte of it is read.
    fn body_limit(&self, request: &Request) -> usize {
        match (request.path(), request.method()) {
            ("/echo", Method::Post) => ECHO_BODY_LIMIT,
            _ => 0,
        }
    }
}
// ANCHOR_END: body_limit

// ANCHOR: respond
/// Answers one request.
pub async fn respond(app: &DemoApp, request: Request) -> Response {
    use Method::{Get, Head, Options, Post};
    match (request.path(), request.method()) {
        ("/", Get | Head) => made_for_this_request(index_page(&request)),
        ("/hello", Get | Head) => Response::text(200, "Hello, world"),
        ("/seed-a-plant", Get | Head) => Response::text(200, "🌱 Plant seeded!"),
        ("/headers", Get | Head) => {
            made_for_this_request(Response::text(200, describe_request(&request)))
        }
        ("/echo", Post) => echo(request),
        ("/sleep", Get | Head) => sleep(&request).await,
        ("/block", Get | Head) => block(&request),
        ("/visits", Get | Head) => made_for_this_request(visits(app)),
        // `OPTIONS *` asks about the server as a whole (RFC 9110 section 9.3.7).
        ("*", Options) => Response::new(200).with_header("Allow", SERVER_METHODS),
        // The path exists but not with this method: 405, and `Allow` says
        // which methods would work.
        ("/" | "/hello" | "/seed-a-plant" | "/headers" | "/sleep" | "/block" | "/visits", _) => {
            method_not_allowed(&request, "GET, HEAD")
        }
        ("/echo", _) => method_not_allowed(&request, "POST"),
        _ => Response::text(
            404,
            format!("404 Not Found: nothing at {}\n", request.path()),
        ),
    }
}
// ANCHOR_END: respond

/// Every method some route here answers, for `OPTIONS *`.
const SERVER_METHODS: &str = "GET, HEAD, POST, OPTIONS";

/// Marks a response that was made for one request (it shows that request, or
/// a count that changes each time): no cache may store it and hand it to
/// someone else (RFC 9111 section 5.2.2.5). The page shows the request's
/// headers, cookies included.
fn made_for_this_request(response: Response) -> Response {
    response.with_header("Cache-Control", "no-store")
}

fn method_not_allowed(request: &Request, allow: &'static str) -> Response {
    Response::text(
        405,
        format!(
            "405 Method Not Allowed: {} allows {allow}, not {}\n",
            request.path(),
            request.method_str()
        ),
    )
    .with_header("Allow", allow)
}

/// `POST /echo`: the body back, with the type it came with.
fn echo(request: Request) -> Response {
    let content_type = request
        .header("content-type")
        .unwrap_or("application/octet-stream")
        .to_string();
    Response::new(200)
        .with_header("Content-Type", content_type)
        .with_body(request.body().clone())
}

// ANCHOR: sleep_and_block
/// `GET /sleep?ms=N`: waits without blocking. While this request waits, the
/// thread serves everyone else.
async fn sleep(request: &Request) -> Response {
    match wait_ms(request) {
        Ok(ms) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Response::text(200, format!("slept {ms} ms without blocking anyone\n"))
        }
        Err(response) => response,
    }
}

/// `GET /block?ms=N`: THE WRONG WAY. `std::thread::sleep` parks the runtime
/// worker thread itself, so every other connection that thread serves waits
/// too. Any blocking call does this: reading a file with `std::fs`, a
/// synchronous database driver, a long computation. (The fix for real work:
/// `tokio::task::spawn_blocking`.)
fn block(request: &Request) -> Response {
    match wait_ms(request) {
        Ok(ms) => {
            std::thread::sleep(Duration::from_millis(ms));
            Response::text(200, format!("blocked a runtime thread for {ms} ms\n"))
        }
        Err(response) => response,
    }
}
// ANCHOR_END: sleep_and_block

/// The `ms` query parameter of `/sleep` and `/block`.
fn wait_ms(request: &Request) -> Result<u64, Response> {
    request
        .query_param("ms")
        .unwrap_or("1000")
        .parse()
        .ok()
        .filter(|ms| *ms <= MAX_DEMO_WAIT_MS)
        .ok_or_else(|| {
            Response::text(
                400,
                format!(
                    "400 Bad Request: ms must be a whole number from 0 to {MAX_DEMO_WAIT_MS}\n"
                ),
            )
        })
}

// ANCHOR: visits
/// `GET /visits`: a counter shared by every client. It keeps counting for as
/// long as the process runs, and starts again from zero when it restarts.
fn visits(app: &DemoApp) -> Response {
    let visit = app.visits.fetch_add(1, Ordering::Relaxed) + 1;
    Response::text(
        200,
        format!(
            "visit number {visit} since this server started {} s ago (counted across all clients)\n",
            app.started.elapsed().as_secs()
        ),
    )
}
// ANCHOR_END: visits

/// The request line and headers as the server parsed them.
fn describe_request(request: &Request) -> String {
    // A HEAD response must have the headers GET's would have, Content-Length
    // included (RFC 9110 section 9.3.2), so HEAD describes itself as the GET
    // it stands for: otherwise the length would differ by one byte.
    let method = match request.method() {
        Method::Head => "GET",
        _ => request.method_str(),
    };
    let mut text = format!("{method} {} {}\n", request.target(), request.version());
    for (name, value) in request.headers() {
        let _ = writeln!(text, "{name}: {}", String::from_utf8_lossy(value));
    }
    if !request.body().is_empty() {
        let _ = writeln!(text, "\n({} bytes of body)", request.body().len());
    }
    text
}

/// `GET /`: a page that shows the request the browser just sent.
fn index_page(request: &Request) -> Response {
    let sent = html_escape(&describe_request(request));
    let page = format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>http-raw: lesson 3</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; }}
pre {{ background: #f4f4f4; padding: 1rem; overflow-x: auto; }}
code {{ background: #f4f4f4; padding: 0 .2rem; }}
</style></head>
<body>
<h1>Hello from http-raw</h1>
<p>Your browser opened a TCP connection to this server and sent these bytes
(each line ended with <code>\r\n</code>, and an empty line ended the head):</p>
<pre>{sent}</pre>
<p>The server read them from the socket, parsed them with <code>httparse</code>,
matched <code>GET /</code> to this page, and wrote back a status line, headers
and this HTML. Open the developer tools (Network tab) to see the response headers.</p>
<h2>Try the other routes</h2>
<ul>
<li><a href="/hello">/hello</a>: plain text</li>
<li><a href="/seed-a-plant">/seed-a-plant</a>: UTF-8 text</li>
<li><a href="/headers">/headers</a>: the request as parsed, as plain text</li>
<li><a href="/visits">/visits</a>: a counter shared by every client</li>
<li><a href="/sleep?ms=2000">/sleep?ms=2000</a>: waits 2 s without blocking anyone</li>
<li><a href="/block?ms=2000">/block?ms=2000</a>: blocks a thread for 2 s (the wrong way)</li>
<li><code>curl -d 'some text' http://127.0.0.1:3000/echo</code>: your body, back</li>
</ul>
</body>
</html>
"#
    );
    Response::html(200, page)
}

/// Text made safe to put inside HTML.
fn html_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '&' => escaped.push_str("&amp;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}
