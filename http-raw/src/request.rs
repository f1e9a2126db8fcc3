//! `Request`: what the handler gets, a parsed head plus the whole body.
//!
//! What to notice: the request does not copy its header names and values into
//! `String`s. It keeps the head's bytes exactly as they arrived (a `Bytes`,
//! a reference-counted slice of the connection's read buffer) and, for each
//! header, where its name and value lie in those bytes. Reading a header is
//! slicing, not allocating. Names are compared case-insensitively, as HTTP
//! requires (`Host`, `host` and `HOST` are the same field).

use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;

use bytes::Bytes;

/// The request method. The common ones are variants, so routing compares
/// enums instead of strings; any other valid token is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// GET: fetch a resource.
    Get,
    /// HEAD: like GET, but the response has no body.
    Head,
    /// POST: send data to be processed.
    Post,
    /// PUT: replace a resource.
    Put,
    /// DELETE: remove a resource.
    Delete,
    /// PATCH: change part of a resource.
    Patch,
    /// OPTIONS: ask what is allowed.
    Options,
    /// Any other method token; its name is in [`Request::method_str`].
    Other,
}

impl Method {
    /// Recognises a method token (case-sensitive, as RFC 9110 says).
    pub fn from_token(token: &str) -> Method {
        match token {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "PATCH" => Method::Patch,
            "OPTIONS" => Method::Options,
            _ => Method::Other,
        }
    }

    /// The method's name, as in the request line (`OTHER` for `Other`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Patch => "PATCH",
            Method::Options => "OPTIONS",
            Method::Other => "OTHER",
        }
    }
}

/// The HTTP version of a request. Anything else is refused with 505.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// HTTP/1.0: one request per connection unless the client asks for keep-alive.
    Http10,
    /// HTTP/1.1: connections stay open by default.
    Http11,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        })
    }
}

/// Where one header's name and value are in the head's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeaderSpan {
    pub(crate) name: Range<usize>,
    pub(crate) value: Range<usize>,
}

/// One HTTP request: method, target, version, headers and body.
#[derive(Clone)]
pub struct Request {
    /// The head exactly as received: request line, headers, blank line.
    pub(crate) head: Bytes,
    pub(crate) method: Method,
    pub(crate) method_span: Range<usize>,
    pub(crate) target: Range<usize>,
    pub(crate) version: Version,
    pub(crate) headers: Vec<HeaderSpan>,
    /// The whole body, already de-chunked; empty if there was none.
    pub(crate) body: Bytes,
    pub(crate) peer: Option<SocketAddr>,
}

impl Request {
    /// The method, for matching.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The method's name as sent, e.g. `GET` or `PROPFIND`.
    pub fn method_str(&self) -> &str {
        self.text(self.method_span.clone())
    }

    /// The request target as sent: `/search?q=rust`.
    pub fn target(&self) -> &str {
        self.text(self.target.clone())
    }

    /// The target's path, without the query: `/search`.
    pub fn path(&self) -> &str {
        path_of_target(self.target())
    }

    /// The query string after `?`, if any: `q=rust`.
    pub fn query(&self) -> Option<&str> {
        let target = self.target();
        Some(&target[query_mark(target)? + 1..])
    }

    /// The value of query parameter `name`, as sent (not percent-decoded).
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query()?
            .split('&')
            .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value)
    }

    /// HTTP/1.0 or HTTP/1.1.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The first header named `name` (any case), if its value is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_bytes(name)
            .and_then(|value| std::str::from_utf8(value).ok())
    }

    /// The first header named `name` (any case), as raw bytes.
    pub fn header_bytes(&self, name: &str) -> Option<&[u8]> {
        // Names compared as bytes: turning each into a `&str` first (as
        // `headers()` does) would check every name's UTF-8 on every lookup.
        self.headers
            .iter()
            .find(|span| self.head[span.name.clone()].eq_ignore_ascii_case(name.as_bytes()))
            .map(|span| &self.head[span.value.clone()])
    }

    /// Every header in the order received, as (name, value) pairs.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.headers
            .iter()
            .map(|span| (self.text(span.name.clone()), &self.head[span.value.clone()]))
    }

    /// Whether the comma-separated header `name` lists `token` (any case),
    /// as in `Connection: keep-alive, Upgrade`.
    pub fn header_has_token(&self, name: &str, token: &str) -> bool {
        self.headers()
            .filter(|(header, _)| header.eq_ignore_ascii_case(name))
            .any(|(_, value)| has_token(value, token))
    }

    /// The body (de-chunked), empty if there was none.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The client's address and port (`None` for requests parsed in a test).
    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// The head's text in `range`. Request lines and header names were
    /// checked by httparse to be ASCII, so they are always valid UTF-8.
    fn text(&self, range: Range<usize>) -> &str {
        std::str::from_utf8(&self.head[range]).unwrap_or("")
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method_str())
            .field("target", &self.target())
            .field("version", &self.version)
            .field(
                "headers",
                &self
                    .headers()
                    .map(|(n, v)| (n, String::from_utf8_lossy(v)))
                    .collect::<Vec<_>>(),
            )
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// What follows `http://` or `https://` at the start of an absolute-form
/// target; `None` for any other target.
/// A request target's path, without the query: `/search?q=rust` is
/// `/search`, and so is `http://host/search`.
pub(crate) fn path_of_target(target: &str) -> &str {
    // The query goes first: whatever it holds (`?next=http://a/b`) never
    // changes the route.
    let target = query_mark(target).map_or(target, |mark| &target[..mark]);
    // An absolute-form target (`http://host/path`, sent to proxies) still
    // names a path; we serve it as if the client had sent the path alone.
    // It is recognised by its start only (RFC 9112 section 3.2.2): the
    // parser accepts no other target that does not begin with `/`.
    match strip_scheme(target) {
        Some(authority_and_path) => authority_and_path
            .find('/')
            .map_or("/", |slash| &authority_and_path[slash..]),
        None => target,
    }
}

/// Where the `?` that starts the query is in `target`, if it has one.
///
/// A plain loop over the bytes rather than `split_once('?')`: a target is a
/// few bytes long, too short for the fast search that `split_once` sets up
/// to pay, and the path and query are asked for several times a request.
fn query_mark(target: &str) -> Option<usize> {
    target.bytes().position(|byte| byte == b'?')
}

pub(crate) fn strip_scheme(target: &str) -> Option<&str> {
    target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
}

/// Whether a comma-separated header value contains `token`, ignoring case
/// and the optional whitespace around commas.
pub(crate) fn has_token(value: &[u8], token: &str) -> bool {
    value
        .split(|&byte| byte == b',')
        .any(|item| item.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}
