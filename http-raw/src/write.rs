//! The response writer: a `Response` turned into the bytes of its head.
//!
//! What to notice: this is the whole format of an HTTP/1.1 response head:
//!
//! ```text
//! HTTP/1.1 200 OK\r\n
//! Date: Sat, 21 Nov 2026 19:51:52 GMT\r\n
//! Content-Type: text/plain; charset=utf-8\r\n
//! Content-Length: 12\r\n
//! \r\n
//! ```
//!
//! then the body. The writer appends to a buffer rather than writing to the
//! socket, so that the responses to several pipelined requests can leave in
//! one system call. The framing headers are always ours: a handler's own
//! `Content-Length` or `Transfer-Encoding` is dropped, so that no handler can
//! send a body whose length disagrees with its head.

use tracing::warn;

use crate::date::append_http_date;
use crate::response::Response;
use crate::status::{has_no_body, reason_phrase};

/// How the body of a response is delimited on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFraming {
    /// No body, and no length header (1xx, 204, 304).
    NoBody,
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

impl ResponseFraming {
    /// The framing for `response`.
    pub fn of(response: &Response) -> ResponseFraming {
        if has_no_body(response.status) {
            return ResponseFraming::NoBody;
        }
        match response.body.len() {
            Some(length) => ResponseFraming::Length(length),
            None => ResponseFraming::Chunked,
        }
    }
}

/// What the connection adds about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionHeader {
    /// Nothing: HTTP/1.1 connections stay open by default.
    None,
    /// `Connection: close`: this is the connection's last response.
    Close,
    /// `Connection: keep-alive`: an HTTP/1.0 client asked to keep it open.
    KeepAlive,
}

// ANCHOR: write_head
/// Appends the status line and headers of `response`, and the blank line
/// that ends them, to `out`.
pub fn write_head(
    out: &mut Vec<u8>,
    response: &Response,
    framing: ResponseFraming,
    connection: ConnectionHeader,
) {
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(itoa::Buffer::new().format(response.status).as_bytes());
    out.push(b' ');
    out.extend_from_slice(reason_phrase(response.status).as_bytes());
    out.extend_from_slice(b"\r\nDate: ");
    append_http_date(out);
    out.extend_from_slice(b"\r\n");

    let mut has_content_type = false;
    for (name, value) in &response.headers {
        if is_framing_header(name) {
            continue;
        }
        if !is_valid_header(name, value) {
            // A CR or LF in a value would let it end the head early and add
            // headers of its own ("response splitting"): never send it.
            warn!(header = %name, "dropping a response header with an invalid name or value");
            continue;
        }
        has_content_type |= name.eq_ignore_ascii_case("content-type");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }

    match framing {
        ResponseFraming::NoBody => {}
        ResponseFraming::Length(length) => {
            out.extend_from_slice(b"Content-Length: ");
            out.extend_from_slice(itoa::Buffer::new().format(length).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        ResponseFraming::Chunked => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
    }
    // Every response with a body says what it is.
    if framing != ResponseFraming::NoBody
        && framing != ResponseFraming::Length(0)
        && !has_content_type
    {
        out.extend_from_slice(b"Content-Type: application/octet-stream\r\n");
    }
    match connection {
        ConnectionHeader::None => {}
        ConnectionHeader::Close => out.extend_from_slice(b"Connection: close\r\n"),
        ConnectionHeader::KeepAlive => out.extend_from_slice(b"Connection: keep-alive\r\n"),
    }
    out.extend_from_slice(b"\r\n");
}
// ANCHOR_END: write_head

/// Headers the writer sets itself.
fn is_framing_header(name: &str) -> bool {
    name.eq_ignore_ascii_case("content-length")
        || name.eq_ignore_ascii_case("transfer-encoding")
        || name.eq_ignore_ascii_case("date")
}

/// A header name must be a token; a value must not contain CR, LF or NUL.
/// Checked on every header of every response, so each byte of a name costs
/// one look in a table rather than a search through the list of symbols.
fn is_valid_header(name: &str, value: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|byte| IS_TOKEN_BYTE[usize::from(byte)])
        && !value
            .bytes()
            .any(|byte| matches!(byte, b'\r' | b'\n' | b'\0'))
}

/// Which bytes a token (a header name) may hold (RFC 9110 section 5.6.2):
/// letters, digits and ``!#$%&'*+-.^_`|~``.
const IS_TOKEN_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = (byte as u8).is_ascii_alphanumeric();
        byte += 1;
    }
    let symbols = b"!#$%&'*+-.^_`|~";
    let mut i = 0;
    while i < symbols.len() {
        table[symbols[i] as usize] = true;
        i += 1;
    }
    table
};

/// Appends the line that starts one chunk of a chunked body: its size in
/// hex, then CRLF. The caller sends the chunk's data and its closing CRLF.
pub fn write_chunk_header(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(format!("{len:x}\r\n").as_bytes());
}

/// The end of a chunked body: the zero-size chunk and an empty trailer section.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_status_line_date_type_and_length() {
        let response = Response::text(200, "Hello, world");
        let mut out = Vec::new();
        write_head(
            &mut out,
            &response,
            ResponseFraming::of(&response),
            ConnectionHeader::Close,
        );
        let text = String::from_utf8(out).expect("ASCII");
        assert!(text.starts_with("HTTP/1.1 200 OK\r\nDate: "), "{text}");
        assert!(text.contains(" GMT\r\n"), "{text}");
        assert!(
            text.contains("\r\nContent-Type: text/plain; charset=utf-8\r\n"),
            "{text}"
        );
        assert!(text.contains("\r\nContent-Length: 12\r\n"), "{text}");
        assert!(text.ends_with("\r\nConnection: close\r\n\r\n"), "{text}");
    }

    #[test]
    fn header_names_must_be_tokens_and_values_must_not_hold_cr_lf_or_nul() {
        assert!(is_valid_header("X-Request-Id", "abc 123"));
        assert!(is_valid_header("!#$%&'*+-.^_`|~09azAZ", ""));
        for name in ["", "X Id", "X:Id", "X(Id)", "Caf\u{e9}", "X\"Id"] {
            assert!(!is_valid_header(name, "ok"), "{name:?}");
        }
        for value in ["a\rb", "a\nb", "a\0b", "\r\n"] {
            assert!(!is_valid_header("X-Ok", value), "{value:?}");
        }
    }

    #[test]
    fn a_header_value_with_crlf_is_never_sent() {
        let response = Response::new(200).with_header("X-Evil", "a\r\nSet-Cookie: owned=1");
        let mut out = Vec::new();
        write_head(
            &mut out,
            &response,
            ResponseFraming::of(&response),
            ConnectionHeader::None,
        );
        let text = String::from_utf8(out).expect("ASCII");
        assert!(!text.contains("Set-Cookie"), "{text}");
    }
}
