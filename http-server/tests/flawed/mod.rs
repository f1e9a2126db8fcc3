//! Deliberately flawed web apps, for proving lesson 4's checker fair.
//!
//! One small plants app on lesson 4's framework (`App`, its router and its
//! static files), and a [`Flaw`] for each stage that swaps one piece for a
//! mistake people really make: a JSON list sent as text, 200 instead of
//! 201, errors as plain text, a static file server that joins the client's
//! path onto its directory, files without ETag, a Range header ignored. The
//! checker's tests start it with each flaw and assert the run stops at that
//! flaw's stage.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use http_raw::Response;
use http_server::{App, DEFAULT_PUBLIC_DIR, Error, Req, json};
use serde::Deserialize;
use serde_json::json as to_json;

use crate::support::{TestServer, config, run_in_process};

/// One mistake; the comment says which stage catches it.
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

/// The app's state: the plants, and which mistake to make.
struct Plants {
    flaw: Flaw,
    names: Mutex<(u64, BTreeMap<u64, String>)>,
}

#[derive(Deserialize)]
struct Input {
    name: String,
}

type Reply = Result<Response, Error>;

/// An API error: JSON, unless the flaw is to send text.
fn api_error(req: &Req<Plants>, status: u16, message: &str) -> Reply {
    if req.state().flaw == Flaw::TextErrors {
        return Ok(Response::text(status, format!("{message}\n")));
    }
    json(status, &to_json!({ "error": message }))
}

fn plant(id: u64, name: &str) -> serde_json::Value {
    to_json!({ "id": id, "name": name })
}

/// The `:id` in the path, as a number.
fn id_of(req: &Req<Plants>) -> Option<u64> {
    req.param("id").and_then(|id| id.parse().ok())
}

/// The name in the JSON body, or the 400 to send.
fn input(req: &Req<Plants>) -> Result<String, Reply> {
    match serde_json::from_slice::<Input>(req.request().body()) {
        Ok(input) => Ok(input.name),
        Err(_) => Err(api_error(req, 400, "send {\"name\": \"...\"}")),
    }
}

async fn hello(req: Req<Plants>) -> Reply {
    let greeting = if req.state().flaw == Flaw::WrongGreeting {
        "Hello, World!"
    } else {
        "Hello, world"
    };
    Ok(Response::text(200, greeting))
}

async fn list(req: Req<Plants>) -> Reply {
    let names = req
        .state()
        .names
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let plants: Vec<_> = names.1.iter().map(|(id, name)| plant(*id, name)).collect();
    let mut response = json(200, &plants)?;
    if req.state().flaw == Flaw::ListAsText {
        response.set_header("Content-Type", "text/plain");
    }
    Ok(response)
}

async fn create(req: Req<Plants>) -> Reply {
    let name = match input(&req) {
        Ok(name) => name,
        Err(reply) => return reply,
    };
    let id = {
        let mut names = req
            .state()
            .names
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        names.0 += 1;
        let id = names.0;
        names.1.insert(id, name.clone());
        id
    };
    let status = if req.state().flaw == Flaw::CreatedIs200 {
        200
    } else {
        201
    };
    Ok(json(status, &plant(id, &name))?.with_header("Location", format!("/api/plants/{id}")))
}

async fn get(req: Req<Plants>) -> Reply {
    let found = id_of(&req).and_then(|id| {
        let names = req
            .state()
            .names
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        names.1.get(&id).map(|name| plant(id, name))
    });
    match found {
        Some(plant) => json(200, &plant),
        None => api_error(&req, 404, "no such plant"),
    }
}

async fn update(req: Req<Plants>) -> Reply {
    let name = match input(&req) {
        Ok(name) => name,
        Err(reply) => return reply,
    };
    let renamed = id_of(&req).and_then(|id| {
        let mut names = req
            .state()
            .names
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let slot = names.1.get_mut(&id)?;
        slot.clone_from(&name);
        Some(plant(id, &name))
    });
    match renamed {
        Some(plant) => json(200, &plant),
        None => api_error(&req, 404, "no such plant"),
    }
}

async fn delete(req: Req<Plants>) -> Reply {
    let removed = id_of(&req).and_then(|id| {
        let mut names = req
            .state()
            .names
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        names.1.remove(&id)
    });
    match removed {
        Some(_) if req.state().flaw == Flaw::DeleteIs200 => {
            json(200, &to_json!({ "deleted": true }))
        }
        Some(_) => Ok(Response::new(204)),
        None => api_error(&req, 404, "no such plant"),
    }
}

/// Static files the way a first attempt serves them: `..` refused unless
/// the flaw is not to; an ETag (and 304) only past that flaw; never a Range.
async fn first_attempt_static(req: Req<Plants>) -> Reply {
    let flaw = req.state().flaw;
    let decoded = percent_encoding::percent_decode_str(req.path())
        .decode_utf8_lossy()
        .into_owned();
    let climbs = decoded.split(['/', '\\']).any(|segment| segment == "..");
    if climbs && flaw != Flaw::JoinsPathUnchecked {
        return Ok(Response::text(404, "no such file\n"));
    }
    let mut file = PathBuf::from(DEFAULT_PUBLIC_DIR);
    file.push(decoded.trim_start_matches('/'));
    if decoded.ends_with('/') {
        file.push("index.html");
    }
    let Ok(bytes) = tokio::fs::read(&file).await else {
        return Ok(Response::text(404, "no such file\n"));
    };
    let content_type = mime_guess::from_path(&file).first_or_octet_stream();
    let mut response = Response::new(200).with_header("Content-Type", content_type.to_string());
    if flaw == Flaw::IgnoresRange {
        let tag = format!("\"{}\"", bytes.len());
        if req.header("if-none-match") == Some(tag.as_str()) {
            return Ok(Response::new(304).with_header("ETag", tag));
        }
        response = response.with_header("ETag", tag);
    }
    Ok(response.with_body(bytes))
}

/// Starts the app with `flaw` on 127.0.0.1:0, in this process.
pub async fn start(flaw: Flaw) -> TestServer {
    let state = Plants {
        flaw,
        names: Mutex::new((0, BTreeMap::new())),
    };
    let mut app = App::new(state)
        .get("/hello", hello)
        .get("/api/plants", list)
        .post("/api/plants", create)
        .get("/api/plants/:id", get)
        .put("/api/plants/:id", update)
        .delete("/api/plants/:id", delete);
    app = match flaw {
        Flaw::NoStaticFiles => app,
        Flaw::JoinsPathUnchecked | Flaw::NoEtag | Flaw::IgnoresRange => {
            app.get("/*path", first_attempt_static)
        }
        _ => app
            .static_files(DEFAULT_PUBLIC_DIR)
            .expect("the lesson's public directory"),
    };
    let config = config();
    let listener = tcp_echo::bind::bind_tcp(config.server.addr()).expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local_addr");
    run_in_process(addr, move |shutdown| async move {
        app.serve(listener, &config, shutdown).await
    })
}
