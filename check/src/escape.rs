//! Bytes as the checker shows them: `"hello\r\n"`, `"\x00\xff"`.
//!
//! What to notice: a server's reply is bytes, not text. Printing it as text
//! would hide exactly what the learner needs to see (a `\r` too many, a
//! `\x00`, bytes that are not UTF-8), so printable ASCII is shown as is and
//! every other byte as an escape, the way Rust writes a byte string.

use std::fmt::Write;

/// At most this many bytes of a payload are shown; a 4 MiB echo as
/// escapes would bury the one line that matters.
pub const SHOWN_BYTES: usize = 64;

/// `bytes` escaped and quoted, cut after [`SHOWN_BYTES`], with the length:
/// `"hello\n" (6 bytes)`.
pub fn show(bytes: &[u8]) -> String {
    show_from(bytes, 0)
}

/// Like [`show`], starting at byte `offset` (where two payloads differ):
/// `from byte 65536: "\x00\x01"... (4194304 bytes)`.
pub fn show_from(bytes: &[u8], offset: usize) -> String {
    let offset = offset.min(bytes.len());
    let end = bytes.len().min(offset + SHOWN_BYTES);
    let mut text = String::new();
    if offset > 0 {
        let _ = write!(text, "from byte {offset}: ");
    }
    text.push('"');
    for &byte in &bytes[offset..end] {
        push_escaped(&mut text, byte);
    }
    text.push('"');
    if end < bytes.len() {
        text.push_str("...");
    }
    let unit = if bytes.len() == 1 { "byte" } else { "bytes" };
    let _ = write!(text, " ({} {unit})", bytes.len());
    text
}

/// At most this many bytes are shown on each side of a difference.
pub const DIFFERENCE_WINDOW: usize = 12;

/// Up to [`DIFFERENCE_WINDOW`] bytes of `bytes` from `offset`, escaped and
/// quoted, with `...` if more follow: for showing where two payloads part.
pub fn show_window(bytes: &[u8], offset: usize) -> String {
    let offset = offset.min(bytes.len());
    let end = bytes.len().min(offset + DIFFERENCE_WINDOW);
    let mut text = String::from("\"");
    for &byte in &bytes[offset..end] {
        push_escaped(&mut text, byte);
    }
    text.push('"');
    if end < bytes.len() {
        text.push_str("...");
    }
    text
}

/// Where `expected` and `got` first differ, or `None` if they are equal.
/// When one is a prefix of the other, that is the shorter one's length.
pub fn first_difference(expected: &[u8], got: &[u8]) -> Option<usize> {
    if expected == got {
        return None;
    }
    let same = expected
        .iter()
        .zip(got)
        .take_while(|(wanted, came)| wanted == came)
        .count();
    Some(same)
}

/// Appends one byte as a Rust byte string would write it: printable ASCII
/// as is, `\n`, `\r`, `\t`, `\"`, `\\`, and `\xNN` for every other byte.
pub fn push_escaped(text: &mut String, byte: u8) {
    match byte {
        b'\n' => text.push_str("\\n"),
        b'\r' => text.push_str("\\r"),
        b'\t' => text.push_str("\\t"),
        b'"' => text.push_str("\\\""),
        b'\\' => text.push_str("\\\\"),
        0x20..=0x7e => text.push(char::from(byte)),
        _ => {
            let _ = write!(text, "\\x{byte:02x}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_escaped_like_a_rust_byte_string() {
        assert_eq!(
            show(b"GET / HTTP/1.1\r\n"),
            r#""GET / HTTP/1.1\r\n" (16 bytes)"#
        );
        assert_eq!(show(&[0, 0xff, b'"', b'\\']), r#""\x00\xff\"\\" (4 bytes)"#);
        assert_eq!(show(b""), r#""" (0 bytes)"#);
        assert_eq!(show(b"a"), r#""a" (1 byte)"#);
    }

    #[test]
    fn long_payloads_are_cut_and_keep_their_length() {
        let long = vec![b'a'; 100];
        let shown = show(&long);
        assert!(shown.ends_with(r#""... (100 bytes)"#), "{shown}");
        assert_eq!(shown.matches('a').count(), SHOWN_BYTES);
        assert_eq!(show_from(b"abcdef", 4), r#"from byte 4: "ef" (6 bytes)"#);
    }

    #[test]
    fn first_difference_finds_where_payloads_part() {
        assert_eq!(first_difference(b"abc", b"abc"), None);
        assert_eq!(first_difference(b"abc", b"abd"), Some(2));
        assert_eq!(first_difference(b"abc", b"ab"), Some(2));
        assert_eq!(first_difference(b"", b"x"), Some(0));
    }
}
