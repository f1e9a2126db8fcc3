//! What a client can get wrong, and the status code that says so.
//!
//! What to notice: every way a request can be refused is one variant here, and
//! each maps to exactly one status code (RFC 9110 section 15). The connection
//! loop sends the matching response (`to_response`, which the application may
//! reshape: see `service.rs`) and closes the connection: after a framing
//! error we can no longer be sure where the next request would start, so
//! guessing would invite request smuggling. One variant is the server's own
//! doing, not the client's: 503, when every connection slot is taken.

use std::fmt;

use crate::response::Response;
use crate::status::reason_phrase;

/// What a 503 tells the client to wait before trying again, in seconds
/// (`Retry-After`, RFC 9110 section 10.2.3). Connections to this server are
/// short, so a slot is usually free again within a second.
pub const RETRY_AFTER_SECS: u32 = 1;

/// A request the server refuses. `Display` gives the reason for the log and
/// for the response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// 400: the bytes are not a valid HTTP/1.1 request, or its framing is
    /// ambiguous (Content-Length with Transfer-Encoding, a doubled Host, ...).
    BadRequest(&'static str),
    /// 408: the head (or a part of the body) did not arrive in time.
    RequestTimeout,
    /// 413: the body is larger than the `limit` the application set for
    /// this request (0: it takes no body).
    ContentTooLarge {
        /// The most body bytes this request could have had.
        limit: usize,
    },
    /// 414: the request line is longer than `MAX_REQUEST_LINE`.
    UriTooLong,
    /// 431: the header section (or the trailers) is larger than allowed.
    HeaderFieldsTooLarge,
    /// 501: a Transfer-Encoding other than `chunked`.
    NotImplemented(&'static str),
    /// 505: an HTTP version other than 1.0 and 1.1.
    VersionNotSupported,
    /// 503: every connection slot is taken; sent without reading a request.
    ServiceUnavailable,
}

impl HttpError {
    /// The response status for this error.
    pub fn status(&self) -> u16 {
        match self {
            HttpError::BadRequest(_) => 400,
            HttpError::RequestTimeout => 408,
            HttpError::ContentTooLarge { .. } => 413,
            HttpError::UriTooLong => 414,
            HttpError::HeaderFieldsTooLarge => 431,
            HttpError::NotImplemented(_) => 501,
            HttpError::VersionNotSupported => 505,
            HttpError::ServiceUnavailable => 503,
        }
    }

    /// The response http-raw sends for this error, before the application
    /// has its say: the status and a line of text saying why, e.g.
    /// `413 Content Too Large: the body is larger than 1048576 bytes`.
    pub fn to_response(&self) -> Response {
        let status = self.status();
        let response = Response::text(
            status,
            format!("{status} {}: {self}\n", reason_phrase(status)),
        );
        match self {
            HttpError::ServiceUnavailable => {
                response.with_header("Retry-After", RETRY_AFTER_SECS.to_string())
            }
            _ => response,
        }
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::BadRequest(why) => f.write_str(why),
            HttpError::RequestTimeout => f.write_str("the request did not arrive in time"),
            HttpError::ContentTooLarge { limit: 0 } => f.write_str("this request takes no body"),
            HttpError::ContentTooLarge { limit } => {
                write!(f, "the body is larger than {limit} bytes")
            }
            HttpError::UriTooLong => write!(
                f,
                "the request line is longer than {} bytes",
                crate::limits::MAX_REQUEST_LINE
            ),
            HttpError::HeaderFieldsTooLarge => write!(
                f,
                "the header section is larger than {} bytes (or has more than {} fields)",
                crate::limits::MAX_HEADER_SECTION,
                crate::limits::MAX_HEADERS
            ),
            HttpError::NotImplemented(why) => f.write_str(why),
            HttpError::VersionNotSupported => {
                f.write_str("only HTTP/1.0 and HTTP/1.1 are supported")
            }
            HttpError::ServiceUnavailable => write!(
                f,
                "the server is at its connection limit; try again in {RETRY_AFTER_SECS} s"
            ),
        }
    }
}

impl std::error::Error for HttpError {}
