//! The book's reference page, "What every lesson promises", read by tests.
//!
//! What to notice: every setting a lesson reads goes through the helpers in
//! `config.rs`, which note its name ([`settings_read`]). A lesson's test runs
//! its `from_env` and checks that each name read has a row on the page, in
//! the "Every lesson" table or in the lesson's own. Add a setting without a
//! row, and that test fails, naming it.

use std::collections::BTreeSet;
use std::fmt::Display;

use crate::config::settings_read;

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

/// Runs `from_env` (a lesson's configuration reader), then fails, naming
/// them, if any setting it read has no row for `lesson` on the reference
/// page. Also fails if `from_env` fails: the test environment must hold no
/// bad setting, or the settings after it would go unchecked.
pub fn assert_settings_documented<T, E: Display>(
    lesson: &str,
    from_env: impl FnOnce() -> Result<T, E>,
) {
    if let Err(error) = from_env() {
        panic!("{lesson}: reading the configuration failed: {error}");
    }
    let page = std::fs::read_to_string(REFERENCE_PAGE)
        .unwrap_or_else(|error| panic!("cannot read {REFERENCE_PAGE}: {error}"));
    let documented = documented_settings(&page, lesson);
    let missing: Vec<&str> = settings_read()
        .into_iter()
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
