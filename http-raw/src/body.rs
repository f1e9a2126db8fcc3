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
    /// Trailer bytes taken so far, CRLFs included, checked against
    /// `MAX_TRAILERS`: never more than it.
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
                    let Some(line) = take_line(input, 0, MAX_CHUNK_LINE, CHUNK_LINE_TOO_LONG)?
                    else {
                        return Ok(false);
                    };
                    let size = parse_chunk_size(&line)?;
                    // Refused as soon as the size line says the body will
                    // pass the limit, before any of the chunk is read. What
                    // the body would hold is compared with the limit (never
                    // `limit - decoded`, the subtraction that underflows at
                    // the boundary); saturating, since `size` is the
                    // client's number and may be near `u64::MAX`.
                    if (self.decoded as u64).saturating_add(size) > self.limit as u64 {
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
                    let Some(line) = take_line(
                        input,
                        self.trailer_bytes,
                        MAX_TRAILERS,
                        HttpError::HeaderFieldsTooLarge,
                    )?
                    else {
                        return Ok(false);
                    };
                    // `take_line` checked that this stays within MAX_TRAILERS.
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

// ANCHOR: take_line
/// Takes one CRLF-terminated line off the front of `input`, without its CRLF.
/// `held` bytes of the same section were taken before it; `Ok(None)`: no
/// complete line yet.
///
/// The limit is checked by adding up what the section holds (`held`, then
/// this line *with* its CRLF, or as much of it as has arrived) and comparing
/// that with `limit`: `too_long` once it is over. Never by subtracting
/// (`limit - held`), which underflows when `held` reaches the limit and
/// turns a bound into none. An unfinished line counts too, so a client that
/// never sends the LF is refused as soon as it has sent too much.
/// A bare LF, or a CR anywhere but before the LF, is a 400.
fn take_line(
    input: &mut BytesMut,
    held: usize,
    limit: usize,
    too_long: HttpError,
) -> Result<Option<BytesMut>, HttpError> {
    let Some(newline) = memchr::memchr(b'\n', input) else {
        return if held + input.len() > limit {
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
    // `newline + 1`: the line with its CRLF.
    if held + newline + 1 > limit {
        return Err(too_long);
    }
    let mut line = input.split_to(newline + 1);
    line.truncate(newline - 1);
    if line.contains(&b'\r') {
        return Err(HttpError::BadRequest("bare CR in a chunked body"));
    }
    Ok(Some(line))
}
// ANCHOR_END: take_line

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

    /// Feeds `input` to a fresh decoder in the pieces `splits` cuts it into
    /// (one read each), and returns how the last call ended.
    fn decode_in_reads(input: &[u8], splits: &[usize]) -> Result<bool, HttpError> {
        let mut decoder = ChunkedDecoder::new(LIMIT);
        let (mut buffer, mut body) = (BytesMut::new(), BytesMut::new());
        let mut from = 0;
        for &to in splits.iter().chain([&input.len()]) {
            buffer.extend_from_slice(&input[from..to]);
            from = to;
            if decoder.decode(&mut buffer, &mut body)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Where a test splits `input` into two reads: at every byte near each
    /// line's end (the CR, the LF, the next line's start) and one in the
    /// middle of every line.
    fn two_read_splits(input: &[u8]) -> Vec<usize> {
        let mut splits = Vec::new();
        let mut line_start = 0;
        for newline in memchr::memchr_iter(b'\n', input) {
            splits.push((line_start + newline) / 2);
            splits.extend(newline.saturating_sub(2)..=(newline + 1).min(input.len() - 1));
            line_start = newline + 1;
        }
        splits.retain(|&at| at > 0);
        splits
    }

    /// The end of a chunked body whose trailer section (every trailer line
    /// with its CRLF, and the empty line that ends them) is `len` bytes.
    fn trailers_of(len: usize) -> Vec<u8> {
        let fixed = "A: b\r\nX-Fill: \r\n\r\n".len();
        format!("0\r\nA: b\r\nX-Fill: {}\r\n\r\n", "f".repeat(len - fixed)).into_bytes()
    }

    #[test]
    fn a_trailer_section_of_the_limit_passes_and_one_byte_more_is_431() {
        for (len, expected) in [
            (MAX_TRAILERS - 2, Ok(true)),
            (MAX_TRAILERS - 1, Ok(true)),
            (MAX_TRAILERS, Ok(true)),
            (MAX_TRAILERS + 1, Err(HttpError::HeaderFieldsTooLarge)),
        ] {
            let input = trailers_of(len);
            assert_eq!(
                decode_in_reads(&input, &[]),
                expected,
                "{len} bytes in one read"
            );
            for split in two_read_splits(&input) {
                assert_eq!(
                    decode_in_reads(&input, &[split]),
                    expected,
                    "{len} bytes, split at {split}"
                );
            }
        }
    }

    #[test]
    fn a_trailer_line_that_fills_the_budget_is_431_not_an_underflow() {
        // Round 3's F1: one line of exactly MAX_TRAILERS bytes, then the
        // start of another. The old `MAX_TRAILERS - used` underflowed here:
        // a panic in a debug build, an unbounded buffer in a release one.
        for len in [
            MAX_TRAILERS - 2,
            MAX_TRAILERS - 1,
            MAX_TRAILERS,
            MAX_TRAILERS + 1,
        ] {
            let mut input = format!("0\r\nX:{}\r\nY", "a".repeat(len - 2)).into_bytes();
            assert_eq!(
                decode_in_reads(&input, &[]),
                Err(HttpError::HeaderFieldsTooLarge),
                "a trailer line of {len} bytes leaves no room for the empty line"
            );
            // Whatever follows, in a later read, changes nothing.
            input.extend_from_slice(b": partial\r\n\r\n");
            assert_eq!(
                decode_in_reads(&input, &[len + 3]),
                Err(HttpError::HeaderFieldsTooLarge)
            );
        }
    }

    #[test]
    fn an_unfinished_trailer_line_is_refused_once_it_is_over_the_limit() {
        // No LF ever comes: the bytes held so far count.
        let at_limit = format!("0\r\nX: {}", "a".repeat(MAX_TRAILERS - 3));
        assert_eq!(decode_in_reads(at_limit.as_bytes(), &[]), Ok(false));
        let over = format!("{at_limit}a");
        assert_eq!(
            decode_in_reads(over.as_bytes(), &[]),
            Err(HttpError::HeaderFieldsTooLarge)
        );
        assert_eq!(
            decode_in_reads(over.as_bytes(), &[at_limit.len()]),
            Err(HttpError::HeaderFieldsTooLarge),
            "crossed by the second read"
        );
    }

    /// A chunk-size line for `5` (then `hello` and the last chunk) that is
    /// `len` bytes long, its CRLF included: the rest is an extension.
    fn size_line_of(len: usize) -> Vec<u8> {
        let extension = "e".repeat(len - "5;\r\n".len());
        format!("5;{extension}\r\nhello\r\n0\r\n\r\n").into_bytes()
    }

    #[test]
    fn a_chunk_size_line_of_the_limit_passes_and_one_byte_more_is_400() {
        for (len, expected) in [
            (MAX_CHUNK_LINE - 1, Ok(true)),
            (MAX_CHUNK_LINE, Ok(true)),
            (MAX_CHUNK_LINE + 1, Err(CHUNK_LINE_TOO_LONG)),
        ] {
            let input = size_line_of(len);
            assert_eq!(decode_in_reads(&input, &[]), expected, "{len} bytes");
            for split in [1, len / 2, len - 2, len - 1, len] {
                assert_eq!(
                    decode_in_reads(&input, &[split]),
                    expected,
                    "{len} bytes, split at {split}"
                );
            }
        }
        // Unfinished: refused as soon as what has arrived is over the limit.
        let unfinished = &size_line_of(MAX_CHUNK_LINE + 10)[..MAX_CHUNK_LINE + 1];
        assert_eq!(decode_in_reads(unfinished, &[]), Err(CHUNK_LINE_TOO_LONG));
        assert_eq!(
            decode_in_reads(&unfinished[..MAX_CHUNK_LINE], &[]),
            Ok(false),
            "at the limit, the LF may still come"
        );
    }

    /// A chunked body of `len` bytes, in two chunks.
    fn body_of(len: usize) -> Vec<u8> {
        let first = len / 2;
        format!(
            "{first:x}\r\n{}\r\n{:x}\r\n{}\r\n0\r\n\r\n",
            "a".repeat(first),
            len - first,
            "b".repeat(len - first)
        )
        .into_bytes()
    }

    #[test]
    fn a_chunked_body_of_the_limit_passes_and_one_byte_more_is_413() {
        for (len, expected) in [
            (LIMIT - 1, Ok(true)),
            (LIMIT, Ok(true)),
            (LIMIT + 1, Err(HttpError::ContentTooLarge { limit: LIMIT })),
        ] {
            let input = body_of(len);
            assert_eq!(decode_in_reads(&input, &[]), expected, "{len} bytes");
            for split in two_read_splits(&input) {
                assert_eq!(
                    decode_in_reads(&input, &[split]),
                    expected,
                    "{len} bytes, split at {split}"
                );
            }
        }
    }

    #[test]
    fn a_chunk_size_near_u64_max_is_413_not_an_overflow() {
        let mut input = BytesMut::from(&b"10\r\n0123456789abcdef\r\nffffffffffffffff\r\n"[..]);
        assert_eq!(
            ChunkedDecoder::new(LIMIT).decode(&mut input, &mut BytesMut::new()),
            Err(HttpError::ContentTooLarge { limit: LIMIT })
        );
    }
}
