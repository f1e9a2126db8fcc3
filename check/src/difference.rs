//! How a reply differs from what was expected, named the way a learner would
//! name the mistake: bytes added, bytes changed, bytes missing.
//!
//! What to notice: "got the wrong bytes" is not a diagnosis. A server that
//! adds a newline to its echo, one that shouts it back in capitals, and one
//! that stops halfway made three different mistakes, and each has its own
//! fix. [`Difference::of`] tells them apart by comparing the two byte
//! strings; how the read ended (closed early, timed out) is the caller's to
//! add, since only it knows.

use crate::escape::{show, show_window};

/// How `got` differs from `expected`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// They are equal.
    Same,
    /// All of `expected` came, then these bytes more.
    AddedAfter(Vec<u8>),
    /// These bytes came first, then all of `expected`.
    AddedBefore(Vec<u8>),
    /// The first `came` bytes of `expected` came, and no more.
    Missing {
        /// How many bytes came (all right).
        came: usize,
    },
    /// As many bytes as expected, but some differ, the first at `at`.
    Changed {
        /// Where the first different byte is.
        at: usize,
    },
    /// Another length and other bytes: they part at `at`.
    Other {
        /// Where the two first part.
        at: usize,
    },
}

impl Difference {
    /// Compares `got` with `expected`.
    pub fn of(expected: &[u8], got: &[u8]) -> Difference {
        if expected == got {
            return Difference::Same;
        }
        if let Some(extra) = got.strip_prefix(expected) {
            return Difference::AddedAfter(extra.to_vec());
        }
        if let Some(extra) = got.strip_suffix(expected) {
            return Difference::AddedBefore(extra.to_vec());
        }
        if expected.starts_with(got) {
            return Difference::Missing { came: got.len() };
        }
        let at = expected
            .iter()
            .zip(got)
            .take_while(|(wanted, came)| wanted == came)
            .count();
        if expected.len() == got.len() {
            Difference::Changed { at }
        } else {
            Difference::Other { at }
        }
    }

    /// The mistake in a few words, for a hint: `your server added "\n"
    /// after the echo`. `None` for [`Difference::Same`], and for
    /// [`Difference::Other`], where only the stage knows what to say.
    /// `reply` names what was checked (`the echo`, `the body`).
    pub fn mistake(&self, expected: &[u8], got: &[u8], reply: &str) -> Option<String> {
        Some(match self {
            Difference::Same | Difference::Other { .. } => return None,
            Difference::AddedAfter(extra) => format!(
                "bytes added: {reply} was right, then {} more came ({})",
                extra.len(),
                show(extra)
            ),
            Difference::AddedBefore(extra) => format!(
                "bytes added: {} came before {reply} ({})",
                extra.len(),
                show(extra)
            ),
            Difference::Missing { came: 0 } => format!("bytes missing: none of {reply} came"),
            Difference::Missing { came } => format!(
                "bytes missing: only the first {came} of the {} bytes came",
                expected.len()
            ),
            Difference::Changed { at } => format!(
                "bytes changed: as many bytes came as expected, but from byte {at} {} came where {} was expected",
                show_window(got, *at),
                show_window(expected, *at)
            ),
        })
    }

    /// [`Difference::mistake`] for an echo, with what to do about it.
    pub fn echo_mistake(&self, expected: &[u8], got: &[u8]) -> Option<String> {
        let mistake = self.mistake(expected, got, "the echo")?;
        let fix = match self {
            Difference::AddedAfter(_) => {
                "; send back exactly what was sent, adding nothing (no newline, no prompt)"
            }
            Difference::AddedBefore(_) => "; send back only what was sent",
            Difference::Changed { .. } => "; send each byte back as it came",
            _ => "",
        };
        Some(format!("{mistake}{fix}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_way_of_going_wrong_has_its_name() {
        let table: [(&[u8], Difference); 6] = [
            (b"hello\n", Difference::Same),
            (b"hello\n\n", Difference::AddedAfter(b"\n".to_vec())),
            (b"> hello\n", Difference::AddedBefore(b"> ".to_vec())),
            (b"hel", Difference::Missing { came: 3 }),
            (b"HELLO\n", Difference::Changed { at: 0 }),
            (b"help", Difference::Other { at: 3 }),
        ];
        for (got, difference) in table {
            assert_eq!(Difference::of(b"hello\n", got), difference, "{got:?}");
        }
    }

    #[test]
    fn the_mistake_quotes_the_bytes() {
        let added = Difference::of(b"hello\n", b"hello\n\n");
        let said = added
            .mistake(b"hello\n", b"hello\n\n", "the echo")
            .expect("a mistake");
        assert!(
            said.starts_with(
                r#"bytes added: the echo was right, then 1 more came ("\n" (1 byte))"#
            ),
            "{said}"
        );
        let changed = Difference::of(b"hello\n", b"HELLO\n");
        let said = changed
            .mistake(b"hello\n", b"HELLO\n", "the echo")
            .expect("a mistake");
        assert!(
            said.contains(r#"from byte 0 "HELLO\n" came where "hello\n" was expected"#),
            "{said}"
        );
        assert_eq!(Difference::of(b"a", b"a").mistake(b"a", b"a", "x"), None);
    }
}
