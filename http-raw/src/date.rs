//! The `Date` header, formatted at most once a second.
//!
//! What to notice: every response carries a `Date` (RFC 9110 section 6.6.1),
//! in a fixed 29-byte format: `Sat, 21 Nov 2026 19:51:52 GMT`. Formatting a
//! date costs far more than copying 29 bytes, and at thousands of responses a
//! second the text changes only once a second. So each thread keeps the last
//! text it made, and makes a new one only when the second has changed.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

/// Length of an IMF-fixdate.
const DATE_LEN: usize = 29;

struct CachedDate {
    /// The Unix second `text` was made for.
    second: u64,
    text: [u8; DATE_LEN],
}

thread_local! {
    // Per thread, so no lock: each runtime worker has its own copy.
    static CACHED_DATE: RefCell<CachedDate> = const {
        RefCell::new(CachedDate { second: 0, text: [b' '; DATE_LEN] })
    };
}

/// Appends the current date, as an HTTP date, to `out`.
pub fn append_http_date(out: &mut Vec<u8>) {
    let now = SystemTime::now();
    let second = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    CACHED_DATE.with_borrow_mut(|cached| {
        if cached.second != second {
            let text = httpdate::fmt_http_date(now);
            if text.len() == DATE_LEN {
                cached.text.copy_from_slice(text.as_bytes());
                cached.second = second;
            }
        }
        out.extend_from_slice(&cached.text);
    });
}
