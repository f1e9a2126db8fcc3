//! `src/shared/link.rs` is a copy of lesson 4's `http-server/src/redis_link.rs`,
//! so that each lesson stands alone. A copy drifts unless something checks
//! it: this does. Change both, or neither.

/// The file without its `//!` header (each copy says where it lives).
fn below_header(source: &str) -> Vec<&str> {
    source
        .lines()
        .skip_while(|line| line.starts_with("//!"))
        .collect()
}

#[test]
fn the_redis_link_is_lesson_4s_line_for_line_below_its_header() {
    let here = include_str!("../src/shared/link.rs");
    let lesson_4 = include_str!("../../http-server/src/redis_link.rs");
    let (here, lesson_4) = (below_header(here), below_header(lesson_4));
    let first_difference = here
        .iter()
        .zip(&lesson_4)
        .position(|(a, b)| a != b)
        .unwrap_or(here.len().min(lesson_4.len()));
    assert!(
        here == lesson_4,
        "ws-chat/src/shared/link.rs and http-server/src/redis_link.rs differ below their \
         headers, first at line {} of the body: {:?} here, {:?} in lesson 4",
        first_difference + 1,
        here.get(first_difference),
        lesson_4.get(first_difference)
    );
}

#[test]
fn its_limits_are_lesson_4s() {
    use std::time::Duration;
    use ws_chat::shared::link::{FIRST_RECONNECT_DELAY, MAX_RECONNECT_DELAY, REDIS_WAIT};
    // The values lesson 4's chapter and the reference page quote.
    assert_eq!(REDIS_WAIT, Duration::from_secs(2));
    assert_eq!(FIRST_RECONNECT_DELAY, Duration::from_millis(100));
    assert_eq!(MAX_RECONNECT_DELAY, Duration::from_secs(1));
}
