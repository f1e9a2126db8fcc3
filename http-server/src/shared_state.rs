//! The shared-state pitfall, side by side: one user's data leaking into
//! another user's request, and the fix.
//!
//! What to notice: a server is *one process* serving *many* users at once.
//! Anything kept in process-wide state (a `static`, a global variable in
//! Node, a field of the app state) is seen by every request. `greet_wrong`
//! stores "the current user" there, then waits (as a real handler waits for a
//! database); meanwhile another user's request overwrites it, and the first
//! user is greeted with the second user's name. On a developer's laptop, with
//! one request at a time, the bug never shows. Under load it always does.
//!
//! `greet_right` keeps the user where it belongs: in the request itself
//! (request-scoped data, put there by the `identify_user` middleware), so
//! each request sees only its own.
//!
//! Try it: `curl 'http://127.0.0.1:4000/shared-state/wrong?user=alice' &
//! curl 'http://127.0.0.1:4000/shared-state/wrong?user=bob'`.

use std::sync::Mutex;
use std::time::Duration;

use http_raw::Response;

use crate::error::Error;
use crate::middleware::Next;
use crate::req::Req;

/// How long the handlers pretend to wait for a database.
const PRETEND_DATABASE_WAIT: Duration = Duration::from_millis(200);

// ANCHOR: wrong
/// DELIBERATELY WRONG: "the current user", kept for the whole process, the
/// way a Node learner writes `let currentUser;` at the top of a file.
static CURRENT_USER: Mutex<Option<String>> = Mutex::new(None);

/// `GET /shared-state/wrong?user=NAME`: greets... someone.
pub async fn greet_wrong<S>(req: Req<S>) -> Result<Response, Error> {
    let user = req
        .query("user")
        .ok_or_else(|| Error::bad_request("add ?user=NAME"))?;
    set_current_user(user);
    // Another request may run while this one waits, and overwrite it.
    tokio::time::sleep(PRETEND_DATABASE_WAIT).await;
    let user = current_user();
    Ok(Response::text(200, format!("Hello, {user}!\n")))
}
// ANCHOR_END: wrong

fn set_current_user(user: String) {
    if let Ok(mut current) = CURRENT_USER.lock() {
        *current = Some(user);
    }
}

fn current_user() -> String {
    CURRENT_USER
        .lock()
        .ok()
        .and_then(|current| current.clone())
        .unwrap_or_default()
}

// ANCHOR: right
/// Who is asking: request-scoped, so it dies with its request.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub String);

/// Middleware: works out who is asking (here, naively, from `?user=`; in a
/// real app, from a session cookie or a token) and stores it in the request.
pub async fn identify_user<S: Send + Sync + 'static>(mut req: Req<S>, next: Next<S>) -> Response {
    if let Some(user) = req.query("user") {
        req.insert(CurrentUser(user));
    }
    next.run(req).await
}

/// `GET /shared-state/right?user=NAME`: greets the user who asked.
pub async fn greet_right<S>(req: Req<S>) -> Result<Response, Error> {
    let CurrentUser(user) = req
        .get::<CurrentUser>()
        .cloned()
        .ok_or_else(|| Error::bad_request("add ?user=NAME"))?;
    tokio::time::sleep(PRETEND_DATABASE_WAIT).await;
    Ok(Response::text(200, format!("Hello, {user}!\n")))
}
// ANCHOR_END: right
