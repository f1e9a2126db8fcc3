//! Deliberately flawed web apps, for proving lesson 4's checker fair.
//!
//! Each is the lesson's own app (its router, plants API and static files)
//! with one piece swapped for a mistake people really make: a JSON list sent
//! as text, 200 instead of 201, errors as plain text, a static file server
//! that joins the client's path onto its directory, files without ETag, a
//! Range header ignored. The checker's tests start each and assert the run
//! stops at that flaw's stage.

use std::path::{Path, PathBuf};

use http_raw::Response;
use http_server::plants::{self, AppState};
use http_server::{App, DEFAULT_PUBLIC_DIR, Error, Req, json};

use crate::support::{TestServer, config, start_with};

/// One mistake, and the comment says which stage catches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flaw {
    /// Stage 1: `Hello, World!` instead of `Hello, world`.
    WrongGreeting,
    /// Stage 2: the list is JSON text with `Content-Type: text/plain`.
    ListAsText,
    /// Stage 3: a create answers 200, not 201.
    CreatedIs200,
    /// Stage 4: a delete answers 200 with a body, not 204.
    DeleteIs200,
    /// Stage 5: errors are plain text, not JSON.
    TextErrors,
    /// Stage 6: no static files at all.
    NoStaticFiles,
    /// Stage 7: the request path joined onto the directory, `..` and all.
    JoinsPathUnchecked,
    /// Stage 8: static files without ETag.
    NoEtag,
    /// Stage 9: `Range` ignored: the whole file, 200.
    IgnoresRange,
}

/// Every flaw with the stage that must catch it.
pub const FLAWS: &[(Flaw, usize)] = &[
    (Flaw::WrongGreeting, 1),
    (Flaw::ListAsText, 2),
    (Flaw::CreatedIs200, 3),
    (Flaw::DeleteIs200, 4),
    (Flaw::TextErrors, 5),
    (Flaw::NoStaticFiles, 6),
    (Flaw::JoinsPathUnchecked, 7),
    (Flaw::NoEtag, 8),
    (Flaw::IgnoresRange, 9),
];

async fn hello(_req: Req<AppState>) -> Result<Response, Error> {
    Ok(Response::text(200, "Hello, world"))
}

async fn wrong_greeting(_req: Req<AppState>) -> Result<Response, Error> {
    Ok(Response::text(200, "Hello, World!"))
}

async fn list_as_text(req: Req<AppState>) -> Result<Response, Error> {
    let mut response = plants::list(req).await?;
    response.set_header("Content-Type", "text/plain");
    Ok(response)
}

async fn create_with_200(req: Req<AppState>) -> Result<Response, Error> {
    let mut response = plants::create(req).await?;
    response.set_status(200);
    Ok(response)
}

async fn delete_with_200(req: Req<AppState>) -> Result<Response, Error> {
    plants::delete(req).await?;
    json(200, &serde_json::json!({ "deleted": true }))
}

/// Static files the way a first attempt serves them. `check_dots`: refuse
/// `..`; `etag`: send an ETag and honour If-None-Match. Never a Range.
async fn first_attempt_static(
    req: Req<AppState>,
    check_dots: bool,
    etag: bool,
) -> Result<Response, Error> {
    let decoded = percent_encoding::percent_decode_str(req.path())
        .decode_utf8_lossy()
        .into_owned();
    if check_dots && decoded.split(['/', '\\']).any(|segment| segment == "..") {
        return Err(Error::not_found("no such file"));
    }
    let mut file = PathBuf::from(DEFAULT_PUBLIC_DIR);
    file.push(decoded.trim_start_matches('/'));
    if decoded.ends_with('/') {
        file.push("index.html");
    }
    let bytes = tokio::fs::read(&file)
        .await
        .map_err(|_| Error::not_found("no such file"))?;
    let content_type = mime_guess::from_path(&file).first_or_octet_stream();
    let mut response = Response::new(200).with_header("Content-Type", content_type.to_string());
    if etag {
        let tag = format!("\"{}\"", bytes.len());
        if req.header("if-none-match") == Some(tag.as_str()) {
            return Ok(Response::new(304).with_header("ETag", tag));
        }
        response = response.with_header("ETag", tag);
    }
    Ok(response.with_body(bytes))
}

async fn static_unchecked(req: Req<AppState>) -> Result<Response, Error> {
    first_attempt_static(req, false, false).await
}

async fn static_without_etag(req: Req<AppState>) -> Result<Response, Error> {
    first_attempt_static(req, true, false).await
}

async fn static_without_range(req: Req<AppState>) -> Result<Response, Error> {
    first_attempt_static(req, true, true).await
}

/// Starts the lesson's app with `flaw`, in this process.
pub async fn start(flaw: Flaw) -> TestServer {
    let mut app = App::new(AppState::new());
    app = match flaw {
        Flaw::WrongGreeting => app.get("/hello", wrong_greeting),
        _ => app.get("/hello", hello),
    };
    app = app
        .get("/api/plants/:id", plants::get)
        .put("/api/plants/:id", plants::update);
    app = match flaw {
        Flaw::ListAsText => app.get("/api/plants", list_as_text),
        _ => app.get("/api/plants", plants::list),
    };
    app = match flaw {
        Flaw::CreatedIs200 => app.post("/api/plants", create_with_200),
        _ => app.post("/api/plants", plants::create),
    };
    app = match flaw {
        Flaw::DeleteIs200 => app.delete("/api/plants/:id", delete_with_200),
        _ => app.delete("/api/plants/:id", plants::delete),
    };
    if flaw == Flaw::TextErrors {
        app = app.json_errors_under("/no-json-errors-anywhere");
    }
    app = match flaw {
        Flaw::NoStaticFiles => app,
        Flaw::JoinsPathUnchecked => app.get("/*path", static_unchecked),
        Flaw::NoEtag => app.get("/*path", static_without_etag),
        Flaw::IgnoresRange => app.get("/*path", static_without_range),
        _ => app
            .static_files(Path::new(DEFAULT_PUBLIC_DIR))
            .expect("the lesson's public directory"),
    };
    start_with(config(), app.into_handler()).await
}
