//! The solution to `examples/exercise-shout.rs`: paste this `shout` over yours.
//!
//! What to notice: it works on bytes, not on a `String`. A chunk read from
//! TCP may end in the middle of a multi-byte UTF-8 character, or not be
//! UTF-8 at all, so turning it into text first would fail or change bytes
//! (the checker's stage 2). ASCII letters are single bytes, so changing them
//! one byte at a time is safe whatever surrounds them.

// ANCHOR: shout
/// Turns every ASCII letter in `bytes` into a capital, in place, and leaves
/// every other byte as it is.
pub fn shout(bytes: &mut [u8]) {
    bytes.make_ascii_uppercase();
}
// ANCHOR_END: shout
