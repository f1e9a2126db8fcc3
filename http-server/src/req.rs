//! `Req`: what a handler gets. The HTTP request, plus what the framework
//! learned about it.
//!
//! What to notice: three kinds of data reach a handler, and they live in
//! three different places, on purpose:
//! - **the request** (`req.request()`, `req.param("id")`, `req.json()`):
//!   what this client sent;
//! - **request-scoped data** (`req.insert(...)`, `req.get::<T>()`): what
//!   middleware worked out about *this* request, such as who is asking. It
//!   dies with the request;
//! - **the app state** (`req.state()`): what all requests share, such as the
//!   plant store. It lives as long as the process.
//!
//! Putting per-request data in the third place is the bug that
//! `shared_state.rs` demonstrates.

use std::any::{Any, TypeId};
use std::str::FromStr;
use std::sync::Arc;

use http_raw::{Method, Request};
use percent_encoding::percent_decode_str;
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::router::Params;

/// A request on its way through middleware to a handler.
pub struct Req<S> {
    /// Boxed: a `Req` is handed from middleware to middleware by value, and
    /// moving a pointer is cheaper than moving the whole request each time.
    request: Box<Request>,
    /// The route's path parameters, filled in by the router.
    pub(crate) params: Params,
    state: Arc<S>,
    /// Request-scoped data, one value per type. A short list, not a map:
    /// a request carries two or three, and a list needs no hashing.
    extensions: Vec<(TypeId, Box<dyn Any + Send + Sync>)>,
    /// Whether error responses to this request are JSON (set by the app:
    /// true under `/api`).
    pub(crate) json_errors: bool,
}

impl<S> Req<S> {
    /// Wraps `request` for an app whose state is `state`.
    pub fn new(request: Request, state: Arc<S>) -> Req<S> {
        Req {
            request: Box::new(request),
            params: Vec::new(),
            state,
            extensions: Vec::new(),
            json_errors: false,
        }
    }

    /// The HTTP request as http-raw parsed it.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.request.method()
    }

    /// The path, as sent (not percent-decoded).
    pub fn path(&self) -> &str {
        self.request.path()
    }

    /// A request header (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.request.header(name)
    }

    /// Whether an error for this request should be JSON (`{"error": ...}`)
    /// rather than text: the app decides, by path (`app::API_PREFIX`).
    pub fn wants_json_errors(&self) -> bool {
        self.json_errors
    }

    /// Turns `error` into the response this request should get.
    pub fn error_response(&self, error: Error) -> http_raw::Response {
        error.into_response(self.json_errors)
    }

    /// The app's shared state.
    pub fn state(&self) -> &S {
        &self.state
    }

    /// The path parameter `name` (`:id` in `/api/plants/:id`), decoded.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(param, _)| param == name)
            .map(|(_, value)| value.as_str())
    }

    /// The path parameter `name`, parsed as a `T`; 404 if it is not one
    /// (`/api/plants/abc` names no plant).
    pub fn param_as<T: FromStr>(&self, name: &str) -> Result<T, Error> {
        let value = self.param(name).unwrap_or_default();
        value
            .parse()
            .map_err(|_| Error::not_found(format!("no such {name}: {value:?}")))
    }

    /// The query parameter `name`, decoded (`?q=hello+world` gives
    /// `hello world`).
    pub fn query(&self, name: &str) -> Option<String> {
        query_pairs(self.request.query()?)
            .into_iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }

    /// The body, parsed as JSON into a `T`; 400 with serde's explanation if
    /// it is not valid JSON or not the shape of a `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(self.request.body())
            .map_err(|error| Error::bad_request(format!("invalid JSON body: {error}")))
    }

    /// Stores request-scoped data (one value per type).
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        let type_id = TypeId::of::<T>();
        self.extensions.retain(|(existing, _)| *existing != type_id);
        self.extensions.push((type_id, Box::new(value)));
    }

    /// Request-scoped data stored by `insert`, if any.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        let type_id = TypeId::of::<T>();
        self.extensions
            .iter()
            .find(|(existing, _)| *existing == type_id)
            .and_then(|(_, value)| value.downcast_ref())
    }
}

/// `a=1&b=hello+world` as decoded pairs. `+` means a space in a query string
/// (HTML forms send it that way); `%2B` is a real plus.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    let decode = |text: &str| {
        let spaced = text.replace('+', " ");
        percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
    };
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) => (decode(key), decode(value)),
            None => (decode(pair), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_pairs_are_decoded() {
        assert_eq!(
            query_pairs("q=hello+world&tag=a%2Bb&flag&empty="),
            [
                ("q".to_string(), "hello world".to_string()),
                ("tag".to_string(), "a+b".to_string()),
                ("flag".to_string(), String::new()),
                ("empty".to_string(), String::new()),
            ]
        );
    }
}
