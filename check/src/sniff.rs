//! Before stage 1: what is on the other end? A server that speaks another
//! protocol than the lesson's is named in one sentence, with the command
//! that checks it, instead of failing stage 1 with a hint about the wrong
//! thing ("echo the bytes back" to an HTTP server).
//!
//! What to notice: the first bytes of a reply give the protocol away. HTTP
//! answers start `HTTP/1.`; TLS records start with a content type (`0x16`
//! handshake, `0x15` alert) and the major version `0x03`. The checker sends
//! a line to the echo and a TLS ClientHello to HTTP (a plain HTTP server
//! answers it with a 400 at once, a TLS server with its ServerHello), and looks at the first bytes that come back,
//! for at most [`SNIFF_WAIT`]; silence, or nothing listening, says nothing,
//! and stage 1 runs as usual.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::target::Target;

/// How long the checker waits for the first reply bytes: a server on the
/// same machine answers in microseconds; a server that says nothing is left
/// to stage 1.
pub const SNIFF_WAIT: Duration = Duration::from_secs(1);

/// The most reply bytes looked at.
const SNIFF_BYTES: usize = 1024;

/// What the first bytes of a reply say the server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spoken {
    /// An HTTP/1.x response.
    Http,
    /// An HTTP response refusing a plain request for a WebSocket upgrade
    /// (`426 Upgrade Required`).
    WebSocket,
    /// A TLS record: a ServerHello, or an alert refusing what was sent.
    Tls,
}

/// Names the protocol of a reply from its first bytes, if they tell.
pub fn identify(reply: &[u8]) -> Option<Spoken> {
    if reply.starts_with(b"HTTP/1.") {
        let status = reply.get(9..12);
        let upgrade = String::from_utf8_lossy(reply)
            .to_ascii_lowercase()
            .contains("upgrade: websocket");
        return Some(if status == Some(b"426") || upgrade {
            Spoken::WebSocket
        } else {
            Spoken::Http
        });
    }
    match reply {
        [0x15 | 0x16, 0x03, ..] => Some(Spoken::Tls),
        _ => None,
    }
}

/// The sentence for `lesson`'s checker meeting a server that speaks
/// `spoken`, or `None` when that is what the lesson speaks.
pub fn sentence(lesson: &str, given: &str, tls: bool, spoken: Spoken) -> Option<String> {
    let http_lesson = matches!(lesson, "first-server" | "http-raw" | "http-server");
    let addr = given
        .split_once("://")
        .map_or(given, |(_, rest)| rest)
        .trim_end_matches('/');
    Some(match spoken {
        Spoken::Http if tls => format!(
            "{given} answers in plain HTTP, not TLS: check it with `cargo run -p check -- {lesson} http://{addr}`"
        ),
        Spoken::Http if http_lesson => return None,
        Spoken::Http => format!(
            "what answers at {given} speaks HTTP, not {lesson}'s protocol: check it with \
             `cargo run -p check -- http-raw {given}` (or `first-server` for any small HTTP server)"
        ),
        Spoken::WebSocket if lesson == "ws-chat" => return None,
        Spoken::WebSocket => format!(
            "what answers at {given} is a WebSocket server (it asks for an upgrade): check it with \
             `cargo run -p check -- ws-chat ws://{addr}/ws`"
        ),
        Spoken::Tls if tls => return None,
        Spoken::Tls if http_lesson => format!(
            "what answers at {given} speaks TLS (HTTPS), not plain HTTP: give the address as https://{addr}"
        ),
        Spoken::Tls => format!(
            "what answers at {given} speaks TLS, not {lesson}'s plain protocol: point the checker at the plain port"
        ),
    })
}

/// The hint for a `426 Upgrade Required` where an HTTP page was asked for:
/// a WebSocket server is answering.
pub fn websocket_hint(status: u16, given: &str) -> Option<String> {
    (status == 426)
        .then(|| sentence("http-raw", given, false, Spoken::WebSocket).unwrap_or_default())
}

/// Probes the server at `target` as `lesson` would talk to it, and returns
/// the sentence if another protocol answers. UDP lessons and lessons whose
/// servers speak first (a greeting) are not probed.
pub async fn other_protocol(lesson: &str, target: &Target) -> Option<String> {
    let tls = target.given.starts_with("https://") || target.given.starts_with("wss://");
    // An HTTP server answers a ClientHello with a 400 at once, and a TLS
    // server with its ServerHello; neither counts it as a request served,
    // so a server that serves one request and stops is still there for
    // stage 1.
    let probe: Vec<u8> = match lesson {
        _ if tls => client_hello(),
        "first-server" | "http-raw" | "http-server" => client_hello(),
        "tcp-echo" => b"hello\n".to_vec(),
        _ => return None,
    };
    let reply = exchange(target, &probe).await?;
    sentence(lesson, &target.given, tls, identify(&reply)?)
}

/// Sends `probe` on a new connection and returns the first bytes back.
async fn exchange(target: &Target, probe: &[u8]) -> Option<Vec<u8>> {
    let mut stream = timeout(SNIFF_WAIT, TcpStream::connect(target.addr()))
        .await
        .ok()?
        .ok()?;
    timeout(SNIFF_WAIT, stream.write_all(probe))
        .await
        .ok()?
        .ok()?;
    let mut reply = vec![0u8; SNIFF_BYTES];
    let read = timeout(SNIFF_WAIT, stream.read(&mut reply))
        .await
        .ok()?
        .ok()?;
    reply.truncate(read);
    Some(reply)
}

/// A TLS 1.2/1.3 ClientHello (RFC 8446 section 4.1.2), enough for a TLS
/// server to answer with a ServerHello or an alert, and for a plain server
/// to answer with its own protocol's error.
fn client_hello() -> Vec<u8> {
    let mut hello = Vec::new();
    hello.extend_from_slice(&[0x03, 0x03]); // legacy_version TLS 1.2
    hello.extend_from_slice(&[0x5a; 32]); // random
    hello.push(0); // no session id
    // Cipher suites: TLS_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256.
    hello.extend_from_slice(&[0x00, 0x04, 0x13, 0x01, 0xc0, 0x2f]);
    hello.extend_from_slice(&[0x01, 0x00]); // compression: null
    hello.extend_from_slice(&[0x00, 0x00]); // no extensions
    let mut handshake = vec![0x01, 0x00];
    handshake.extend_from_slice(&u16::try_from(hello.len()).unwrap_or(0).to_be_bytes());
    handshake.extend_from_slice(&hello);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend_from_slice(&u16::try_from(handshake.len()).unwrap_or(0).to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_bytes_name_the_protocol() {
        assert_eq!(
            identify(b"HTTP/1.1 400 Bad Request\r\n"),
            Some(Spoken::Http)
        );
        assert_eq!(
            identify(b"HTTP/1.1 426 Upgrade Required\r\n"),
            Some(Spoken::WebSocket)
        );
        assert_eq!(
            identify(&[0x16, 0x03, 0x03, 0x00, 0x7a, 0x02]),
            Some(Spoken::Tls)
        );
        assert_eq!(
            identify(&[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46]),
            Some(Spoken::Tls)
        );
        assert_eq!(identify(b"hello\n"), None);
        assert_eq!(identify(b""), None);
    }

    #[test]
    fn each_mismatch_names_the_right_command() {
        let said = sentence("tcp-echo", "127.0.0.1:3000", false, Spoken::Http).expect("a mismatch");
        assert!(
            said.contains("cargo run -p check -- http-raw 127.0.0.1:3000"),
            "{said}"
        );
        let said = sentence("http-raw", "https://127.0.0.1:3443/", true, Spoken::Http)
            .expect("a mismatch");
        assert!(said.contains("http-raw http://127.0.0.1:3443`"), "{said}");
        let said = sentence("http-raw", "127.0.0.1:3443", false, Spoken::Tls).expect("a mismatch");
        assert!(said.contains("https://127.0.0.1:3443"), "{said}");
        let said =
            sentence("http-raw", "127.0.0.1:8080", false, Spoken::WebSocket).expect("a mismatch");
        assert!(said.contains("ws-chat ws://127.0.0.1:8080/ws"), "{said}");
        assert_eq!(
            sentence("http-raw", "127.0.0.1:3000", false, Spoken::Http),
            None
        );
    }

    #[test]
    fn the_client_hello_is_one_well_formed_record() {
        let hello = client_hello();
        let length = usize::from(u16::from_be_bytes([hello[3], hello[4]]));
        assert_eq!(hello.len(), 5 + length);
        assert_eq!(hello[5], 0x01, "a ClientHello");
    }
}
