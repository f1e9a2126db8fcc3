//! Request bodies: knowing where a body ends, and decoding chunked ones.
//!
//! What to notice: HTTP/1.1 has two ways to say where a body ends
//! (RFC 9112 section 6). `Content-Length: 42` says "the next 42 bytes";
//! the connection loop just waits until it has them. `Transfer-Encoding:
//! chunked` sends the body in pieces, each preceded by its size in hex, and
//! ends with a piece of size 0:
//!
//! ```text
//! 5\r\n          <- a chunk of 5 bytes follows
//! hello\r\n
//! 0\r\n          <- the last chunk
//! \r\n           <- (trailer fields would go here) end of the body
//! ```
//!
//! The decoder below is a small state machine that consumes whatever part of
//! that has arrived and remembers where it stopped, so a body split across
//! reads at any byte decodes the same. It is strict on purpose: `0x5`, `+5`,
//! `5_0`, a bare LF or an over-long size line are all 400, because a lenient
//! parser that reads them differently from a proxy in front of it can be
//! tricked into seeing two requests where the proxy saw one.

use bytes::{Buf, BytesMut};

use crate::error::HttpError;
use crate::limits::{MAX_CHUNK_LINE, MAX_TRAILERS};

/// Where the decoder is in the chunked body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Expecting a chunk-size line.
    Size,
    /// Inside a chunk: this many data bytes still to come.
    Data(usize),
    /// After a chunk's data: expecting its CRLF.
    DataEnd,
    /// After the last (zero-size) chunk: trailer lines until an empty one.
    Trailers,
    /// The body is complete.
    Done,
}

/// Decodes a chunked body incrementally.
#[derive(Debug)]
pub struct ChunkedDecoder {
    state: State,
    /// The most body bytes this request may have (`Service::body_limit`).
    limit: usize,
    /// Body bytes decoded so far, checked against `limit`.
    decoded: usize,
    /// Trailer bytes seen so far, checked against `MAX_TRAILERS`.
    trailer_bytes: usize,
}

impl ChunkedDecoder {
    /// A decoder at the start of a chunked body of at most `limit` bytes.
    pub fn new(limit: usize) -> ChunkedDecoder {
        ChunkedDecoder {
            state: State::Size,
            limit,
            decoded: 0,
            trailer_bytes: 0,
        }
    }

    // ANCHOR: decode
    /// Consumes what it can from the front of `input`, appending body bytes to
    /// `body`. Returns `Ok(true)` once the whole body has been decoded (the
    /// bytes after it, such as a pipelined request, stay in `input`), or
    /// `Ok(false)` if it needs more input.
    pub fn decode(&mut self, input: &mut BytesMut, body: &mut BytesMut) -> Result<bool, HttpError> {
        loop {
            match self.state {
                State::Size => {
                    let Some(line) = take_line(input, MAX_CHUNK_LINE, CHUNK_LINE_TOO_LONG)? else {
                        return Ok(false);
                    };
                    let size = parse_chunk_size(&line)?;
                    // Refused as soon as the size line says the body will
                    // pass the limit, before any of the chunk is read.
                    if size > (self.limit - self.decoded) as u64 {
                        return Err(HttpError::ContentTooLarge { limit: self.limit });
                    }
                    self.state = match size {
                        0 => State::Trailers,
                        // Fits in usize: it is at most `limit`.
                        size => State::Data(size as usize),
                    };
                }
                State::Data(remaining) => {
                    if input.is_empty() {
                        return Ok(false);
                    }
                    let n = remaining.min(input.len());
                    body.extend_from_slice(&input[..n]);
                    input.advance(n);
                    self.decoded += n;
                    self.state = match remaining - n {
                        0 => State::DataEnd,
                        left => State::Data(left),
                    };
                }
                State::DataEnd => {
                    let Some(end) = input.get(..2) else {
                        // One byte may have arrived: it must be the CR.
                        if input.first().is_some_and(|&byte| byte != b'\r') {
                            return Err(NO_CRLF_AFTER_DATA);
                        }
                        return Ok(false);
                    };
                    if end != b"\r\n" {
                        return Err(NO_CRLF_AFTER_DATA);
                    }
                    input.advance(2);
                    self.state = State::Size;
                }
                State::Trailers => {
                    let room = MAX_TRAILERS - self.trailer_bytes;
                    let Some(line) = take_line(input, room, HttpError::HeaderFieldsTooLarge)?
                    else {
                        return Ok(false);
                    };
                    self.trailer_bytes += line.len() + 2;
                    if line.is_empty() {
                        self.state = State::Done;
                    } else if !line.contains(&b':') {
                        return Err(HttpError::BadRequest("malformed trailer field"));
                    }
                    // Trailer fields are allowed, bounded, and ignored.
                }
                State::Done => return Ok(true),
            }
        }
    }
    // ANCHOR_END: decode
}

const CHUNK_LINE_TOO_LONG: HttpError = HttpError::BadRequest("chunk size line too long");
const NO_CRLF_AFTER_DATA: HttpError = HttpError::BadRequest("chunk data not followed by CRLF");

/// Takes one CRLF-terminated line off the front of `input`, without its CRLF.
/// `Ok(None)`: no complete line yet. A line longer than `max` is `too_long`;
/// a bare LF, or a CR anywhere but before the LF, is a 400.
fn take_line(
    input: &mut BytesMut,
    max: usize,
    too_long: HttpError,
) -> Result<Option<BytesMut>, HttpError> {
    let Some(newline) = memchr::memchr(b'\n', input) else {
        return if input.len() > max + 1 {
            Err(too_long)
        } else {
            Ok(None)
        };
    };
    if newline == 0 || input[newline - 1] != b'\r' {
        return Err(HttpError::BadRequest(
            "bare LF in a chunked body: lines end with CRLF",
        ));
    }
    if newline - 1 > max {
        return Err(too_long);
    }
    let mut line = input.split_to(newline + 1);
    line.truncate(newline - 1);
    if line.contains(&b'\r') {
        return Err(HttpError::BadRequest("bare CR in a chunked body"));
    }
    Ok(Some(line))
}

/// `chunk-size [ chunk-ext ]` (RFC 9112 section 7.1): 1 to 16 hex digits,
/// then optionally `;` and extensions, which we accept and ignore.
fn parse_chunk_size(line: &[u8]) -> Result<u64, HttpError> {
    const INVALID: HttpError = HttpError::BadRequest("invalid chunk size");
    let (size, extensions) = match memchr::memchr(b';', line) {
        // Optional whitespace is allowed before the `;`, nowhere else.
        Some(semicolon) => (line[..semicolon].trim_ascii_end(), &line[semicolon + 1..]),
        None => (line, &b""[..]),
    };
    if size.is_empty() || size.len() > 16 || !size.iter().all(u8::is_ascii_hexdigit) {
        return Err(INVALID);
    }
    if extensions
        .iter()
        .any(|&byte| byte.is_ascii_control() && byte != b'\t')
    {
        return Err(HttpError::BadRequest("invalid chunk extension"));
    }
    Ok(size.iter().fold(0u64, |number, &digit| {
        // Every byte is a hex digit, checked above; 16 digits fit in a u64.
        (number << 4) | u64::from((digit as char).to_digit(16).unwrap_or(0))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 1024;

    fn decode_all(input: &[u8]) -> Result<(Vec<u8>, Vec<u8>), HttpError> {
        let mut input = BytesMut::from(input);
        let mut body = BytesMut::new();
        let done = ChunkedDecoder::new(LIMIT).decode(&mut input, &mut body)?;
        assert!(done, "incomplete");
        Ok((body.to_vec(), input.to_vec()))
    }

    #[test]
    fn decodes_chunks_and_leaves_what_follows() {
        let (body, rest) =
            decode_all(b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: yes\r\n\r\nGET /next")
                .expect("a valid chunked body");
        assert_eq!(body, b"hello, world");
        assert_eq!(rest, b"GET /next");
    }

    #[test]
    fn refuses_sizes_that_are_not_plain_hex() {
        for bad in ["0x5", "+5", "5_0", "", " 5", "-1", "12345678901234567"] {
            let input = format!("{bad}\r\nhello\r\n0\r\n\r\n");
            assert_eq!(
                decode_all(input.as_bytes()).err(),
                Some(HttpError::BadRequest("invalid chunk size")),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn refuses_bare_lf_and_bare_cr_in_chunk_lines() {
        assert!(decode_all(b"5\nhello\r\n0\r\n\r\n").is_err());
        assert!(decode_all(b"5\r\r\nhello\r\n0\r\n\r\n").is_err());
        assert!(decode_all(b"5\r\nhelloXX0\r\n\r\n").is_err());
    }

    #[test]
    fn a_body_over_the_limit_is_413_from_the_size_line_alone() {
        let mut body = BytesMut::new();
        let mut at_limit = BytesMut::from(format!("{LIMIT:x}\r\n").as_bytes());
        assert_eq!(
            ChunkedDecoder::new(LIMIT).decode(&mut at_limit, &mut body),
            Ok(false)
        );
        // Crossed by the second chunk: one byte over.
        let mut over =
            BytesMut::from(format!("{LIMIT:x}\r\n{}\r\n1\r\n", "x".repeat(LIMIT)).as_bytes());
        assert_eq!(
            ChunkedDecoder::new(LIMIT).decode(&mut over, &mut body),
            Err(HttpError::ContentTooLarge { limit: LIMIT })
        );
        // A route that takes no body: the first non-empty chunk is too much.
        let mut none = BytesMut::from(&b"1\r\n"[..]);
        assert_eq!(
            ChunkedDecoder::new(0).decode(&mut none, &mut BytesMut::new()),
            Err(HttpError::ContentTooLarge { limit: 0 })
        );
    }
}
