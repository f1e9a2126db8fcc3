//! The toolbox stands outside what it checks: neither `check` nor `testkit`
//! depends on a lesson crate, not even for tests, and no lesson has a
//! binary named `check` (which would collide with the toolbox's in
//! `target/debug/check`).
//!
//! What to notice: "a lesson" is every workspace member but these two, read
//! from `cargo metadata`, so a lesson added later is covered without a
//! change here.

use std::process::Command;

use serde_json::Value;

/// The workspace's packages, as `cargo metadata --no-deps` describes them.
fn workspace_packages() -> Vec<Value> {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "{output:?}");
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata's JSON");
    metadata["packages"]
        .as_array()
        .expect("a list of packages")
        .clone()
}

const TOOLING: [&str; 2] = ["check", "testkit"];

#[test]
fn neither_check_nor_testkit_depends_on_a_lesson() {
    let packages = workspace_packages();
    let lessons: Vec<&str> = packages
        .iter()
        .filter_map(|package| package["name"].as_str())
        .filter(|name| !TOOLING.contains(name))
        .collect();
    assert!(lessons.contains(&"tcp-echo"), "{lessons:?}");
    for package in &packages {
        let name = package["name"].as_str().unwrap_or_default();
        if !TOOLING.contains(&name) {
            continue;
        }
        let on_lessons: Vec<&str> = package["dependencies"]
            .as_array()
            .expect("a list of dependencies")
            .iter()
            .filter_map(|dependency| dependency["name"].as_str())
            .filter(|dependency| lessons.contains(dependency))
            .collect();
        assert!(
            on_lessons.is_empty(),
            "{name} depends on the lessons {on_lessons:?}: it must check them from the outside"
        );
    }
}

#[test]
fn no_lesson_has_a_binary_named_check() {
    for package in workspace_packages() {
        let name = package["name"].as_str().unwrap_or_default();
        if name == "check" {
            continue;
        }
        for target in package["targets"].as_array().expect("a list of targets") {
            let is_bin = target["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|kind| kind == "bin"));
            assert!(
                !(is_bin && target["name"] == "check"),
                "{name} has a binary named check: it would collide with the toolbox's"
            );
        }
    }
}
