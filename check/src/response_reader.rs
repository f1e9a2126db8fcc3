//! The one HTTP response reader: bytes in, a response out, no I/O.
//!
//! What to notice: reading a response is two questions, asked of the bytes
//! received so far. Where does the head end (the first empty line)? And,
//! from the head, where does the body end (RFC 9112 section 6.3): no body
//! for HEAD, 1xx, 204 and 304; chunked framing when Transfer-Encoding says
//! so; else Content-Length; else the body runs until the server closes. The
//! answer is "a whole response, N bytes long", "not yet", or "this is not
//! HTTP". [`ResponseReader`] answers it without touching a socket, so the
//! checker's blocking client (`http.rs`) and the tests' async raw client
//! (`testkit::raw_client`) read responses with the same code and disagree
//! about nothing; each adds only its own waiting, deadlines and reports.
//!
//! Parsing is by hand and strict: the checker must see exactly what a server
//! sent, `\r\n` and all, where a lenient library would quietly accept a
//! `\n` alone.

use std::fmt;

/// The largest response head read: far more than any real head.
pub const MAX_RESPONSE_HEAD: usize = 64 * 1024;

/// How the body of a response ends, decided from its head
/// (RFC 9112 section 6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body: an answer to HEAD, or status 1xx, 204 or 304.
    Empty,
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// `Content-Length: N`.
    Length(usize),
    /// Neither: the body is everything until the server closes.
    UntilClose,
}

/// A whole response, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedResponse {
    /// The status code.
    pub status: u16,
    /// The header fields, name as sent and value trimmed, in order.
    pub headers: Vec<(String, String)>,
    /// The bytes of the head, up to and including its empty line.
    pub head_len: usize,
    /// The body, with any chunked framing removed.
    pub body: Vec<u8>,
    /// How the body's end was found.
    pub framing: Framing,
    /// How many bytes of the input this response took, head and framed
    /// body; bytes after it belong to the next response.
    pub len: usize,
}

/// Why the bytes are not an HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Malformed {
    /// The head is not `HTTP/1.x NNN Reason`, header lines, an empty line.
    Head(String),
    /// `Content-Length` is not a number.
    Length,
    /// The chunked framing is broken.
    Chunked(&'static str),
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Malformed::Head(why) => write!(f, "not an HTTP response: {why}"),
            Malformed::Length => f.write_str("Content-Length is not a number"),
            Malformed::Chunked(why) => f.write_str(why),
        }
    }
}

/// Reads one response from the bytes received so far. Call [`read`]
/// again with more bytes each time it says `Ok(None)`; the head is parsed
/// once and kept.
///
/// [`read`]: ResponseReader::read
#[derive(Debug)]
pub struct ResponseReader {
    /// The request was HEAD: no body, whatever the head says (RFC 9110
    /// section 9.3.2).
    to_head: bool,
    /// The head, once it has all come.
    head: Option<(Head, Framing)>,
}

/// A response head: status, headers, and its length with the empty line.
pub type Head = (u16, Vec<(String, String)>, usize);

impl ResponseReader {
    /// A reader for the response to a request; `to_head` when it was HEAD.
    pub fn new(to_head: bool) -> ResponseReader {
        ResponseReader {
            to_head,
            head: None,
        }
    }

    /// How the body ends, once the head has come.
    pub fn framing(&self) -> Option<Framing> {
        self.head.as_ref().map(|(_, framing)| *framing)
    }

    /// The length of the head, once it has come.
    pub fn head_len(&self) -> Option<usize> {
        self.head.as_ref().map(|((_, _, len), _)| *len)
    }

    /// Looks at `bytes`, everything received since the response began.
    /// `closed`: the server has closed, so no more bytes will come. Returns
    /// the response once it is whole, `Ok(None)` while more bytes are needed
    /// (when `closed`, that means the server closed too early), or why the
    /// bytes are not a response.
    pub fn read(
        &mut self,
        bytes: &[u8],
        closed: bool,
    ) -> Result<Option<ParsedResponse>, Malformed> {
        if self.head.is_none() {
            let Some(head) = parse_head(bytes).map_err(Malformed::Head)? else {
                return Ok(None);
            };
            let framing = framing(&head, self.to_head)?;
            self.head = Some((head, framing));
        }
        let Some(((status, headers, head_len), framing)) = &self.head else {
            return Ok(None);
        };
        let rest = &bytes[*head_len..];
        let (body, body_len) = match *framing {
            Framing::Empty => (Vec::new(), 0),
            Framing::Length(length) if rest.len() >= length => (rest[..length].to_vec(), length),
            Framing::Length(_) => return Ok(None),
            Framing::Chunked => match decode_chunked(rest).map_err(Malformed::Chunked)? {
                Some((body, used)) => (body, used),
                None => return Ok(None),
            },
            Framing::UntilClose if closed => (rest.to_vec(), rest.len()),
            Framing::UntilClose => return Ok(None),
        };
        Ok(Some(ParsedResponse {
            status: *status,
            headers: headers.clone(),
            head_len: *head_len,
            body,
            framing: *framing,
            len: head_len + body_len,
        }))
    }
}

/// How the body ends, from the head (RFC 9112 section 6.3): chunked wins
/// over Content-Length.
fn framing((status, headers, _): &Head, to_head: bool) -> Result<Framing, Malformed> {
    if to_head || *status < 200 || *status == 204 || *status == 304 {
        return Ok(Framing::Empty);
    }
    let values = |name: &'static str| {
        headers
            .iter()
            .filter(move |(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    };
    let chunked = values("transfer-encoding")
        .flat_map(|value| value.split(','))
        .any(|coding| coding.trim().eq_ignore_ascii_case("chunked"));
    if chunked {
        return Ok(Framing::Chunked);
    }
    match values("content-length").next() {
        Some(length) => length
            .trim()
            .parse()
            .map(Framing::Length)
            .map_err(|_| Malformed::Length),
        None => Ok(Framing::UntilClose),
    }
}

/// Parses a response head at the start of `bytes`: `Ok(None)` until its
/// empty line has arrived.
pub fn parse_head(bytes: &[u8]) -> Result<Option<Head>, String> {
    let Some(end) = find(bytes, b"\r\n\r\n") else {
        if find(bytes, b"\n\n").is_some() {
            return Err("lines end with \\n alone; HTTP lines end with \\r\\n".into());
        }
        if bytes.len() > MAX_RESPONSE_HEAD {
            return Err(format!(
                "no end of head in the first {MAX_RESPONSE_HEAD} bytes"
            ));
        }
        if !bytes.is_empty() && !b"HTTP/1.".starts_with(&bytes[..bytes.len().min(7)]) {
            return Err("it does not start with `HTTP/1.`".into());
        }
        return Ok(None);
    };
    let head = String::from_utf8_lossy(&bytes[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    // `HTTP/1.1 200 OK`: version, space, three digits, space, reason.
    let status = status_line
        .strip_prefix("HTTP/1.")
        .and_then(|rest| rest.get(2..5))
        .filter(|code| code.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("the status line {status_line:?} is not `HTTP/1.1 NNN Reason`"))?;
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .filter(|(name, _)| !name.is_empty() && !name.contains(' '))
            .ok_or_else(|| format!("the header line {line:?} is not `Name: value`"))?;
        headers.push((name.to_string(), value.trim().to_string()));
    }
    Ok(Some((status, headers, end + 4)))
}

/// Decodes a whole chunked body at the start of `bytes`: `Ok(None)` if more
/// bytes are needed, else the body and how many bytes it took (RFC 9112
/// section 7.1: chunk extensions and trailer lines are read and dropped).
pub fn decode_chunked(bytes: &[u8]) -> Result<Option<(Vec<u8>, usize)>, &'static str> {
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let Some(line_end) = find(&bytes[at..], b"\r\n") else {
            return Ok(None);
        };
        let line = &bytes[at..at + line_end];
        let size_text = line.split(|&b| b == b';').next().unwrap_or_default();
        let size = std::str::from_utf8(size_text)
            .ok()
            .and_then(|text| usize::from_str_radix(text.trim(), 16).ok())
            .ok_or("a chunk size line that is not a hex number")?;
        at += line_end + 2;
        if size == 0 {
            // Trailer lines, then the empty line.
            loop {
                let Some(end) = find(&bytes[at..], b"\r\n") else {
                    return Ok(None);
                };
                at += end + 2;
                if end == 0 {
                    return Ok(Some((body, at)));
                }
            }
        }
        // What is held (`bytes.len() - at`) is compared with what the chunk
        // needs; a size near usize::MAX cannot overflow this way.
        let held = bytes.len() - at;
        if held < 2 || held - 2 < size {
            return Ok(None);
        }
        body.extend_from_slice(&bytes[at..at + size]);
        if &bytes[at + size..at + size + 2] != b"\r\n" {
            return Err("chunk data not followed by \\r\\n");
        }
        at += size + 2;
    }
}

/// Where `needle` first occurs in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `bytes` to a reader one more byte at a time; returns the
    /// response and how many bytes it took to be whole.
    fn read_growing(bytes: &[u8], to_head: bool) -> (ParsedResponse, usize) {
        let mut reader = ResponseReader::new(to_head);
        for end in 0..=bytes.len() {
            if let Some(response) = reader.read(&bytes[..end], false).expect("valid") {
                return (response, end);
            }
        }
        panic!("never whole: {:?}", String::from_utf8_lossy(bytes));
    }

    #[test]
    fn a_length_framed_response_is_whole_at_its_last_byte_and_leaves_the_next() {
        let wire = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 204";
        let (response, whole_at) = read_growing(wire, false);
        assert_eq!(response.body, b"hello");
        assert_eq!(response.framing, Framing::Length(5));
        assert_eq!(whole_at, response.len);
        assert_eq!(&wire[response.len..], b"HTTP/1.1 204");
    }

    #[test]
    fn chunked_wins_over_content_length_and_extensions_and_trailers_are_dropped() {
        let wire = b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n\
                     5;x=1\r\nhello\r\n0\r\nT: v\r\n\r\n";
        let (response, _) = read_growing(wire, false);
        assert_eq!(response.body, b"hello");
        assert_eq!(response.framing, Framing::Chunked);
        assert_eq!(response.len, wire.len());
    }

    #[test]
    fn head_1xx_204_and_304_have_no_body_whatever_the_head_says() {
        let with_length = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
        let (response, _) = read_growing(with_length, true);
        assert_eq!((response.body.len(), response.len), (0, with_length.len()));
        for status in ["100 Continue", "204 No Content", "304 Not Modified"] {
            let wire = format!("HTTP/1.1 {status}\r\nContent-Length: 5\r\n\r\n");
            let (response, _) = read_growing(wire.as_bytes(), false);
            assert_eq!(response.framing, Framing::Empty, "{status}");
            assert_eq!(response.len, wire.len(), "{status}");
        }
    }

    #[test]
    fn without_framing_the_body_ends_when_the_server_closes() {
        let wire = b"HTTP/1.0 200 OK\r\n\r\nall of it";
        let mut reader = ResponseReader::new(false);
        assert_eq!(reader.read(wire, false), Ok(None));
        assert_eq!(reader.framing(), Some(Framing::UntilClose));
        let response = reader.read(wire, true).expect("valid").expect("whole");
        assert_eq!(response.body, b"all of it");
    }

    #[test]
    fn what_is_not_a_response_says_why() {
        let cases: [(&[u8], Malformed); 3] = [
            (
                b"HTTP/1.1 200 OK\nContent-Length: 2\n\nhi",
                Malformed::Head("lines end with \\n alone; HTTP lines end with \\r\\n".into()),
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: two\r\n\r\n",
                Malformed::Length,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                Malformed::Chunked("a chunk size line that is not a hex number"),
            ),
        ];
        for (wire, why) in cases {
            assert_eq!(ResponseReader::new(false).read(wire, false), Err(why));
        }
    }

    #[test]
    fn a_chunk_size_near_the_largest_number_is_waited_for_not_overflowed() {
        let wire = b"ffffffffffffffff\r\nab";
        assert_eq!(decode_chunked(wire), Ok(None));
    }
}
