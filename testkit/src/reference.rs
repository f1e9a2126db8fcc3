//! The book's reference page, "What every lesson promises", read by tests.
//!
//! What to notice: every setting a lesson reads goes through lesson 1's
//! helpers in `tcp-echo/src/config.rs`, which note its name
//! (`tcp_echo::config::settings_read`). A lesson's test runs its `from_env`,
//! then hands the names read to [`assert_settings_documented`], which checks
//! that each has a row on the page, in the "Every lesson" table or in the
//! lesson's own. Add a setting without a row, and that test fails, naming it.

use std::collections::BTreeSet;

/// The reference page of this checkout's book.
pub const REFERENCE_PAGE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/src/reference.md");

/// The heading, under `## Settings`, of the table of settings every lesson
/// reads.
pub const EVERY_LESSON: &str = "Every lesson";

/// The settings the page lists for `lesson` (a crate name, `udp-echo`): the
/// first cell, in backticks, of each table row under `## Settings`, in the
/// "Every lesson" section and in the lesson's own (`### udp-echo`).
pub fn documented_settings(page: &str, lesson: &str) -> BTreeSet<String> {
    let mut in_settings = false;
    let mut section = String::new();
    let mut names = BTreeSet::new();
    for line in page.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            in_settings = heading.trim() == "Settings";
        } else if let Some(heading) = line.strip_prefix("### ") {
            section = heading.replace('`', "").trim().to_string();
        } else if in_settings && (section == EVERY_LESSON || section == lesson) {
            let name = line
                .strip_prefix("| `")
                .and_then(|row| row.split_once('`'))
                .map(|(name, _)| name);
            if let Some(name) = name {
                names.insert(name.to_string());
            }
        }
    }
    names
}

/// Fails, naming them, if any of `read` (the settings `lesson`'s `from_env`
/// read) has no row for `lesson` on the reference page. Run `from_env` first,
/// and fail if it fails: the test environment must hold no bad setting, or
/// the settings after it would go unread and unchecked.
pub fn assert_settings_documented(lesson: &str, read: &[&str]) {
    assert!(!read.is_empty(), "{lesson}: no setting was read at all");
    let page = std::fs::read_to_string(REFERENCE_PAGE)
        .unwrap_or_else(|error| panic!("cannot read {REFERENCE_PAGE}: {error}"));
    let documented = documented_settings(&page, lesson);
    let missing: Vec<&str> = read
        .iter()
        .copied()
        .filter(|name| !documented.contains(*name))
        .collect();
    assert!(
        missing.is_empty(),
        "{lesson} reads {missing:?}, which docs/src/reference.md does not list: add a row \
         for each to the `### {lesson}` table under `## Settings` (default, meaning)"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "\
# What every lesson promises

## Settings

### Every lesson

| Setting | Default | Meaning |
|---|---|---|
| `HOST` | `127.0.0.1` | where |

### `udp-echo`

| Setting | Default | Meaning |
|---|---|---|
| `UDP_BUFFER_BYTES` | `65507` | buffer |

### tcp-echo

| `ECHO_MODE` | `async` | which |

## Routes

| `NOT_A_SETTING` | | |
";

    #[test]
    fn a_lesson_gets_the_common_rows_and_its_own_only() {
        let names = |lesson| {
            documented_settings(PAGE, lesson)
                .into_iter()
                .collect::<Vec<_>>()
        };
        assert_eq!(names("udp-echo"), ["HOST", "UDP_BUFFER_BYTES"]);
        assert_eq!(names("tcp-echo"), ["ECHO_MODE", "HOST"]);
        assert_eq!(names("ws-chat"), ["HOST"]);
    }
}
