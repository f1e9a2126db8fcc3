//! `cargo run -p check -- http-server ADDR`: lesson 4's stages, what a small web framework's app must
//! do, in the order you would build it.
//!
//! What to notice: lesson 3's checker tests the protocol; this one tests
//! the app on top: routes with parameters, a JSON API that answers with the
//! right statuses and JSON errors, static files with their caching headers
//! (ETag, 304, Range), and a static file server that cannot be talked out of
//! its directory. The book's "Build it yourself" page for lesson 4 is the
//! same list in words.

use serde_json::Value;

use crate::http::{Conn, Failure, Response, Target, blocking, get, request};
use crate::runner::Stage;

/// Every stage, in order.
pub const STAGES: &[Stage<Target>] = &[
    Stage {
        name: "hello",
        check: |target| blocking(target, hello),
    },
    Stage {
        name: "list plants as JSON",
        check: |target| blocking(target, list_plants),
    },
    Stage {
        name: "create a plant",
        check: |target| blocking(target, create_plant),
    },
    Stage {
        name: "update and delete by id",
        check: |target| blocking(target, update_and_delete),
    },
    Stage {
        name: "API errors as JSON",
        check: |target| blocking(target, api_errors),
    },
    Stage {
        name: "static files",
        check: |target| blocking(target, static_files),
    },
    Stage {
        name: "path traversal refused",
        check: |target| blocking(target, traversal_refused),
    },
    Stage {
        name: "ETag and 304",
        check: |target| blocking(target, etag),
    },
    Stage {
        name: "Range",
        check: |target| blocking(target, range),
    },
];

/// Sends one request on a new connection.
fn exchange(target: &Target, bytes: &[u8], expected: &str) -> Result<Response, Failure> {
    Conn::open(target)?.request(bytes, expected)
}

/// A JSON request with `body`.
fn json_request(target: &Target, method: &str, path: &str, body: &str) -> Vec<u8> {
    request(
        target,
        method,
        path,
        "Content-Type: application/json\r\n",
        body.as_bytes(),
    )
}

/// The response's body as JSON, if it says it is JSON and is.
fn json_body(response: &Response, expected: &str) -> Result<Value, Failure> {
    let says_json = response
        .header("content-type")
        .is_some_and(|value| value.to_ascii_lowercase().starts_with("application/json"));
    if !says_json {
        return Err(response.fail(
            expected,
            "send `Content-Type: application/json` with a JSON body, so clients parse it as JSON",
        ));
    }
    serde_json::from_slice(&response.body).map_err(|error| {
        response.fail(
            expected,
            format!("the body is not valid JSON ({error}): serialise it with a JSON library rather than by hand"),
        )
    })
}

/// Stage 1: `GET /hello` answers `Hello, world`.
fn hello(target: &Target) -> Result<(), Failure> {
    let expected = "200 and the body `Hello, world`";
    let response = exchange(target, &get(target, "/hello", ""), expected)?;
    if response.status != 200 || response.body != b"Hello, world" {
        return Err(response.fail(
            expected,
            "add a route: GET /hello answers `Hello, world` as text/plain",
        ));
    }
    Ok(())
}

/// The plants in a list response: a JSON array, or an object with one (a
/// page of results).
fn plants_in(value: &Value) -> Option<&Vec<Value>> {
    match value {
        Value::Array(items) => Some(items),
        Value::Object(fields) => fields.values().find_map(Value::as_array),
        _ => None,
    }
}

/// Stage 2: `GET /api/plants` is a JSON array (or a page holding one).
fn list_plants(target: &Target) -> Result<(), Failure> {
    let expected = "200 and a JSON array of plants (`[]` when there are none), or a page object holding that array";
    let response = exchange(target, &get(target, "/api/plants", ""), expected)?;
    response.expect_status(
        200,
        expected,
        "add a route: GET /api/plants lists the plants",
    )?;
    let value = json_body(&response, expected)?;
    if plants_in(&value).is_none() {
        return Err(response.fail(
            expected,
            "answer with a JSON array: `[{\"id\": 1, \"name\": \"Basil\"}]`",
        ));
    }
    Ok(())
}

/// Creates a plant called `name`; returns its JSON and its Location.
fn create(target: &Target, name: &str) -> Result<(Value, String), Failure> {
    let expected = "201 Created, a JSON object with an `id` and the `name` sent, and a `Location` header naming the new plant";
    let body = serde_json::json!({ "name": name }).to_string();
    let response = exchange(
        target,
        &json_request(target, "POST", "/api/plants", &body),
        expected,
    )?;
    response.expect_status(
        201,
        expected,
        "add a route: POST /api/plants reads {\"name\": ...}, stores a plant with a new id, and answers 201 (RFC 9110 section 15.3.2)",
    )?;
    let plant = json_body(&response, expected)?;
    if plant.get("id").is_none() || plant.get("name") != Some(&Value::from(name)) {
        return Err(response.fail(
            expected,
            "answer with the plant as stored: {\"id\": 1, \"name\": \"...\"}",
        ));
    }
    let Some(location) = response.header("location") else {
        return Err(response.fail(
            expected,
            "add `Location: /api/plants/ID`: it tells the client where the new plant lives",
        ));
    };
    let location = location.to_string();
    // A Location may be absolute (`http://host/api/plants/1`): keep the path.
    let path = match location.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |at| &rest[at..]).to_string(),
        None => location,
    };
    Ok((plant, path))
}

/// Stage 3: `POST /api/plants` creates a plant, and `GET` its Location
/// finds it.
fn create_plant(target: &Target) -> Result<(), Failure> {
    let (_, first) = create(target, "Basil (checker)")?;
    let (_, second) = create(target, "Mint (checker)")?;
    for (path, name) in [(&first, "Basil (checker)"), (&second, "Mint (checker)")] {
        let expected = format!("200 and the plant called {name:?}");
        let response = exchange(target, &get(target, path, ""), &expected)?;
        response.expect_status(
            200,
            &expected,
            "add a route with a parameter: GET /api/plants/:id finds the plant by the id in the path",
        )?;
        let plant = json_body(&response, &expected)?;
        if plant.get("name") != Some(&Value::from(name)) {
            return Err(response.fail(
                expected,
                "GET /api/plants/:id must use the `:id` from the path: two plants, two different answers",
            ));
        }
    }
    Ok(())
}

/// Stage 4: `PUT` renames, `DELETE` removes (204), and then `GET` is 404.
fn update_and_delete(target: &Target) -> Result<(), Failure> {
    let (_, path) = create(target, "Fern (checker)")?;
    let expected = "200 and the plant with its new name";
    let body = serde_json::json!({ "name": "Tree fern (checker)" }).to_string();
    let response = exchange(target, &json_request(target, "PUT", &path, &body), expected)?;
    response.expect_status(
        200,
        expected,
        "add a route: PUT /api/plants/:id renames the plant and answers with it",
    )?;
    let plant = json_body(&response, expected)?;
    if plant.get("name") != Some(&Value::from("Tree fern (checker)")) {
        return Err(response.fail(expected, "answer PUT with the plant as it is now"));
    }
    let expected = "204 No Content, and no body";
    let response = exchange(target, &request(target, "DELETE", &path, "", b""), expected)?;
    response.expect_status(
        204,
        expected,
        "add a route: DELETE /api/plants/:id removes it and answers 204 No Content (nothing to send back)",
    )?;
    let expected = "404 for a plant that was deleted";
    let response = exchange(target, &get(target, &path, ""), expected)?;
    response.expect_status(
        404,
        expected,
        "after DELETE, the plant is gone: GET answers 404",
    )
}

/// Checks an error response: `status` and a JSON body `{"error": "..."}`.
fn expect_json_error(
    response: &Response,
    status: u16,
    expected: &str,
    hint: &str,
) -> Result<(), Failure> {
    response.expect_status(status, expected, hint)?;
    let value = json_body(response, expected)?;
    if !value.get("error").is_some_and(Value::is_string) {
        return Err(response.fail(
            expected,
            "an API error is JSON too: {\"error\": \"what went wrong\"}, so a client can show it",
        ));
    }
    Ok(())
}

/// Stage 5: bad input is a 400 and an unknown id a 404, both as JSON.
fn api_errors(target: &Target) -> Result<(), Failure> {
    let cases = [
        (
            json_request(target, "POST", "/api/plants", "{\"name\": "),
            400,
            "400 and {\"error\": \"...\"} for a body that is not valid JSON",
            "parse the body, and answer a parse error with 400 (the client's mistake), not 500",
        ),
        (
            json_request(target, "POST", "/api/plants", "{\"colour\": \"green\"}"),
            400,
            "400 and {\"error\": \"...\"} for JSON without a name",
            "check the input: a plant needs a `name`",
        ),
        (
            get(target, "/api/plants/999999999", ""),
            404,
            "404 and {\"error\": \"...\"} for an id that does not exist",
            "answer an unknown id with 404 and a JSON error",
        ),
    ];
    for (bytes, status, expected, hint) in cases {
        let response = exchange(target, &bytes, expected)?;
        expect_json_error(&response, status, expected, hint)?;
    }
    Ok(())
}

/// `GET /`, checked as the static index page.
fn index_page(target: &Target) -> Result<Response, Failure> {
    let expected =
        "200, Content-Type text/html, and the index.html page (containing `<!DOCTYPE html>`)";
    let response = exchange(target, &get(target, "/", ""), expected)?;
    response.expect_status(
        200,
        expected,
        "serve files from a public directory: GET / answers with public/index.html",
    )?;
    let is_html = response
        .header("content-type")
        .is_some_and(|value| value.to_ascii_lowercase().starts_with("text/html"));
    let doctype = String::from_utf8_lossy(&response.body)
        .to_ascii_lowercase()
        .contains("<!doctype html>");
    if !is_html || !doctype {
        return Err(response.fail(
            expected,
            "set Content-Type from the file's extension: .html is text/html, .css text/css, .js text/javascript",
        ));
    }
    Ok(response)
}

/// Stage 6: `GET /` serves index.html, and HEAD gets its status and
/// headers without the body.
fn static_files(target: &Target) -> Result<(), Failure> {
    let page = index_page(target)?;
    let expected = "200, no body, and if there is a Content-Length, GET's";
    let hint = "answer HEAD for a file as for GET, without the body (RFC 9110 section 9.3.2)";
    let mut conn = Conn::open(target)?;
    conn.send(format!("HEAD / HTTP/1.1\r\nHost: {}\r\n\r\n", target.host).as_bytes())?;
    let head = conn.read_response(true, expected)?;
    let length = page.body.len().to_string();
    let length_ok = head
        .header("content-length")
        .is_none_or(|value| value == length);
    if head.status != 200 || !length_ok {
        return Err(head.fail(expected, hint));
    }
    // A body sent after the head would now be where the next response
    // starts, or, if the server closes, bytes before the close.
    let hint = "a response to HEAD has no body: bytes after its head are read as the start of the next response";
    if head.header_has("connection", "close") {
        return conn.wait_closed().map_err(|note| Failure {
            got_note: note,
            ..head.fail(expected, hint)
        });
    }
    let next = "the next response on the connection, starting `HTTP/1.1`";
    match conn.request(&get(target, "/hello", ""), next) {
        Ok(_) => Ok(()),
        Err(failure) => Err(Failure {
            hint: hint.into(),
            ..failure
        }),
    }
}

/// Stage 7: paths that climb out of the public directory are refused.
fn traversal_refused(target: &Target) -> Result<(), Failure> {
    for path in [
        "/../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/..%2fCargo.toml",
        "/%2e%2e%2f%2e%2e%2fCargo.toml",
        "/static/..%5c..%5cCargo.toml",
    ] {
        let expected =
            format!("400, 403 or 404 for {path}: it points outside the public directory");
        let response = exchange(target, &get(target, path, ""), &expected)?;
        if !matches!(response.status, 400 | 403 | 404) {
            return Err(response.fail(
                expected,
                "decode the path first (%2e is `.`, %2f is `/`), then refuse any `..` segment (and `\\`) before it touches the file system",
            ));
        }
    }
    Ok(())
}

/// Stage 8: files carry an ETag, and `If-None-Match` with it gets 304.
fn etag(target: &Target) -> Result<(), Failure> {
    let page = index_page(target)?;
    let expected = "an `ETag` header on a static file";
    let Some(tag) = page.header("etag").map(str::to_string) else {
        return Err(page.fail(
            expected,
            "add an ETag that changes when the file changes, e.g. `\"<size>-<mtime>\"` (RFC 9110 section 8.8.3)",
        ));
    };
    let expected = "304 Not Modified, no body, for If-None-Match with the current ETag";
    let response = exchange(
        target,
        &get(target, "/", &format!("If-None-Match: {tag}\r\n")),
        expected,
    )?;
    response.expect_status(
        304,
        expected,
        "compare If-None-Match with the file's ETag; if one matches, answer 304 with no body: the browser's copy is current (RFC 9110 section 13.1.2)",
    )?;
    let expected = "200 and the page for If-None-Match with another ETag";
    let response = exchange(
        target,
        &get(target, "/", "If-None-Match: \"not-this-one\"\r\n"),
        expected,
    )?;
    response.expect_status(200, expected, "only a matching ETag gets 304")
}

/// Stage 9: `Range: bytes=0-9` gets the first ten bytes as 206.
fn range(target: &Target) -> Result<(), Failure> {
    let page = index_page(target)?;
    let total = page.body.len();
    let expected =
        format!("206 Partial Content, `Content-Range: bytes 0-9/{total}` and the first 10 bytes");
    let response = exchange(target, &get(target, "/", "Range: bytes=0-9\r\n"), &expected)?;
    let wanted_range = format!("bytes 0-9/{total}");
    if response.status != 206
        || response.header("content-range") != Some(wanted_range.as_str())
        || response.body != page.body[..10.min(total)]
    {
        return Err(response.fail(
            expected,
            "for `Range: bytes=A-B`, answer 206 with bytes A to B inclusive and `Content-Range: bytes A-B/TOTAL` (RFC 9110 section 14)",
        ));
    }
    let expected =
        format!("416 Range Not Satisfiable for a range that starts past the end ({total} bytes)");
    let response = exchange(
        target,
        &get(target, "/", &format!("Range: bytes={}-\r\n", total + 1000)),
        &expected,
    )?;
    response.expect_status(
        416,
        &expected,
        "a range that starts past the end cannot be served: 416, with `Content-Range: bytes */TOTAL`",
    )
}
