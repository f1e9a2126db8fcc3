//! The conformance corpus (`conformance.txt`): each raw request, on a fresh
//! connection, must get the listed status, and the connection must close or
//! stay usable as listed.

mod support;

use support::*;

/// One line of the corpus.
struct Case {
    name: String,
    status: u16,
    keep: bool,
    request: Vec<u8>,
}

fn unescape(text: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some('r') => bytes.push(b'\r'),
            Some('n') => bytes.push(b'\n'),
            Some('t') => bytes.push(b'\t'),
            Some('0') => bytes.push(0),
            Some('\\') => bytes.push(b'\\'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                bytes.push(u8::from_str_radix(&hex, 16).unwrap_or_else(|_| panic!("bad \\x{hex}")));
            }
            other => panic!("unknown escape \\{other:?} in {text:?}"),
        }
    }
    bytes
}

fn corpus() -> Vec<Case> {
    include_str!("conformance.txt")
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| {
            let fields: Vec<&str> = line.splitn(4, " | ").collect();
            let [name, status, close, request] = fields[..] else {
                panic!("a corpus line needs 4 fields separated by \" | \": {line:?}");
            };
            Case {
                name: name.trim().to_string(),
                status: status
                    .trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("bad status in {line:?}")),
                keep: match close.trim() {
                    "keep" => true,
                    "close" => false,
                    other => panic!("expected keep or close, got {other:?} in {line:?}"),
                },
                request: unescape(request.trim_end()),
            }
        })
        .collect()
}

#[tokio::test]
async fn every_corpus_case_gets_its_status_and_connection_outcome() {
    let cases = corpus();
    assert!(
        cases.len() > 80,
        "the corpus has only {} cases",
        cases.len()
    );
    let server = start_server(config()).await;
    let mut failures = Vec::new();
    for case in &cases {
        let mut client = server.client().await;
        client.send(&case.request).await;
        let response = client.read_response().await;
        if response.status != case.status {
            failures.push(format!(
                "{}: expected {}, got {} ({:?}) for {}",
                case.name,
                case.status,
                response.status,
                response.body_text().trim_end(),
                quote(&case.request)
            ));
            continue;
        }
        if case.keep {
            assert!(
                !response.says_close(),
                "{}: the response says close",
                case.name
            );
            let next = client.exchange(&get("/hello", "")).await;
            if next.body != b"Hello, world" {
                failures.push(format!(
                    "{}: the next request on the connection got {}",
                    case.name, next.head
                ));
            }
        } else {
            assert!(
                response.says_close(),
                "{}: expected Connection: close in {}",
                case.name,
                response.head
            );
            client.expect_closed().await;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
