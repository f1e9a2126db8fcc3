//! The router: from a method and a path to a handler and its parameters.
//!
//! What to notice: lesson 3 routed with a `match` on the path. That stops
//! working as soon as paths carry data (`/api/plants/42`): you would need an
//! arm per plant. A router matches *patterns* instead:
//!
//! | pattern | matches | parameters |
//! |---|---|---|
//! | `/api/plants` | `/api/plants` | none |
//! | `/api/plants/:id` | `/api/plants/42` | `id = "42"` |
//! | `/files/*rest` | `/files/a/b.txt` | `rest = "a/b.txt"` |
//!
//! The path is split on `/` *first* and each segment percent-decoded *after*,
//! so `%2F` inside a segment stays inside its parameter and cannot invent a
//! new segment. When several patterns match, the most specific wins: a
//! literal segment beats a `:param`, which beats a `*tail`, segment by segment
//! from the left; so `/api/plants/new` can sit beside `/api/plants/:id`.
//! When the path matches but the method does not, the answer is 405 with an
//! `Allow` header listing what would work, not 404; and `HEAD` is answered by
//! the `GET` route, since http-raw drops the body of a response to HEAD.

use std::borrow::Cow;

use http_raw::Method;
use percent_encoding::percent_decode_str;

/// One segment of a route pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// Must equal this text.
    Literal(String),
    /// `:name`: any one segment, captured.
    Param(String),
    /// `*name`: all the remaining segments (maybe none), captured.
    Tail(String),
}

impl Segment {
    /// Lower is more specific.
    fn rank(&self) -> u8 {
        match self {
            Segment::Literal(_) => 0,
            Segment::Param(_) => 1,
            Segment::Tail(_) => 2,
        }
    }
}

/// A parsed route pattern such as `/api/plants/:id`.
#[derive(Debug, Clone)]
pub struct Pattern {
    segments: Vec<Segment>,
}

impl Pattern {
    /// Parses a pattern. Panics on a malformed one: patterns are written by
    /// the programmer at start-up, so a typo should stop the program at once
    /// rather than 404 at run time.
    pub fn parse(text: &str) -> Pattern {
        assert!(
            text.starts_with('/'),
            "route pattern {text:?} must start with /"
        );
        let parts: Vec<&str> = split(text).collect();
        let segments: Vec<Segment> = parts
            .iter()
            .enumerate()
            .map(
                |(index, part)| match (part.strip_prefix(':'), part.strip_prefix('*')) {
                    (Some(name), _) if !name.is_empty() => Segment::Param(name.to_string()),
                    (_, Some(name)) if !name.is_empty() => {
                        assert!(
                            index == parts.len() - 1,
                            "in {text:?}, *{name} must be the last segment"
                        );
                        Segment::Tail(name.to_string())
                    }
                    _ => Segment::Literal(part.to_string()),
                },
            )
            .collect();
        Pattern { segments }
    }

    /// Whether a path of `count` segments could match: without a `*tail`,
    /// the number of segments must be equal. Every route is tried for every
    /// request, so `Router::find` asks this first: it rules most routes out
    /// without a call to `matches`.
    fn could_match(&self, count: usize) -> bool {
        count == self.segments.len() || matches!(self.segments.last(), Some(Segment::Tail(_)))
    }

    /// Matches decoded path segments; returns the captured parameters.
    fn matches(&self, path: &[Cow<'_, str>]) -> Option<Params> {
        let mut params = Vec::new();
        for (index, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Tail(name) => {
                    params.push((
                        name.clone(),
                        path.get(index..).unwrap_or_default().join("/"),
                    ));
                    return Some(params);
                }
                Segment::Literal(text) => {
                    if path.get(index).map(AsRef::as_ref) != Some(text.as_str()) {
                        return None;
                    }
                }
                Segment::Param(name) => params.push((name.clone(), path.get(index)?.to_string())),
            }
        }
        (path.len() == self.segments.len()).then_some(params)
    }

    fn ranks(&self) -> impl Iterator<Item = u8> + '_ {
        self.segments.iter().map(Segment::rank)
    }
}

/// The path's segments. One trailing slash is ignored (`/api/plants/` is
/// `/api/plants`); the root `/` has no segments.
fn split(path: &str) -> impl Iterator<Item = &str> {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    trimmed.split('/').filter(move |_| !trimmed.is_empty())
}

/// Captured path parameters: (name, decoded value).
pub type Params = Vec<(String, String)>;

/// What the router found for a request.
#[derive(Debug)]
pub enum Routed<'a, H> {
    /// This handler, with these parameters.
    Found(&'a H, Params),
    /// The path exists, but not for this method; `Allow` lists those that are.
    WrongMethod(String),
    /// No pattern matches the path.
    NotFound,
    /// The path cannot be decoded (percent-encoding that is not UTF-8).
    BadPath,
}

/// Routes: (method, pattern) -> handler.
#[derive(Debug)]
pub struct Router<H> {
    routes: Vec<(Method, Pattern, H)>,
}

impl<H> Default for Router<H> {
    fn default() -> Self {
        Router { routes: Vec::new() }
    }
}

impl<H> Router<H> {
    /// An empty router.
    pub fn new() -> Router<H> {
        Router::default()
    }

    /// Adds a route.
    pub fn add(&mut self, method: Method, pattern: &str, handler: H) {
        self.routes.push((method, Pattern::parse(pattern), handler));
    }

    // ANCHOR: find
    /// Finds the handler for `method` and `path` (the raw path, as sent).
    pub fn find(&self, method: Method, path: &str) -> Routed<'_, H> {
        let mut segments = Vec::new();
        for raw in split(path) {
            // Most segments have no `%`: they are already what they mean,
            // and decoding them would only check their UTF-8 again.
            // (A plain loop rather than `contains`: segments are too short
            // for its fast search to pay for setting it up.)
            if !raw.bytes().any(|byte| byte == b'%') {
                segments.push(Cow::Borrowed(raw));
                continue;
            }
            match percent_decode_str(raw).decode_utf8() {
                Ok(segment) => segments.push(segment),
                Err(_) => return Routed::BadPath,
            }
        }

        let mut best: Option<(&Pattern, &H, Params)> = None;
        let mut allowed: Vec<Method> = Vec::new();
        for (route_method, pattern, handler) in &self.routes {
            if !pattern.could_match(segments.len()) {
                continue;
            }
            let Some(params) = pattern.matches(&segments) else {
                continue;
            };
            let method_fits =
                *route_method == method || (method == Method::Head && *route_method == Method::Get);
            if !method_fits {
                allowed.push(*route_method);
                continue;
            }
            let more_specific = best
                .as_ref()
                .is_none_or(|(current, _, _)| pattern.ranks().lt(current.ranks()));
            if more_specific {
                best = Some((pattern, handler, params));
            }
        }
        match best {
            Some((_, handler, params)) => Routed::Found(handler, params),
            None if allowed.is_empty() => Routed::NotFound,
            None => Routed::WrongMethod(allow_header(allowed)),
        }
    }
    // ANCHOR_END: find
}

/// `GET, HEAD, POST`: each method once, HEAD wherever GET is.
fn allow_header(mut methods: Vec<Method>) -> String {
    if methods.contains(&Method::Get) {
        methods.push(Method::Head);
    }
    let mut names: Vec<&str> = methods.iter().map(Method::as_str).collect();
    names.sort_unstable();
    names.dedup();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router() -> Router<&'static str> {
        let mut router = Router::new();
        router.add(Method::Get, "/", "root");
        router.add(Method::Get, "/api/plants", "list");
        router.add(Method::Post, "/api/plants", "create");
        router.add(Method::Get, "/api/plants/:id", "get");
        router.add(Method::Delete, "/api/plants/:id", "delete");
        router.add(Method::Get, "/api/plants/new", "form");
        router.add(Method::Get, "/files/*rest", "files");
        router
    }

    fn found(method: Method, path: &str) -> (&'static str, Params) {
        match router().find(method, path) {
            Routed::Found(handler, params) => (*handler, params),
            other => panic!("{method:?} {path}: expected a route, got {other:?}"),
        }
    }

    fn param(name: &str, value: &str) -> (String, String) {
        (name.to_string(), value.to_string())
    }

    #[test]
    fn literal_paths_and_the_root() {
        assert_eq!(found(Method::Get, "/").0, "root");
        assert_eq!(found(Method::Get, "/api/plants").0, "list");
        assert_eq!(found(Method::Post, "/api/plants").0, "create");
        assert_eq!(
            found(Method::Get, "/api/plants/").0,
            "list",
            "one trailing slash is ignored"
        );
    }

    #[test]
    fn parameters_are_captured_and_decoded() {
        assert_eq!(
            found(Method::Get, "/api/plants/42"),
            ("get", vec![param("id", "42")])
        );
        assert_eq!(
            found(Method::Get, "/api/plants/a%20b"),
            ("get", vec![param("id", "a b")])
        );
        // An encoded slash stays inside its segment.
        assert_eq!(
            found(Method::Get, "/api/plants/a%2Fb"),
            ("get", vec![param("id", "a/b")])
        );
    }

    #[test]
    fn a_literal_beats_a_parameter_whatever_the_order_of_registration() {
        assert_eq!(found(Method::Get, "/api/plants/new").0, "form");
        assert_eq!(found(Method::Get, "/api/plants/old").0, "get");
    }

    #[test]
    fn a_tail_takes_the_rest_of_the_path() {
        assert_eq!(
            found(Method::Get, "/files/a/b/c.txt"),
            ("files", vec![param("rest", "a/b/c.txt")])
        );
        assert_eq!(
            found(Method::Get, "/files"),
            ("files", vec![param("rest", "")])
        );
    }

    #[test]
    fn head_uses_the_get_route() {
        assert_eq!(found(Method::Head, "/api/plants").0, "list");
    }

    #[test]
    fn unknown_paths_are_not_found_and_wrong_methods_list_what_is_allowed() {
        assert!(matches!(
            router().find(Method::Get, "/nope"),
            Routed::NotFound
        ));
        assert!(matches!(
            router().find(Method::Get, "/api/plants/1/leaves"),
            Routed::NotFound
        ));
        assert!(matches!(
            router().find(Method::Get, "/api"),
            Routed::NotFound
        ));
        match router().find(Method::Put, "/api/plants/7") {
            Routed::WrongMethod(allow) => assert_eq!(allow, "DELETE, GET, HEAD"),
            other => panic!("expected 405, got {other:?}"),
        }
        match router().find(Method::Delete, "/api/plants") {
            Routed::WrongMethod(allow) => assert_eq!(allow, "GET, HEAD, POST"),
            other => panic!("expected 405, got {other:?}"),
        }
    }

    #[test]
    fn a_path_that_does_not_decode_is_refused() {
        assert!(matches!(
            router().find(Method::Get, "/api/plants/%ff"),
            Routed::BadPath
        ));
    }
}
