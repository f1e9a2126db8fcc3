//! How fast the request parser is: `cargo bench -p http-raw`.
//!
//! Measures `parse_head` on a small request (what the benchmarks' `GET /hello`
//! sends), a browser-sized one, and a batch of 16 pipelined requests parsed
//! one after another, the way the connection loop does.

// criterion's macros generate public functions without doc comments.
#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http_raw::parse::parse_head;
use std::hint::black_box;

const SMALL: &[u8] = b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1:3000\r\n\r\n";

const BROWSER: &[u8] = b"GET /headers HTTP/1.1\r\n\
Host: 127.0.0.1:3000\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n\
Accept-Language: en-GB,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Connection: keep-alive\r\n\
Upgrade-Insecure-Requests: 1\r\n\
Sec-Fetch-Dest: document\r\n\
Sec-Fetch-Mode: navigate\r\n\
Sec-Fetch-Site: none\r\n\
Sec-Fetch-User: ?1\r\n\
Priority: u=0, i\r\n\r\n";

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse_head");
    for (name, request) in [("small", SMALL), ("browser", BROWSER)] {
        group.throughput(Throughput::Bytes(request.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                parse_head(black_box(request))
                    .ok()
                    .flatten()
                    .map(|head| head.len)
            })
        });
    }
    let pipelined: Vec<u8> = SMALL.repeat(16);
    group.throughput(Throughput::Elements(16));
    group.bench_function("pipelined_16", |b| {
        b.iter(|| {
            let mut rest = black_box(&pipelined[..]);
            while let Ok(Some(head)) = parse_head(rest) {
                rest = &rest[head.skip + head.len..];
            }
            rest.len()
        })
    });
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
