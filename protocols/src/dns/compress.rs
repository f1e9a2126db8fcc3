//! The message writer, and name compression in answers.
//!
//! What to notice: an answer repeats the same names over and over
//! (`www.plants.test` in the question, again as the answer's owner,
//! `plants.test` in every record of the zone). RFC 1035 section 4.1.4 lets a
//! name end with a two-byte pointer to an earlier copy of its tail, and a
//! UDP answer must fit in 512 bytes (without EDNS), so every server does it.
//! The writer remembers where each name suffix it wrote begins; before
//! writing a label, it looks for the rest of the name among those, and if
//! it finds it, writes a pointer instead. Only offsets below 16,384 fit in
//! a pointer's 14 bits.

use crate::dns::name::Name;

/// The largest offset a pointer can hold (14 bits).
const MAX_POINTER_OFFSET: usize = 0x3fff;

/// A DNS message being written.
#[derive(Debug, Default)]
pub struct MessageWriter {
    buf: Vec<u8>,
    /// Offsets in `buf` where a name, or a name's tail, was written in full
    /// (labels, not only a pointer): targets for later pointers.
    suffixes: Vec<u16>,
}

impl MessageWriter {
    /// An empty writer.
    pub fn new() -> MessageWriter {
        MessageWriter::default()
    }

    /// Empties the writer for the next message, keeping its memory.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.suffixes.clear();
    }

    /// The message so far.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Its length.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Cuts the message back to `len` bytes, forgetting names written past it.
    pub fn truncate(&mut self, len: usize) {
        self.buf.truncate(len);
        self.suffixes.retain(|&at| usize::from(at) < len);
    }

    /// Appends a byte.
    pub fn put_u8(&mut self, value: u8) {
        self.buf.push(value);
    }

    /// Appends a 16-bit number, most significant byte first ("network order").
    pub fn put_u16(&mut self, value: u16) {
        self.buf.extend_from_slice(&value.to_be_bytes());
    }

    /// Appends a 32-bit number, network order.
    pub fn put_u32(&mut self, value: u32) {
        self.buf.extend_from_slice(&value.to_be_bytes());
    }

    /// Appends bytes.
    pub fn put_slice(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Overwrites the 16-bit number at `at` (a length or a count).
    pub fn patch_u16(&mut self, at: usize, value: u16) {
        self.buf[at..at + 2].copy_from_slice(&value.to_be_bytes());
    }

    // ANCHOR: put_name
    /// Appends `name`, compressed: its longest tail already in the message
    /// becomes a pointer.
    pub fn put_name(&mut self, name: &Name) {
        let wire = name.as_wire();
        for at in name.suffix_offsets() {
            let suffix = &wire[at..];
            if suffix == [0] {
                break;
            }
            if let Some(earlier) = self.find(suffix) {
                self.put_u16(0b1100_0000_0000_0000 | earlier);
                return;
            }
            // Not there yet: write one label, and remember where this tail
            // starts for the names after us.
            if self.buf.len() <= MAX_POINTER_OFFSET {
                self.suffixes.push(self.buf.len() as u16);
            }
            let label_end = at + 1 + usize::from(wire[at]);
            self.buf.extend_from_slice(&wire[at..label_end]);
        }
        self.put_u8(0);
    }
    // ANCHOR_END: put_name

    /// The offset of an earlier copy of `suffix` (uncompressed wire form),
    /// compared without regard to case.
    fn find(&self, suffix: &[u8]) -> Option<u16> {
        self.suffixes
            .iter()
            .copied()
            .find(|&at| self.name_at_equals(usize::from(at), suffix))
    }

    /// Whether the name written at `at` (following our own pointers, which
    /// all point backwards) is `suffix`.
    fn name_at_equals(&self, mut at: usize, mut suffix: &[u8]) -> bool {
        loop {
            let Some(&length) = self.buf.get(at) else {
                return false;
            };
            if length & 0b1100_0000 == 0b1100_0000 {
                let Some(&low) = self.buf.get(at + 1) else {
                    return false;
                };
                at = usize::from(length & 0b0011_1111) << 8 | usize::from(low);
                continue;
            }
            let label_len = usize::from(length) + 1;
            let (Some(ours), Some(theirs)) =
                (self.buf.get(at..at + label_len), suffix.get(..label_len))
            else {
                return false;
            };
            if !ours.eq_ignore_ascii_case(theirs) {
                return false;
            }
            if length == 0 {
                return true;
            }
            at += label_len;
            suffix = &suffix[label_len..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(name: &str) -> Name {
        Name::from_text(name, &Name::root()).expect("a valid name")
    }

    #[test]
    fn a_repeated_tail_becomes_a_pointer_and_reads_back() {
        let mut out = MessageWriter::new();
        out.put_slice(&[0; 12]);
        out.put_name(&text("www.plants.test."));
        let second = out.len();
        out.put_name(&text("mail.Plants.TEST."));
        let third = out.len();
        out.put_name(&text("www.plants.test."));
        let bytes = out.bytes();
        // `mail` + pointer to `plants.test` at 16; then a pointer to 12.
        assert_eq!(&bytes[second..third], b"\x04mail\xc0\x10");
        assert_eq!(&bytes[third..], b"\xc0\x0c");
        assert_eq!(
            Name::read(bytes, second).expect("valid").0,
            text("mail.plants.test.")
        );
        assert_eq!(
            Name::read(bytes, third).expect("valid").0,
            text("www.plants.test.")
        );
    }

    #[test]
    fn a_name_with_nothing_in_common_is_written_whole() {
        let mut out = MessageWriter::new();
        out.put_name(&text("a.example."));
        let second = out.len();
        out.put_name(&text("b.test."));
        assert_eq!(&out.bytes()[second..], b"\x01b\x04test\x00");
    }

    #[test]
    fn the_root_is_one_zero_byte() {
        let mut out = MessageWriter::new();
        out.put_name(&Name::root());
        out.put_name(&Name::root());
        assert_eq!(out.bytes(), b"\x00\x00");
    }
}
