//! The request parser: from bytes to a request head, or "not yet", or an error.
//!
//! What to notice:
//! - **Three outcomes.** `parse_head` returns `Ok(Some(head))` for a complete
//!   head, `Ok(None)` for "read more" (httparse's `Partial`), or the error
//!   that decides the response status. A request split anywhere, even one
//!   byte per read, parses the same as one that arrives whole: we simply try
//!   again with more bytes.
//! - **Limits are checked on every `Partial`**, not only on success:
//!   otherwise a client that never finishes its head would make us buffer
//!   forever (httparse's own docs warn about exactly this loop).
//! - **httparse checks the syntax; we check the meaning.** httparse finds the
//!   method, target, version and header lines and refuses invalid characters
//!   (a space before a colon, a control character in a value, a folded line).
//!   This file then decides what the headers *mean* for framing: where the
//!   body ends, and whether that is ambiguous. Ambiguous framing (both
//!   Content-Length and Transfer-Encoding, two Content-Lengths, ...) is how
//!   request smuggling works: a proxy and a server disagree on where one
//!   request ends, and the attacker's second request hides in the first one's
//!   body. The only safe answer is 400 and close.

use std::mem::MaybeUninit;

use bytes::Bytes;

use crate::error::HttpError;
use crate::limits::{MAX_HEADER_SECTION, MAX_HEADERS, MAX_REQUEST_LINE};
use crate::request::{
    HeaderSpan, Method, Request, Version, has_token, path_of_target, strip_scheme,
};

/// At most this many empty lines before a request line are skipped
/// (RFC 9112 section 2.2 asks servers to ignore at least one).
const MAX_LEADING_EMPTY_LINES: usize = 8;

/// How the request's body is delimited (RFC 9112 section 6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body: neither Content-Length nor Transfer-Encoding.
    None,
    /// Exactly this many bytes follow the head. Whether that is too many is
    /// for the application to say (`Service::body_limit`), before we read them.
    Length(u64),
    /// `Transfer-Encoding: chunked`: chunks until a zero-size chunk.
    Chunked,
}

/// A complete, valid request head, as positions in the bytes it was parsed from.
#[derive(Debug, Clone)]
pub struct ParsedHead {
    /// Empty lines before the request line, to be dropped.
    pub skip: usize,
    /// Length of the head after `skip`, up to and including the blank line.
    pub len: usize,
    pub(crate) method: Method,
    pub(crate) method_span: std::ops::Range<usize>,
    pub(crate) target: std::ops::Range<usize>,
    pub(crate) version: Version,
    pub(crate) headers: Vec<HeaderSpan>,
    /// Where the body ends, or why the headers make that unknowable. A
    /// refusal found here still comes with a parsed head, so the
    /// application can see which route it was for when it shapes the error.
    pub framing: Result<Framing, HttpError>,
    /// `Connection: close` was sent.
    pub connection_close: bool,
    /// `Connection: keep-alive` was sent (matters for HTTP/1.0).
    pub connection_keep_alive: bool,
    /// `Expect: 100-continue` was sent.
    pub expect_continue: bool,
}

impl ParsedHead {
    /// Turns the parsed positions into a `Request` that owns `head`, the
    /// bytes they point into (after `skip`), and `body`.
    pub fn into_request(
        self,
        head: Bytes,
        body: Bytes,
        peer: Option<std::net::SocketAddr>,
    ) -> Request {
        Request {
            head,
            method: self.method,
            method_span: self.method_span,
            target: self.target,
            version: self.version,
            headers: self.headers,
            body,
            peer,
        }
    }
}

// ANCHOR: parse_head
/// Parses a request head from the start of `buf`.
///
/// `Ok(None)` means the head is not complete yet: read more and call again
/// with the longer buffer. Bytes after the head (a body, or the next
/// pipelined request) are not looked at.
pub fn parse_head(buf: &[u8]) -> Result<Option<ParsedHead>, HttpError> {
    let skip = leading_empty_lines(buf)?;
    let buf = &buf[skip..];
    if buf.is_empty() {
        return Ok(None);
    }

    // Room for MAX_HEADERS headers, left uninitialised: httparse fills in
    // only as many as the request has (zeroing 100 slots first would cost
    // more than parsing a small request).
    let mut header_slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut []);
    let len = match parsed.parse_with_uninit_headers(buf, &mut header_slots) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => {
            // Not complete: make sure it is not growing past a limit.
            check_sizes(buf, None)?;
            return Ok(None);
        }
        Err(error) => return Err(syntax_error(error, buf)),
    };
    check_sizes(buf, Some(len))?;
    let head = &buf[..len];
    if has_bare_lf(head) {
        return Err(HttpError::BadRequest(
            "a line ends in a bare LF: HTTP lines end with CRLF (\\r\\n); with nc, use `nc -C`",
        ));
    }

    // httparse filled these in, since the status is Complete.
    let (Some(method), Some(target), Some(minor)) = (parsed.method, parsed.path, parsed.version)
    else {
        return Err(HttpError::BadRequest("incomplete request line"));
    };
    let version = if minor == 0 {
        Version::Http10
    } else {
        Version::Http11
    };
    let method_kind = Method::from_token(method);
    check_target(target, method_kind)?;

    let headers: Vec<HeaderSpan> = parsed
        .headers
        .iter()
        .map(|header| HeaderSpan {
            name: span_of(head, header.name.as_bytes()),
            value: span_of(head, header.value),
        })
        .collect();
    let meaning = HeaderMeaning::of(parsed.headers);

    Ok(Some(ParsedHead {
        skip,
        len,
        method: method_kind,
        method_span: span_of(head, method.as_bytes()),
        target: span_of(head, target.as_bytes()),
        version,
        headers,
        framing: meaning.framing(version),
        connection_close: meaning.connection_close,
        connection_keep_alive: meaning.connection_keep_alive,
        expect_continue: meaning.expect_continue,
    }))
}
// ANCHOR_END: parse_head

/// Counts the CRLFs before the request line.
fn leading_empty_lines(buf: &[u8]) -> Result<usize, HttpError> {
    let mut skip = 0;
    while buf[skip..].starts_with(b"\r\n") {
        skip += 2;
        if skip / 2 > MAX_LEADING_EMPTY_LINES {
            return Err(HttpError::BadRequest(
                "too many empty lines before the request line",
            ));
        }
    }
    Ok(skip)
}

// ANCHOR: check_sizes
/// The size limits, checked on partial and complete heads alike:
/// 414 for a long request line, 431 for a large header section.
fn check_sizes(buf: &[u8], complete_len: Option<usize>) -> Result<(), HttpError> {
    let Some(newline) = memchr::memchr(b'\n', buf) else {
        // The request line has not ended yet. (+1: room for its CR.)
        return if buf.len() > MAX_REQUEST_LINE + 1 {
            Err(HttpError::UriTooLong)
        } else {
            Ok(())
        };
    };
    let line_len = newline - usize::from(newline > 0 && buf[newline - 1] == b'\r');
    if line_len > MAX_REQUEST_LINE {
        return Err(HttpError::UriTooLong);
    }
    let head_len = complete_len.unwrap_or(buf.len());
    if head_len - (newline + 1) > MAX_HEADER_SECTION {
        return Err(HttpError::HeaderFieldsTooLarge);
    }
    Ok(())
}
// ANCHOR_END: check_sizes

/// The path a request was for, read from its request line alone, for a
/// request refused before its head could be parsed: a head too large (431),
/// an HTTP version we do not speak (505), a request line too long (414; its
/// target as far as it arrived). The application can then still answer in
/// the shape its routes use (lesson 4: JSON under `/api`). `None` when the
/// bytes do not get as far as a target that starts like one.
pub fn path_of_request_line(buf: &[u8]) -> Option<&str> {
    let buf = &buf[leading_empty_lines(buf).ok()?..];
    let line = &buf[..memchr::memchr(b'\n', buf).unwrap_or(buf.len())];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut parts = line.split(|&byte| byte == b' ');
    let (Some(_method), Some(target)) = (parts.next(), parts.next()) else {
        return None;
    };
    // The characters httparse allows in a target; anything else is not one.
    if !target.iter().all(u8::is_ascii_graphic) {
        return None;
    }
    let target = std::str::from_utf8(target).ok()?;
    (target.starts_with('/') || strip_scheme(target).is_some()).then(|| path_of_target(target))
}

/// What httparse's syntax errors mean for the client.
fn syntax_error(error: httparse::Error, buf: &[u8]) -> HttpError {
    match error {
        httparse::Error::TooManyHeaders => HttpError::HeaderFieldsTooLarge,
        httparse::Error::Version if looks_like_http_version(buf) => HttpError::VersionNotSupported,
        httparse::Error::Version => HttpError::BadRequest("invalid HTTP version"),
        httparse::Error::Token => HttpError::BadRequest("invalid request line"),
        httparse::Error::HeaderName => HttpError::BadRequest(
            "invalid header name (a space before the colon, or a folded line?)",
        ),
        httparse::Error::HeaderValue => {
            HttpError::BadRequest("invalid character in a header value")
        }
        httparse::Error::NewLine => HttpError::BadRequest("malformed line ending (a bare CR?)"),
        _ => HttpError::BadRequest("malformed request"),
    }
}

/// Whether the request line ends in a well-formed `HTTP/d.d` that is merely
/// not one we speak (505), rather than garbage (400).
fn looks_like_http_version(buf: &[u8]) -> bool {
    let line_end = memchr::memchr(b'\n', buf).unwrap_or(buf.len());
    let line = buf[..line_end]
        .strip_suffix(b"\r")
        .unwrap_or(&buf[..line_end]);
    // Exactly three parts, `METHOD TARGET VERSION`: `GET /a b HTTP/1.1` is
    // a broken target, not an unsupported version.
    let parts: Vec<&[u8]> = line.split(|&byte| byte == b' ').collect();
    matches!(parts[..], [_, _, [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]]
        if major.is_ascii_digit() && minor.is_ascii_digit())
}

/// A `\n` not preceded by `\r`. httparse accepts bare LF line endings (RFC
/// 9112 allows it); we refuse them, because a proxy in front of us that does
/// not would see different lines than we do.
fn has_bare_lf(head: &[u8]) -> bool {
    memchr::memchr_iter(b'\n', head).any(|at| at == 0 || head[at - 1] != b'\r')
}

/// The request target forms we serve (RFC 9112 section 3.2): origin-form
/// (`/path?query`), absolute-form (`http://host/path`), and `*` for OPTIONS.
fn check_target(target: &str, method: Method) -> Result<(), HttpError> {
    let valid = target.starts_with('/')
        || (target == "*" && method == Method::Options)
        || strip_scheme(target).is_some();
    if valid {
        Ok(())
    } else {
        Err(HttpError::BadRequest(
            "the request target must start with /",
        ))
    }
}

/// Where `part` (a sub-slice of `head`, as httparse returns them) lies in `head`.
fn span_of(head: &[u8], part: &[u8]) -> std::ops::Range<usize> {
    let start = part.as_ptr() as usize - head.as_ptr() as usize;
    start..start + part.len()
}

// ANCHOR: header_meaning
/// What the headers that matter to the connection say.
#[derive(Debug, Default)]
struct HeaderMeaning {
    hosts: usize,
    content_lengths: usize,
    content_length: Option<u64>,
    invalid_content_length: bool,
    transfer_encoding: bool,
    empty_transfer_encoding: bool,
    chunked_only: bool,
    connection_close: bool,
    connection_keep_alive: bool,
    expect_continue: bool,
}

impl HeaderMeaning {
    fn of(headers: &[httparse::Header<'_>]) -> HeaderMeaning {
        let mut meaning = HeaderMeaning::default();
        let mut codings = 0;
        for header in headers {
            let name = header.name;
            if name.eq_ignore_ascii_case("host") {
                meaning.hosts += 1;
            } else if name.eq_ignore_ascii_case("content-length") {
                meaning.content_lengths += 1;
                match parse_content_length(header.value) {
                    Some(length) => meaning.content_length = Some(length),
                    None => meaning.invalid_content_length = true,
                }
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                meaning.transfer_encoding = true;
                for coding in header.value.split(|&byte| byte == b',') {
                    let coding = coding.trim_ascii();
                    if coding.is_empty() {
                        continue;
                    }
                    codings += 1;
                    meaning.chunked_only = codings == 1 && coding.eq_ignore_ascii_case(b"chunked");
                }
                meaning.empty_transfer_encoding |= codings == 0;
            } else if name.eq_ignore_ascii_case("connection") {
                meaning.connection_close |= has_token(header.value, "close");
                meaning.connection_keep_alive |= has_token(header.value, "keep-alive");
            } else if name.eq_ignore_ascii_case("expect") {
                meaning.expect_continue |= header.value.eq_ignore_ascii_case(b"100-continue");
            }
        }
        meaning
    }

    /// Decides where the body ends, refusing every ambiguous combination
    /// (RFC 9112 sections 3.2 and 6).
    fn framing(&self, version: Version) -> Result<Framing, HttpError> {
        if version == Version::Http11 && self.hosts == 0 {
            return Err(HttpError::BadRequest(
                "missing Host header (required in HTTP/1.1)",
            ));
        }
        if self.hosts > 1 {
            return Err(HttpError::BadRequest("more than one Host header"));
        }
        if self.invalid_content_length {
            return Err(HttpError::BadRequest("invalid Content-Length"));
        }
        if self.empty_transfer_encoding {
            return Err(HttpError::BadRequest("empty Transfer-Encoding"));
        }
        if self.transfer_encoding {
            if self.content_lengths > 0 {
                return Err(HttpError::BadRequest(
                    "both Content-Length and Transfer-Encoding: the body's end is ambiguous",
                ));
            }
            if version == Version::Http10 {
                return Err(HttpError::BadRequest(
                    "Transfer-Encoding in an HTTP/1.0 request",
                ));
            }
            if !self.chunked_only {
                return Err(HttpError::NotImplemented(
                    "the only Transfer-Encoding supported is chunked",
                ));
            }
            return Ok(Framing::Chunked);
        }
        if self.content_lengths > 1 {
            return Err(HttpError::BadRequest("more than one Content-Length"));
        }
        match self.content_length {
            None | Some(0) => Ok(Framing::None),
            Some(length) => Ok(Framing::Length(length)),
        }
    }
}
// ANCHOR_END: header_meaning

/// `Content-Length: 42`: digits only. No sign, no spaces inside, no list
/// (`42, 42`), not empty, and small enough to be a number at all.
fn parse_content_length(value: &[u8]) -> Option<u64> {
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        value
            .iter()
            .fold(0u64, |number, digit| number * 10 + u64::from(digit - b'0')),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &[u8] =
        b"POST /echo?x=1 HTTP/1.1\r\nHost: example\r\nContent-Length: 5\r\nX-Empty:\r\n\r\nhello";

    #[test]
    fn every_proper_prefix_of_a_head_is_partial_and_the_whole_is_complete() {
        let head_len = VALID.len() - "hello".len();
        for end in 0..head_len {
            assert!(
                matches!(parse_head(&VALID[..end]), Ok(None)),
                "prefix of {end} bytes: {:?}",
                parse_head(&VALID[..end]).map(|head| head.map(|head| head.len))
            );
        }
        let head = parse_head(VALID).expect("valid").expect("complete");
        assert_eq!(head.len, head_len, "the body is not part of the head");
        assert_eq!(head.framing, Ok(Framing::Length(5)));
    }

    #[test]
    fn the_parsed_head_points_at_the_right_bytes() {
        let head = parse_head(VALID).expect("valid").expect("complete");
        let bytes = Bytes::copy_from_slice(&VALID[..head.len]);
        let request = head.into_request(bytes, Bytes::from_static(b"hello"), None);
        assert_eq!(request.method(), Method::Post);
        assert_eq!(request.target(), "/echo?x=1");
        assert_eq!(request.path(), "/echo");
        assert_eq!(request.query_param("x"), Some("1"));
        assert_eq!(request.header("HOST"), Some("example"));
        assert_eq!(request.header("x-empty"), Some(""));
        assert_eq!(request.body().as_ref(), b"hello");
    }

    /// A request line of exactly `len` bytes (without CRLF), and a Host.
    fn request_line(len: usize) -> Vec<u8> {
        let path = "a".repeat(len - "GET / HTTP/1.1".len());
        format!("GET /{path} HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes()
    }

    /// Parses `head` as if it arrived in two reads, the first ending at
    /// `split`: the first must be "read more" (or already the error), and
    /// the result is that of the whole.
    fn parse_in_two_reads(head: &[u8], split: usize) -> Result<bool, HttpError> {
        match parse_head(&head[..split]) {
            Ok(None) => {}
            Ok(Some(_)) => panic!("complete after {split} bytes"),
            Err(error) => return Err(error),
        }
        parse_head(head).map(|parsed| parsed.is_some())
    }

    #[test]
    fn request_line_limit_holds_at_the_boundary_and_before_the_line_ends() {
        for len in [MAX_REQUEST_LINE - 1, MAX_REQUEST_LINE] {
            let head = request_line(len);
            assert!(
                parse_head(&head).expect("within the cap").is_some(),
                "{len}"
            );
            // The line's last byte in one read, its CRLF in the next.
            assert_eq!(parse_in_two_reads(&head, len), Ok(true), "{len}, split");
        }
        let over = request_line(MAX_REQUEST_LINE + 1);
        assert_eq!(
            parse_in_two_reads(&over, MAX_REQUEST_LINE),
            Err(HttpError::UriTooLong),
            "crossed by the second read"
        );
        assert_eq!(
            parse_head(&request_line(MAX_REQUEST_LINE + 1)).err(),
            Some(HttpError::UriTooLong)
        );
        // Not finished yet, but already too long: no need to wait for the rest.
        let unfinished = &request_line(MAX_REQUEST_LINE + 10)[..MAX_REQUEST_LINE + 5];
        assert_eq!(parse_head(unfinished).err(), Some(HttpError::UriTooLong));
    }

    /// A head whose header section is exactly `len` bytes.
    fn header_section(len: usize) -> Vec<u8> {
        let fixed = "Host: x\r\nX-Fill: \r\n\r\n".len();
        format!(
            "GET / HTTP/1.1\r\nHost: x\r\nX-Fill: {}\r\n\r\n",
            "f".repeat(len - fixed)
        )
        .into_bytes()
    }

    #[test]
    fn header_section_limit_holds_at_the_boundary_and_across_reads() {
        for len in [MAX_HEADER_SECTION - 1, MAX_HEADER_SECTION] {
            let head = header_section(len);
            assert!(
                parse_head(&head).expect("within the cap").is_some(),
                "{len}"
            );
            // All but the blank line in one read, the blank line in the next.
            let split = head.len() - 2;
            assert_eq!(parse_in_two_reads(&head, split), Ok(true), "{len}, split");
        }
        let over = header_section(MAX_HEADER_SECTION + 1);
        assert_eq!(
            parse_in_two_reads(&over, over.len() - 2),
            Err(HttpError::HeaderFieldsTooLarge),
            "crossed by the second read"
        );
        assert_eq!(
            parse_head(&header_section(MAX_HEADER_SECTION + 1)).err(),
            Some(HttpError::HeaderFieldsTooLarge)
        );
        // Crossed while still incomplete (the second read pushes it over).
        let big = header_section(MAX_HEADER_SECTION + 100);
        let partial = &big[..big.len() - 4];
        assert_eq!(
            parse_head(partial).err(),
            Some(HttpError::HeaderFieldsTooLarge)
        );
    }

    #[test]
    fn the_path_of_a_refused_request_comes_from_its_request_line_alone() {
        let cases: &[(&[u8], Option<&str>)] = &[
            (
                b"GET /api/plants?x=1 HTTP/2.0\r\nHost: t\r\n\r\n",
                Some("/api/plants"),
            ),
            (b"\r\nGET /api HTTP/1.1\r\nX-Big: ", Some("/api")),
            (b"GET http://host/api/a HTTP/1.1\r\n", Some("/api/a")),
            (b"GET /api/aaaaaaaa", Some("/api/aaaaaaaa")),
            (b"NOT HTTP AT ALL\r\n\r\n", None),
            (b"GET", None),
            (b"", None),
            (b"GET /a\x01b HTTP/1.1\r\n", None),
        ];
        for (bytes, path) in cases {
            assert_eq!(
                path_of_request_line(bytes),
                *path,
                "{}",
                bytes.escape_ascii()
            );
        }
    }

    /// A head with `count` header fields, Host among them.
    fn header_fields(count: usize) -> Vec<u8> {
        let mut head = String::from("GET / HTTP/1.1\r\nHost: x\r\n");
        for n in 1..count {
            head.push_str(&format!("X-{n}: v\r\n"));
        }
        head.push_str("\r\n");
        head.into_bytes()
    }

    #[test]
    fn header_count_limit_holds_at_99_100_and_101_also_across_reads() {
        for count in [MAX_HEADERS - 1, MAX_HEADERS] {
            let head = header_fields(count);
            assert!(
                parse_head(&head).expect("within the cap").is_some(),
                "{count}"
            );
            assert_eq!(
                parse_in_two_reads(&head, head.len() - 2),
                Ok(true),
                "{count}, split"
            );
        }
        let over = header_fields(MAX_HEADERS + 1);
        assert_eq!(
            parse_head(&over).err(),
            Some(HttpError::HeaderFieldsTooLarge)
        );
        // The 101st field is refused as soon as it has arrived, before the
        // blank line that would end the head.
        assert_eq!(
            parse_head(&over[..over.len() - 2]).err(),
            Some(HttpError::HeaderFieldsTooLarge)
        );
    }

    #[test]
    fn empty_lines_before_the_request_line_are_skipped_up_to_8() {
        for (empty_lines, skipped) in [(7, true), (8, true), (9, false)] {
            let head = format!(
                "{}GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                "\r\n".repeat(empty_lines)
            );
            assert_eq!(
                parse_head(head.as_bytes()).is_ok(),
                skipped,
                "{empty_lines}"
            );
        }
    }

    #[test]
    fn framing_table() {
        let cases: &[(&str, Result<Framing, HttpError>)] = &[
            ("Host: x\r\n", Ok(Framing::None)),
            ("Host: x\r\nContent-Length: 0\r\n", Ok(Framing::None)),
            ("Host: x\r\nContent-Length: 7\r\n", Ok(Framing::Length(7))),
            (
                "Host: x\r\nTransfer-Encoding: chunked\r\n",
                Ok(Framing::Chunked),
            ),
            (
                "Host: x\r\nContent-Length: 7\r\nTransfer-Encoding: chunked\r\n",
                Err(HttpError::BadRequest(
                    "both Content-Length and Transfer-Encoding: the body's end is ambiguous",
                )),
            ),
            (
                "Host: x\r\nContent-Length: 7\r\nContent-Length: 7\r\n",
                Err(HttpError::BadRequest("more than one Content-Length")),
            ),
            (
                // Not too large for the parser: the application decides.
                "Host: x\r\nContent-Length: 1048577\r\n",
                Ok(Framing::Length(1048577)),
            ),
            (
                "Host: x\r\nContent-Length: 5x\r\n",
                Err(HttpError::BadRequest("invalid Content-Length")),
            ),
            (
                "Host: x\r\nTransfer-Encoding: gzip\r\n",
                Err(HttpError::NotImplemented(
                    "the only Transfer-Encoding supported is chunked",
                )),
            ),
            (
                "",
                Err(HttpError::BadRequest(
                    "missing Host header (required in HTTP/1.1)",
                )),
            ),
        ];
        for (headers, expected) in cases {
            let raw = format!("POST / HTTP/1.1\r\n{headers}\r\n");
            let head = parse_head(raw.as_bytes()).expect("valid syntax");
            assert_eq!(&head.expect("complete").framing, expected, "{headers:?}");
        }
    }
}
