//! Domain names: labels on the wire, and the compression pointers in between.
//!
//! What to notice:
//! - **On the wire a name is a list of labels**, each a length byte and
//!   that many bytes, ending with a zero: `www.plants.test` is
//!   `3 www 6 plants 4 test 0` (RFC 1035 section 3.1). No dots, no text
//!   parsing: a label may hold any byte, even a dot.
//! - **Compression** (section 4.1.4): a name may end with a *pointer*, two
//!   bytes starting with the bits `11`, holding the offset of an earlier name
//!   in the same message whose end it shares. `www.plants.test` in an answer
//!   is written `3 www` + pointer to where `plants.test` already appeared.
//! - **Pointers are where DNS parsers break.** A pointer to itself, two
//!   pointers to each other, a pointer past the end of the message, a
//!   label running past it, a name of a thousand labels: each has crashed
//!   or hung real servers. [`Name::read`] accepts only pointers that go
//!   *strictly backwards* from where the current stretch of labels began, so
//!   every jump lands earlier than the last and reading must end; every byte
//!   it touches is bounds-checked; and a name longer than 255 bytes is an
//!   error (section 2.3.4). A malformed name is an error, never a panic or
//!   a loop (the fuzz test in `tests/dns_fuzz.rs` throws random bytes at it).
//! - Names compare without regard to ASCII case (`WWW.Plants.TEST` is
//!   `www.plants.test`), but the question is answered in the case it came
//!   in: some resolvers randomise the case as a check on forged answers.
//!
//! A [`Name`] is held in its uncompressed wire form in a fixed array, so
//! parsing a query allocates nothing.

use std::fmt;
use std::hash::{Hash, Hasher};

/// The longest name, in wire bytes, final zero included (RFC 1035 section 2.3.4).
pub const MAX_NAME: usize = 255;

/// The longest label (section 2.3.4): its length byte has 6 usable bits.
pub const MAX_LABEL: usize = 63;

/// Why a name could not be read or made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    /// A length byte, a label or a pointer runs past the end of the message.
    PastEnd,
    /// A pointer that does not point strictly backwards (a loop, or a
    /// forward jump).
    BadPointer,
    /// A length byte starting with the bits `01` or `10`: label types that
    /// were never deployed (RFC 6891 section 5).
    BadLabelType,
    /// More than [`MAX_NAME`] bytes.
    TooLong,
    /// A label of more than [`MAX_LABEL`] bytes, or an empty one inside a
    /// name (`a..b`), in a name written as text.
    BadLabel,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameError::PastEnd => "a name runs past the end of the message",
            NameError::BadPointer => "a compression pointer that does not point backwards",
            NameError::BadLabelType => "an unknown label type",
            NameError::TooLong => "a name longer than 255 bytes",
            NameError::BadLabel => "a label that is empty or longer than 63 bytes",
        })
    }
}

/// A domain name, uncompressed, in its wire form.
#[derive(Clone)]
pub struct Name {
    /// Length-prefixed labels, then the zero; `len` bytes of it are used.
    wire: [u8; MAX_NAME],
    len: u8,
}

impl Name {
    /// The root, `.`: just the zero.
    pub fn root() -> Name {
        Name {
            wire: [0; MAX_NAME],
            len: 1,
        }
    }

    /// The wire form, uncompressed, final zero included.
    pub fn as_wire(&self) -> &[u8] {
        &self.wire[..usize::from(self.len)]
    }

    /// Whether this is the root.
    pub fn is_root(&self) -> bool {
        self.len == 1
    }

    /// The labels, first (leftmost) to last; the root has none.
    pub fn labels(&self) -> Labels<'_> {
        Labels {
            wire: self.as_wire(),
        }
    }

    /// Appends a label, before the final zero is written by [`finish`].
    fn push_label(&mut self, label: &[u8]) -> Result<(), NameError> {
        if label.is_empty() || label.len() > MAX_LABEL {
            return Err(NameError::BadLabel);
        }
        let start = usize::from(self.len) - 1;
        // Compare what the name would hold with the limit: the label, its
        // length byte and the final zero.
        if start + 1 + label.len() + 1 > MAX_NAME {
            return Err(NameError::TooLong);
        }
        self.wire[start] = label.len() as u8;
        self.wire[start + 1..start + 1 + label.len()].copy_from_slice(label);
        self.wire[start + 1 + label.len()] = 0;
        self.len = (start + 1 + label.len() + 1) as u8;
        Ok(())
    }

    // ANCHOR: read
    /// Reads the name at `offset` in `message`, following compression
    /// pointers; returns it and the offset just after it (after its first
    /// pointer, if it has one).
    pub fn read(message: &[u8], offset: usize) -> Result<(Name, usize), NameError> {
        let mut name = Name::root();
        let mut position = offset;
        // Where the current stretch of labels began: a pointer must land
        // strictly before it, so each jump goes further back, and reading
        // ends after at most `offset` jumps.
        let mut stretch_start = offset;
        let mut after_name = None;
        loop {
            let length = *message.get(position).ok_or(NameError::PastEnd)?;
            match length & 0b1100_0000 {
                0b0000_0000 if length == 0 => {
                    let next = after_name.unwrap_or(position + 1);
                    return Ok((name, next));
                }
                0b0000_0000 => {
                    let start = position + 1;
                    let end = start + usize::from(length);
                    let label = message.get(start..end).ok_or(NameError::PastEnd)?;
                    name.push_label(label)?;
                    position = end;
                }
                0b1100_0000 => {
                    let low = *message.get(position + 1).ok_or(NameError::PastEnd)?;
                    let target = usize::from(length & 0b0011_1111) << 8 | usize::from(low);
                    if target >= stretch_start {
                        return Err(NameError::BadPointer);
                    }
                    after_name.get_or_insert(position + 2);
                    stretch_start = target;
                    position = target;
                }
                _ => return Err(NameError::BadLabelType),
            }
        }
    }
    // ANCHOR_END: read

    /// A name written as text, as in a zone file: `www`, `www.plants.test.`,
    /// `@`. A name not ending in a dot is relative to `origin`.
    pub fn from_text(text: &str, origin: &Name) -> Result<Name, NameError> {
        if text == "@" {
            return Ok(origin.clone());
        }
        if text == "." {
            return Ok(Name::root());
        }
        let (labels, absolute) = match text.strip_suffix('.') {
            Some(labels) => (labels, true),
            None => (text, false),
        };
        let mut name = Name::root();
        for label in labels.split('.') {
            name.push_label(label.as_bytes())?;
        }
        if !absolute {
            for label in origin.labels() {
                name.push_label(label)?;
            }
        }
        Ok(name)
    }

    /// The same name in lower case: the form names are looked up in.
    pub fn to_lowercase(&self) -> Name {
        let mut lower = self.clone();
        // Length bytes are below 64, never in `A..=Z` (65..=90).
        lower.wire[..usize::from(self.len)].make_ascii_lowercase();
        lower
    }

    /// Whether this name is `zone` or below it (`www.plants.test` is
    /// within `plants.test`), without regard to case.
    pub fn is_within(&self, zone: &Name) -> bool {
        self.suffix_offsets()
            .any(|at| self.as_wire()[at..].eq_ignore_ascii_case(zone.as_wire()))
    }

    /// The name one label up (`plants.test` for `www.plants.test`); the
    /// root has none.
    pub fn parent(&self) -> Option<Name> {
        let first = usize::from(*self.wire.first()?);
        if self.is_root() {
            return None;
        }
        let rest = &self.as_wire()[1 + first..];
        let mut parent = Name::root();
        parent.wire[..rest.len()].copy_from_slice(rest);
        parent.len = rest.len() as u8;
        Some(parent)
    }

    /// The offsets in [`as_wire`](Self::as_wire) where each suffix starts:
    /// `www.plants.test`, `plants.test`, `test`, and the root.
    pub fn suffix_offsets(&self) -> impl Iterator<Item = usize> + '_ {
        let wire = self.as_wire();
        let mut at = Some(0);
        std::iter::from_fn(move || {
            let here = at?;
            let length = usize::from(wire[here]);
            at = (length != 0).then_some(here + 1 + length);
            Some(here)
        })
    }
}

impl PartialEq for Name {
    /// Byte for byte: compare lowercase names for DNS's case-blind equality.
    fn eq(&self, other: &Name) -> bool {
        self.as_wire() == other.as_wire()
    }
}

impl Eq for Name {}

impl Hash for Name {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_wire().hash(state);
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({self})")
    }
}

impl fmt::Display for Name {
    /// `www.plants.test.`, as dig prints it; bytes that are not visible
    /// ASCII, and dots inside a label, as `\DDD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_root() {
            return f.write_str(".");
        }
        for label in self.labels() {
            for &byte in label {
                if byte.is_ascii_graphic() && byte != b'.' && byte != b'\\' {
                    write!(f, "{}", byte as char)?;
                } else {
                    write!(f, "\\{byte:03}")?;
                }
            }
            f.write_str(".")?;
        }
        Ok(())
    }
}

/// The labels of a name, first to last.
#[derive(Debug)]
pub struct Labels<'a> {
    wire: &'a [u8],
}

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let length = usize::from(*self.wire.first()?);
        if length == 0 {
            return None;
        }
        let label = self.wire.get(1..1 + length)?;
        self.wire = &self.wire[1 + length..];
        Some(label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(name: &str) -> Name {
        Name::from_text(name, &Name::root()).expect("a valid name")
    }

    #[test]
    fn a_name_is_length_prefixed_labels_and_a_zero() {
        assert_eq!(
            text("www.plants.test.").as_wire(),
            b"\x03www\x06plants\x04test\x00"
        );
        assert_eq!(text("www.plants.test.").to_string(), "www.plants.test.");
        let origin = text("plants.test.");
        assert_eq!(
            Name::from_text("www", &origin),
            Ok(text("www.plants.test."))
        );
        assert_eq!(Name::from_text("@", &origin), Ok(origin.clone()));
    }

    #[test]
    fn reading_follows_a_pointer_backwards() {
        // 12 bytes of header, then `plants.test` at 12, then `www` + pointer to 12.
        let mut message = vec![0u8; 12];
        message.extend_from_slice(b"\x06plants\x04test\x00");
        let www = message.len();
        message.extend_from_slice(b"\x03www\xc0\x0c");
        message.push(0xee); // what comes after the name
        let (name, next) = Name::read(&message, www).expect("valid");
        assert_eq!(name, text("www.plants.test."));
        assert_eq!(next, www + 6, "just after the pointer");
        assert_eq!(message[next], 0xee);
    }

    #[test]
    fn malformed_names_are_errors_not_loops_or_panics() {
        let header = [0u8; 12];
        let with = |name: &[u8]| [&header[..], name].concat();
        let table: &[(&[u8], NameError)] = &[
            (b"\xc0\x0c", NameError::BadPointer),      // points at itself
            (b"\x01a\xc0\x0c", NameError::BadPointer), // points back to its own start
            (b"\xc0\x20", NameError::BadPointer),      // points forwards
            (b"\xc0", NameError::PastEnd),             // half a pointer
            (b"\x05ab", NameError::PastEnd),           // label past the end
            (b"\x03www", NameError::PastEnd),          // no final zero
            (b"", NameError::PastEnd),
            (b"\x41ab\x00", NameError::BadLabelType),
            (b"\x81ab\x00", NameError::BadLabelType),
        ];
        for (name, error) in table {
            assert_eq!(
                Name::read(&with(name), 12).map(|_| ()),
                Err(*error),
                "{name:?}"
            );
        }
    }

    #[test]
    fn two_pointers_to_each_other_are_refused() {
        // At 12: pointer to 14; at 14: pointer to 12.
        let mut message = vec![0u8; 12];
        message.extend_from_slice(b"\xc0\x0e\xc0\x0c");
        assert_eq!(
            Name::read(&message, 14).map(|_| ()),
            Err(NameError::BadPointer)
        );
        assert_eq!(
            Name::read(&message, 12).map(|_| ()),
            Err(NameError::BadPointer)
        );
    }

    #[test]
    fn a_name_may_be_255_bytes_not_256() {
        // Labels of 63 bytes: 4 of them take 4 * 64 + 1 = 257 bytes, too
        // many; build names of exactly 254, 255 and 256 bytes.
        for (total, fits) in [(254, true), (255, true), (256, false)] {
            let mut wire = Vec::new();
            let mut left = total - 1; // the final zero
            while left > 0 {
                let label = (left - 1).min(MAX_LABEL);
                wire.push(label as u8);
                wire.extend(std::iter::repeat_n(b'a', label));
                left -= label + 1;
            }
            wire.push(0);
            assert_eq!(wire.len(), total);
            let result = Name::read(&wire, 0);
            assert_eq!(result.is_ok(), fits, "{total} bytes: {result:?}");
            if !fits {
                assert_eq!(result.map(|_| ()), Err(NameError::TooLong));
            }
        }
    }

    #[test]
    fn a_name_made_long_by_pointers_is_too_long() {
        // Each name points back to the previous one, adding a 63-byte label.
        let mut message = vec![0u8; 12];
        message.push(0);
        let mut previous = 12;
        for _ in 0..5 {
            let here = message.len();
            message.push(63);
            message.extend(std::iter::repeat_n(b'x', 63));
            message.extend_from_slice(&[0xc0 | (previous >> 8) as u8, previous as u8]);
            previous = here;
        }
        assert_eq!(
            Name::read(&message, previous).map(|_| ()),
            Err(NameError::TooLong)
        );
    }

    #[test]
    fn names_compare_within_zones_without_regard_to_case() {
        let zone = text("plants.test.");
        assert!(text("WWW.Plants.TEST.").is_within(&zone));
        assert!(text("plants.test.").is_within(&zone));
        assert!(!text("plants.test.example.").is_within(&zone));
        assert!(!text("xplants.test.").is_within(&zone));
        assert_eq!(
            text("WWW.Plants.test.").to_lowercase(),
            text("www.plants.test.")
        );
        assert_eq!(text("www.plants.test.").parent(), Some(zone));
    }
}
