//! The book's reference page, read by the settings test: every setting a
//! server reads has a row there.

use std::collections::BTreeSet;

/// This checkout's reference page.
pub const REFERENCE_PAGE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/src/reference.md");

/// The settings the page lists for `lesson` under `## Settings`: the first
/// cell, in backticks, of each row in the "Every lesson" table and in the
/// lesson's own (`### smtp`).
pub fn documented_settings(page: &str, lesson: &str) -> BTreeSet<String> {
    let mut in_settings = false;
    let mut section = String::new();
    let mut names = BTreeSet::new();
    for line in page.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            in_settings = heading.trim() == "Settings";
        } else if let Some(heading) = line.strip_prefix("### ") {
            section = heading.replace('`', "").trim().to_string();
        } else if in_settings && (section == "Every lesson" || section == lesson) {
            let name = line
                .strip_prefix("| `")
                .and_then(|row| row.split_once('`'))
                .map(|(name, _)| name);
            names.extend(name.map(str::to_string));
        }
    }
    names
}
