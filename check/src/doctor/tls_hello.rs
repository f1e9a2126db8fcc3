//! Enough TLS to tell whether a port speaks it: a ClientHello built by hand,
//! and the first bytes of a TLS record recognised.
//!
//! What to notice: the doctor does not need a TLS library to know whether a
//! server speaks TLS. Every TLS conversation is a stream of *records*, each
//! opening with a content type (22 = handshake, 21 = alert) and the version
//! bytes `0x03 0x0N` (RFC 8446 §5.1). A TLS server answers a ClientHello
//! with a handshake record (its ServerHello), or an alert if it dislikes the
//! hello; either way the reply starts `0x16 0x03` or `0x15 0x03`, and no
//! HTTP reply ever does. The doctor never completes the handshake, so it
//! says nothing about certificates.

/// A record's content type: a handshake message (ClientHello, ServerHello).
const HANDSHAKE: u8 = 0x16;
/// A record's content type: an alert (the server refuses something).
const ALERT: u8 = 0x15;

/// Whether `reply` begins like a TLS record (handshake or alert).
pub fn looks_like_tls(reply: &[u8]) -> bool {
    matches!(reply, [HANDSHAKE | ALERT, 0x03, ..])
}

/// A TLS 1.3 and 1.2 ClientHello for `host` (RFC 8446 §4.1.2): the common
/// cipher suites, X25519 and P-256, and the usual signature schemes, so that
/// any mainstream server (rustls, OpenSSL, Node) answers with a ServerHello.
/// `host` goes in the SNI extension unless it is an IP address (RFC 6066 §3
/// forbids literal addresses there).
pub fn client_hello(host: &str) -> Vec<u8> {
    let mut body = Vec::with_capacity(256);
    body.extend_from_slice(&[0x03, 0x03]); // legacy_version: TLS 1.2
    body.extend_from_slice(&[0x2a; 32]); // random: the doctor needs no secrecy
    body.push(0); // no legacy session id
    let suites: [u16; 9] = [
        0x1301, 0x1302, 0x1303, // TLS 1.3: AES-128-GCM, AES-256-GCM, ChaCha20
        0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, // TLS 1.2 ECDHE suites
    ];
    push_u16(&mut body, 2 * suites.len());
    for suite in suites {
        body.extend_from_slice(&suite.to_be_bytes());
    }
    body.extend_from_slice(&[1, 0]); // compression: none

    let mut extensions = Vec::with_capacity(128);
    if host.parse::<std::net::IpAddr>().is_err() {
        let mut names = vec![0]; // host_name
        push_u16(&mut names, host.len());
        names.extend_from_slice(host.as_bytes());
        let mut server_name = Vec::new();
        push_u16(&mut server_name, names.len());
        server_name.extend_from_slice(&names);
        push_extension(&mut extensions, 0x0000, &server_name);
    }
    // supported_groups: x25519, secp256r1.
    push_extension(&mut extensions, 0x000a, &[0, 4, 0x00, 0x1d, 0x00, 0x17]);
    // ec_point_formats: uncompressed (TLS 1.2 servers may want it).
    push_extension(&mut extensions, 0x000b, &[1, 0]);
    // signature_algorithms: ECDSA P-256, RSA-PSS, RSA PKCS#1, Ed25519.
    let schemes: [u16; 7] = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0807];
    let mut algorithms = Vec::new();
    push_u16(&mut algorithms, 2 * schemes.len());
    for scheme in schemes {
        algorithms.extend_from_slice(&scheme.to_be_bytes());
    }
    push_extension(&mut extensions, 0x000d, &algorithms);
    // supported_versions: TLS 1.3, TLS 1.2.
    push_extension(&mut extensions, 0x002b, &[4, 0x03, 0x04, 0x03, 0x03]);
    // key_share: one X25519 key. Its value is the curve's base point (the
    // public key of the private key 1): valid, and never used for secrets.
    let mut share = vec![0x00, 0x1d, 0, 32, 9];
    share.extend_from_slice(&[0; 31]);
    let mut key_share = Vec::new();
    push_u16(&mut key_share, share.len());
    key_share.extend_from_slice(&share);
    push_extension(&mut extensions, 0x0033, &key_share);
    push_u16(&mut body, extensions.len());
    body.extend_from_slice(&extensions);

    let mut handshake = vec![0x01]; // ClientHello
    let length = body.len().to_be_bytes();
    handshake.extend_from_slice(&length[length.len() - 3..]); // a 24-bit length
    handshake.extend_from_slice(&body);

    let mut record = vec![HANDSHAKE, 0x03, 0x01]; // record version: TLS 1.0, as RFC 8446 §5.1 asks
    push_u16(&mut record, handshake.len());
    record.extend_from_slice(&handshake);
    record
}

/// A big-endian 16-bit length. Every length here is a few hundred bytes at
/// most (a host name is capped at 253 by DNS), far below 65,535.
fn push_u16(out: &mut Vec<u8>, value: usize) {
    let value = u16::try_from(value).unwrap_or(u16::MAX);
    out.extend_from_slice(&value.to_be_bytes());
}

/// An extension: its type, its length, its data.
fn push_extension(out: &mut Vec<u8>, kind: u16, data: &[u8]) {
    out.extend_from_slice(&kind.to_be_bytes());
    push_u16(out, data.len());
    out.extend_from_slice(data);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hello_is_one_handshake_record_whose_lengths_add_up() {
        for host in ["localhost", "127.0.0.1"] {
            let hello = client_hello(host);
            assert!(looks_like_tls(&hello));
            let record_len = usize::from(u16::from_be_bytes([hello[3], hello[4]]));
            assert_eq!(record_len, hello.len() - 5, "{host}");
            let handshake_len =
                usize::from(hello[6]) << 16 | usize::from(hello[7]) << 8 | usize::from(hello[8]);
            assert_eq!(handshake_len, hello.len() - 9, "{host}");
            let has_sni = hello.windows(9).any(|window| window == b"localhost");
            assert_eq!(
                has_sni,
                host == "localhost",
                "SNI carries names, never addresses"
            );
        }
    }

    #[test]
    fn http_replies_do_not_look_like_tls() {
        assert!(!looks_like_tls(b"HTTP/1.1 400 Bad Request\r\n"));
        assert!(!looks_like_tls(b""));
        assert!(looks_like_tls(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32]));
    }
}
