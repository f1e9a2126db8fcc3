//! Errors as values: a handler returns `Err(Error)`, the framework turns it
//! into a response.
//!
//! What to notice: a handler never builds an error page itself. It says what
//! went wrong (`Error::not_found("no plant with id 7")`) and the framework
//! decides how it looks: `{"error": "..."}` under `/api`, plain text
//! elsewhere. So every error of the API has the same shape, which is what
//! the code calling the API relies on.

use std::fmt;

use http_raw::Response;

/// A failed request: a status code and a message for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The response status, 4xx or 5xx.
    pub status: u16,
    /// Said to the client, so it must not leak internals.
    pub message: String,
    /// Headers the response must carry, e.g. `Retry-After` on a 503.
    pub headers: Vec<(&'static str, String)>,
}

impl Error {
    /// An error with any status.
    pub fn new(status: u16, message: impl Into<String>) -> Error {
        Error {
            status,
            message: message.into(),
            headers: Vec::new(),
        }
    }

    /// The same error, with a header for its response.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Error {
        self.headers.push((name, value.into()));
        self
    }

    /// 400: the request itself is wrong (bad JSON, a missing field, ...).
    pub fn bad_request(message: impl Into<String>) -> Error {
        Error::new(400, message)
    }

    /// 404: there is nothing at this address.
    pub fn not_found(message: impl Into<String>) -> Error {
        Error::new(404, message)
    }

    /// 500: our fault. The details go to the log, not to the client.
    pub fn internal() -> Error {
        Error::new(500, "internal server error")
    }

    /// The response for this error: JSON `{"error": message}` or plain text.
    pub fn into_response(self, as_json: bool) -> Response {
        let mut response = if as_json {
            let body = serde_json::json!({ "error": self.message }).to_string();
            Response::new(self.status)
                .with_header("Content-Type", "application/json")
                .with_body(body)
        } else {
            let reason = http_raw::status::reason_phrase(self.status);
            Response::text(
                self.status,
                format!("{} {reason}: {}\n", self.status, self.message),
            )
        };
        for (name, value) in self.headers {
            response.set_header(name, value);
        }
        response
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.message)
    }
}

impl std::error::Error for Error {}
