//! The WebSocket opening handshake (RFC 6455 section 4), done by hand.
//!
//! What to notice: a WebSocket starts life as an ordinary HTTP request,
//! read by lesson 3's parser:
//!
//! ```text
//! GET /ws HTTP/1.1
//! Host: 127.0.0.1:8080
//! Upgrade: websocket
//! Connection: Upgrade
//! Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==
//! Sec-WebSocket-Version: 13
//! ```
//!
//! The server agrees with `101 Switching Protocols` and proves it understood
//! by hashing the client's key with a fixed GUID:
//! `Sec-WebSocket-Accept = base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))`.
//! After that blank line, the same TCP connection carries WebSocket frames,
//! not HTTP, in both directions, for as long as both sides like.
//!
//! The `Origin` check matters: browsers send cookies with WebSocket requests
//! to any site, so without it, a page on evil.example could open a socket to
//! this server *as the logged-in user* (cross-site WebSocket hijacking).
//! Browsers always send `Origin`; we accept our own, and those listed in
//! `ALLOWED_ORIGINS`. Non-browser clients (websocat) send none, and are fine.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use http_raw::{Request, Response, Version};
use sha1::{Digest, Sha1};

/// The fixed GUID of RFC 6455 section 1.3.
const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// ANCHOR: accept_key
/// `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key`.
pub fn accept_key(client_key: &str) -> String {
    let mut sha1 = Sha1::new();
    sha1.update(client_key.as_bytes());
    sha1.update(WEBSOCKET_GUID.as_bytes());
    BASE64.encode(sha1.finalize())
}
// ANCHOR_END: accept_key

// ANCHOR: check_upgrade
/// Checks an upgrade request. `Ok(accept key)`, or the response refusing it.
pub fn check_upgrade(request: &Request, allowed_origins: &[String]) -> Result<String, Response> {
    let wants_websocket = request.header_has_token("upgrade", "websocket")
        && request.header_has_token("connection", "upgrade");
    if !wants_websocket {
        let host = request.header("host").unwrap_or("127.0.0.1:8080");
        return Err(Response::text(
            426,
            format!(
                "426 Upgrade Required: /ws speaks WebSocket. Connect with a WebSocket client, \
                 e.g. `websocat ws://{host}/ws`, or open http://{host}/ in a browser.\n"
            ),
        )
        .with_header("Upgrade", "websocket")
        .with_header("Connection", "Upgrade"));
    }
    if request.version() != Version::Http11 {
        return Err(Response::text(
            400,
            "400 Bad Request: a WebSocket upgrade needs HTTP/1.1\n",
        ));
    }
    if request.header("sec-websocket-version") != Some("13") {
        return Err(Response::text(
            426,
            "426 Upgrade Required: only WebSocket version 13 is supported\n",
        )
        // RFC 9110 section 15.5.22: a 426 names the protocol to upgrade to
        // (and section 7.8: `Upgrade` goes with `Connection: Upgrade`);
        // RFC 6455 section 4.4: and the versions we speak.
        .with_header("Upgrade", "websocket")
        .with_header("Connection", "Upgrade")
        .with_header("Sec-WebSocket-Version", "13"));
    }
    let key = request
        .header("sec-websocket-key")
        .unwrap_or_default()
        .trim();
    let key_is_valid = BASE64.decode(key).is_ok_and(|nonce| nonce.len() == 16);
    if !key_is_valid {
        return Err(Response::text(
            400,
            "400 Bad Request: Sec-WebSocket-Key must be 16 bytes in base64\n",
        ));
    }
    if let Some(origin) = request.header("origin") {
        if !is_allowed_origin(origin, request.header("host"), allowed_origins) {
            return Err(Response::text(
                403,
                format!(
                    "403 Forbidden: pages from {origin} may not open this chat (set ALLOWED_ORIGINS to allow them)\n"
                ),
            ));
        }
    }
    Ok(accept_key(key))
}
// ANCHOR_END: check_upgrade

/// The `101 Switching Protocols` response that completes the handshake.
pub fn switching_protocols(accept: String) -> Response {
    Response::new(101)
        .with_header("Upgrade", "websocket")
        .with_header("Connection", "Upgrade")
        .with_header("Sec-WebSocket-Accept", accept)
}

/// An origin is allowed if it is listed, or if it names this very server
/// (`http://HOST` where HOST is the request's `Host`).
fn is_allowed_origin(origin: &str, host: Option<&str>, allowed: &[String]) -> bool {
    if allowed
        .iter()
        .any(|listed| listed.eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or_default();
    host.is_some_and(|host| !origin_host.is_empty() && origin_host.eq_ignore_ascii_case(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_key_matches_rfc_6455_example() {
        // RFC 6455 section 1.3's worked example.
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn origins() {
        let allowed = vec!["http://localhost:5173".to_string()];
        assert!(is_allowed_origin(
            "http://127.0.0.1:8080",
            Some("127.0.0.1:8080"),
            &allowed
        ));
        assert!(is_allowed_origin(
            "http://localhost:5173",
            Some("127.0.0.1:8080"),
            &allowed
        ));
        assert!(!is_allowed_origin(
            "https://evil.example",
            Some("127.0.0.1:8080"),
            &allowed
        ));
        assert!(!is_allowed_origin("null", Some("127.0.0.1:8080"), &allowed));
        assert!(!is_allowed_origin(
            "http://127.0.0.1:8080.evil.example",
            Some("127.0.0.1:8080"),
            &allowed
        ));
    }
}
