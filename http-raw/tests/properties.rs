//! Property tests of the parser and the chunked decoder: for any input the
//! generators can make, the stated property holds.

use bytes::{Bytes, BytesMut};
use http_raw::body::ChunkedDecoder;
use http_raw::limits::{
    DEFAULT_BODY_LIMIT, MAX_CHUNK_LINE, MAX_HEADER_SECTION, MAX_REQUEST_LINE, MAX_TRAILERS,
};
use http_raw::parse::{Framing, parse_head};
use http_raw::{HttpError, Request};
use proptest::prelude::*;

/// One request of a generated stream.
#[derive(Debug, Clone)]
struct Generated {
    method: &'static str,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    chunk_sizes: Option<Vec<usize>>,
}

impl Generated {
    fn encode(&self) -> Vec<u8> {
        let mut out =
            format!("{} {} HTTP/1.1\r\nHost: test\r\n", self.method, self.path).into_bytes();
        for (name, value) in &self.headers {
            out.extend(format!("{name}: {value}\r\n").bytes());
        }
        match &self.chunk_sizes {
            None => {
                out.extend(format!("Content-Length: {}\r\n\r\n", self.body.len()).bytes());
                out.extend_from_slice(&self.body);
            }
            Some(sizes) => {
                out.extend(b"Transfer-Encoding: chunked\r\n\r\n");
                out.extend(encode_chunked(&self.body, sizes));
            }
        }
        out
    }
}

/// `body` as chunks of the given sizes (cycled), then the last chunk.
fn encode_chunked(body: &[u8], sizes: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = body;
    let mut sizes = sizes.iter().cycle();
    while !rest.is_empty() {
        let size = (*sizes.next().unwrap_or(&1)).clamp(1, rest.len());
        out.extend(format!("{size:x}\r\n").bytes());
        out.extend_from_slice(&rest[..size]);
        out.extend(b"\r\n");
        rest = &rest[size..];
    }
    out.extend(b"0\r\n\r\n");
    out
}

fn generated_request() -> impl Strategy<Value = Generated> {
    (
        prop::sample::select(vec!["GET", "POST", "PUT", "DELETE"]),
        "/[a-z0-9/]{0,20}(\\?[a-z=&]{0,10})?",
        prop::collection::vec(("X-[A-Za-z0-9-]{1,10}", "[ -~]{0,30}"), 0..5),
        prop::collection::vec(any::<u8>(), 0..300),
        prop::option::of(prop::collection::vec(1usize..50, 1..5)),
    )
        .prop_map(|(method, path, headers, body, chunk_sizes)| Generated {
            method,
            path,
            // Values are sent as is; leading and trailing spaces are not part of a value.
            headers: headers
                .into_iter()
                .map(|(name, value)| (name, value.trim().to_string()))
                .collect(),
            body,
            chunk_sizes,
        })
}

/// What a request is, for comparing two parses.
fn summary(request: &Request) -> (String, String, Vec<(String, Vec<u8>)>, Bytes) {
    (
        request.method_str().to_string(),
        request.target().to_string(),
        request
            .headers()
            .map(|(name, value)| (name.to_string(), value.to_vec()))
            .collect(),
        request.body().clone(),
    )
}

/// Reads requests off `pieces` arriving one after another, the way the
/// connection loop does: append, parse a head, then its body.
fn parse_stream(pieces: &[&[u8]]) -> Result<Vec<Request>, HttpError> {
    let mut buffer = BytesMut::new();
    let mut requests = Vec::new();
    let mut pieces = pieces.iter();
    let mut more = |buffer: &mut BytesMut| match pieces.next() {
        Some(piece) => {
            buffer.extend_from_slice(piece);
            true
        }
        None => false,
    };
    loop {
        let head = loop {
            if let Some(head) = parse_head(&buffer)? {
                break head;
            }
            if !more(&mut buffer) {
                return Ok(requests);
            }
        };
        let head_bytes = buffer
            .split_to(head.skip + head.len)
            .freeze()
            .slice(head.skip..);
        let body = match head.framing.clone()? {
            Framing::None => Bytes::new(),
            Framing::Length(length) => {
                let length = usize::try_from(length).expect("a generated length fits");
                while buffer.len() < length {
                    assert!(more(&mut buffer), "stream ended inside a body");
                }
                buffer.split_to(length).freeze()
            }
            Framing::Chunked => {
                let mut decoder = ChunkedDecoder::new(DEFAULT_BODY_LIMIT);
                let mut body = BytesMut::new();
                while !decoder.decode(&mut buffer, &mut body)? {
                    assert!(more(&mut buffer), "stream ended inside a chunked body");
                }
                body.freeze()
            }
        };
        requests.push(head.into_request(head_bytes, body, None));
    }
}

proptest! {
    #[test]
    fn any_split_of_a_pipelined_stream_parses_the_same(
        requests in prop::collection::vec(generated_request(), 1..5),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let stream: Vec<u8> = requests.iter().flat_map(Generated::encode).collect();
        let whole = parse_stream(&[&stream]).expect("a generated stream is valid");
        prop_assert_eq!(whole.len(), requests.len());
        for (parsed, generated) in whole.iter().zip(&requests) {
            prop_assert_eq!(parsed.body().as_ref(), &generated.body[..]);
        }

        let mut points: Vec<usize> = cuts.iter().map(|cut| cut.index(stream.len() + 1)).collect();
        points.sort_unstable();
        points.dedup();
        let mut pieces = Vec::new();
        let mut start = 0;
        for point in points.into_iter().chain([stream.len()]) {
            pieces.push(&stream[start..point]);
            start = point;
        }
        let split = parse_stream(&pieces).expect("the same stream, split");
        prop_assert_eq!(
            whole.iter().map(summary).collect::<Vec<_>>(),
            split.iter().map(summary).collect::<Vec<_>>()
        );
    }

    #[test]
    fn random_bytes_never_panic_and_never_ask_to_buffer_past_the_limits(
        bytes in prop::collection::vec(any::<u8>(), 0..20_000),
    ) {
        // "Need more" is only ever said for a buffer within the head limits:
        // past them, the answer is an error, so the buffer cannot grow forever.
        if let Ok(None) = parse_head(&bytes) {
            prop_assert!(bytes.len() <= MAX_REQUEST_LINE + 2 + MAX_HEADER_SECTION + 2 * 8);
        }
    }

    #[test]
    fn random_bytes_after_a_request_head_never_panic_the_body_parser(
        bytes in prop::collection::vec(any::<u8>(), 0..5_000),
    ) {
        let mut input = BytesMut::from(&bytes[..]);
        let mut body = BytesMut::new();
        let mut decoder = ChunkedDecoder::new(DEFAULT_BODY_LIMIT);
        if let Ok(false) = decoder.decode(&mut input, &mut body) {
            // Waiting for more: at most one line's worth is left unconsumed.
            prop_assert!(input.len() <= MAX_CHUNK_LINE.max(MAX_TRAILERS) + 1);
        }
        prop_assert!(body.len() <= DEFAULT_BODY_LIMIT);
    }

    #[test]
    fn chunked_encoding_round_trips(
        body in prop::collection::vec(any::<u8>(), 0..2_000),
        sizes in prop::collection::vec(1usize..300, 1..8),
        split in any::<prop::sample::Index>(),
    ) {
        let encoded = encode_chunked(&body, &sizes);
        let at = split.index(encoded.len() + 1);
        let mut decoder = ChunkedDecoder::new(DEFAULT_BODY_LIMIT);
        let mut decoded = BytesMut::new();
        let mut input = BytesMut::from(&encoded[..at]);
        let done_early = decoder.decode(&mut input, &mut decoded).expect("valid chunked data");
        input.extend_from_slice(&encoded[at..]);
        let done = done_early || decoder.decode(&mut input, &mut decoded).expect("valid chunked data");
        prop_assert!(done);
        prop_assert!(input.is_empty());
        prop_assert_eq!(&decoded[..], &body[..]);
    }
}
