//! Exercises that cannot drift from their steps: an exercise file is a copy
//! of a build-along step with its holes marked, and its solution fills
//! exactly those holes.
//!
//! What to notice: copies kept in step by hand drift (a fix lands in the
//! step and not in the exercise). These checks compare the files line by
//! line, leaving out what is meant to differ: the `//!` header, the book's
//! `// ANCHOR` lines, blank lines, and what lies between a hole's markers,
//! `// EXERCISE ...` and `// EXERCISE END`. A failure names the first line
//! that differs.
//!
//! Two shapes of exercise exist. A whole-file exercise (lesson 5's
//! `exercise-me.rs`) is a step plus hole markers, and its solution is the
//! whole file, filled in: [`assert_is_step_with_holes`] and
//! [`assert_solution_fills_holes`]. A fragment solution (lessons 1-4's
//! `solutions/*.rs`) holds only the function the exercise's anchor marks,
//! with the `use` lines it needs: [`assert_fragment_fills_anchor`].

use std::path::Path;

/// Where a hole starts: `// EXERCISE` and what to write there.
const HOLE_START: &str = "// EXERCISE ";

/// Where a hole ends.
const HOLE_END: &str = "// EXERCISE END";

/// `path`'s lines, read from a crate's directory (`CARGO_MANIFEST_DIR`).
fn lines_of(crate_dir: &str, path: &str) -> Vec<String> {
    let full = Path::new(crate_dir).join(path);
    std::fs::read_to_string(&full)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", full.display()))
        .lines()
        .map(str::to_string)
        .collect()
}

/// Leaves out the `//!` header, the book's `// ANCHOR` lines and blank
/// lines (a hole's markers may sit between two).
fn code(lines: &[String]) -> Vec<(usize, &str)> {
    lines
        .iter()
        .enumerate()
        .map(|(index, line)| (index + 1, line.as_str()))
        .filter(|(_, line)| {
            let trimmed = line.trim_start();
            !trimmed.is_empty()
                && !trimmed.starts_with("//!")
                && !trimmed.starts_with("// ANCHOR:")
                && !trimmed.starts_with("// ANCHOR_END:")
        })
        .collect()
}

fn is_hole_start(line: &str) -> bool {
    let trimmed = line.trim_start();
    trimmed.starts_with(HOLE_START) && trimmed != HOLE_END
}

fn is_hole_end(line: &str) -> bool {
    line.trim_start() == HOLE_END
}

/// The code outside the holes, and what each hole holds (its marker line
/// first), in order.
type Split<'a> = (Vec<(usize, &'a str)>, Vec<Vec<(usize, &'a str)>>);

fn split_holes<'a>(path: &str, code: &[(usize, &'a str)]) -> Split<'a> {
    let mut outside = Vec::new();
    let mut holes: Vec<Vec<(usize, &str)>> = Vec::new();
    let mut in_hole = false;
    for &(number, line) in code {
        if is_hole_start(line) {
            assert!(!in_hole, "{path}:{number}: a hole opens inside a hole");
            in_hole = true;
            holes.push(vec![(number, line)]);
        } else if is_hole_end(line) {
            assert!(in_hole, "{path}:{number}: `{HOLE_END}` without a hole");
            in_hole = false;
            outside.push((number, line));
        } else if in_hole {
            holes
                .last_mut()
                .expect("a hole is open")
                .push((number, line));
        } else {
            outside.push((number, line));
        }
    }
    assert!(!in_hole, "{path}: a hole is never closed (`{HOLE_END}`)");
    // The marker line itself belongs outside too: both files must name
    // the same holes in the same places.
    for hole in &holes {
        outside.push(hole[0]);
    }
    outside.sort_unstable_by_key(|(number, _)| *number);
    (outside, holes)
}

/// Fails at the first line where `a` and `b` differ.
fn assert_same_lines(a_path: &str, a: &[(usize, &str)], b_path: &str, b: &[(usize, &str)]) {
    for (index, (left, right)) in a.iter().zip(b).enumerate() {
        assert_eq!(
            left.1,
            right.1,
            "{a_path}:{} and {b_path}:{} differ (line {} of the code compared)",
            left.0,
            right.0,
            index + 1
        );
    }
    assert_eq!(
        a.len(),
        b.len(),
        "{a_path} and {b_path} differ in length: one goes on after the other ends \
         ({a_path}: {:?}, {b_path}: {:?})",
        a.get(b.len()),
        b.get(a.len())
    );
}

/// Asserts the exercise `exercise` is the step `step` line for line, once
/// its hole markers are left out (paths relative to `crate_dir`), and has
/// at least one hole.
pub fn assert_is_step_with_holes(crate_dir: &str, step: &str, exercise: &str) {
    let step_lines = lines_of(crate_dir, step);
    let exercise_lines = lines_of(crate_dir, exercise);
    let exercise_code = code(&exercise_lines);
    let holes = exercise_code
        .iter()
        .filter(|(_, line)| is_hole_start(line))
        .count();
    assert!(holes > 0, "{exercise} marks no hole (`{HOLE_START}...`)");
    let unmarked: Vec<(usize, &str)> = exercise_code
        .into_iter()
        .filter(|(_, line)| !is_hole_start(line) && !is_hole_end(line))
        .collect();
    assert_same_lines(step, &code(&step_lines), exercise, &unmarked);
}

/// Asserts `solution` is `exercise` with each hole filled: the same lines
/// outside the holes, the same holes in the same places, and something new
/// in every hole.
pub fn assert_solution_fills_holes(crate_dir: &str, exercise: &str, solution: &str) {
    let exercise_lines = lines_of(crate_dir, exercise);
    let solution_lines = lines_of(crate_dir, solution);
    let exercise_code = code(&exercise_lines);
    let solution_code = code(&solution_lines);
    let (exercise_outside, exercise_holes) = split_holes(exercise, &exercise_code);
    let (solution_outside, solution_holes) = split_holes(solution, &solution_code);
    assert_same_lines(exercise, &exercise_outside, solution, &solution_outside);
    for (given, filled) in exercise_holes.iter().zip(&solution_holes) {
        assert_ne!(
            hole_text(given),
            hole_text(filled),
            "{solution}:{}: the hole {:?} is not filled",
            filled[0].0,
            filled[0].1.trim()
        );
    }
}

/// A hole's lines, without their line numbers.
fn hole_text<'a>(hole: &[(usize, &'a str)]) -> Vec<&'a str> {
    hole.iter().map(|(_, line)| *line).collect()
}

/// The lines between `// ANCHOR: name` and `// ANCHOR_END: name`.
fn anchor<'a>(path: &str, lines: &'a [String], name: &str) -> Vec<&'a str> {
    let start = format!("// ANCHOR: {name}");
    let end = format!("// ANCHOR_END: {name}");
    let from = lines
        .iter()
        .position(|line| line.trim() == start)
        .unwrap_or_else(|| panic!("{path} has no `{start}`"));
    let to = lines[from..]
        .iter()
        .position(|line| line.trim() == end)
        .unwrap_or_else(|| panic!("{path} has no `{end}` after `{start}`"));
    lines[from + 1..from + to]
        .iter()
        .map(String::as_str)
        .collect()
}

/// Asserts the fragment `solution` fills exactly the hole that `exercise`
/// marks with `// ANCHOR: name`: the same doc comment and signature (every
/// line up to the one that opens the body), a different body, and outside
/// the anchor nothing but `use` lines and items the exercise has too.
pub fn assert_fragment_fills_anchor(crate_dir: &str, exercise: &str, solution: &str, name: &str) {
    let exercise_lines = lines_of(crate_dir, exercise);
    let solution_lines = lines_of(crate_dir, solution);
    let given = anchor(exercise, &exercise_lines, name);
    let filled = anchor(solution, &solution_lines, name);
    let signature = |lines: &[&str]| -> usize {
        lines
            .iter()
            .position(|line| line.trim_end().ends_with('{'))
            .map_or(0, |at| at + 1)
    };
    let (given_head, filled_head) = (signature(&given), signature(&filled));
    assert!(given_head > 0, "{exercise}: `{name}` opens no body");
    assert_eq!(
        given[..given_head],
        filled[..filled_head],
        "{solution}: `{name}` must keep the exercise's doc comment and signature"
    );
    assert_ne!(
        given, filled,
        "{solution}: `{name}` is the exercise's, unfilled"
    );
    // Outside the anchor: `use` lines, or lines the exercise has too.
    let in_anchor = |lines: &[String], line_number: usize| {
        let start = format!("// ANCHOR: {name}");
        let end = format!("// ANCHOR_END: {name}");
        let from = lines.iter().position(|line| line.trim() == start);
        let to = lines.iter().position(|line| line.trim() == end);
        matches!((from, to), (Some(from), Some(to)) if (from..=to).contains(&line_number))
    };
    for (index, line) in solution_lines.iter().enumerate() {
        let trimmed = line.trim();
        let allowed = in_anchor(&solution_lines, index)
            || trimmed.is_empty()
            || trimmed.starts_with("//")
            || trimmed.starts_with("use ")
            || exercise_lines.iter().any(|other| other.trim() == trimmed);
        assert!(
            allowed,
            "{solution}:{}: {trimmed:?} is outside `{name}` and not in {exercise}",
            index + 1
        );
    }
}
