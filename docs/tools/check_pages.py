#!/usr/bin/env python3
"""Checks that a build-it-yourself page is the program.

A learner builds each lesson in a crate of their own, from the page alone.
This script does exactly that, for every page in PAGES: it reads the page
with its `{{#include}}`s resolved the way mdBook resolves them (the text a
reader sees), types nothing the page does not show, and checks that what it
built does what the page says. Adding a page is one line in PAGES, once it
is marked up as below.

For each page, in a fresh folder outside the repository (the repository is
reachable from it as `../netlessons`, where the pages tell a learner to put
their crate: next to their clone of netlessons):

1. Each ```console block marked `<!-- setup -->` is run, command by command:
   `cargo new my-echo`, `cd my-echo`, `cargo add tokio --features full`,
   `cp -r ../netlessons/http-server/public .` and so on. Nothing else is
   added to the crate.
2. Each step's program is assembled from the page's own text, as rendered
   (`{{#include}}` resolved the way mdBook does):
   - a ```rust block marked `<!-- program: PATH -->` is (part of) the whole
     program for the step whose repository copy is PATH; several such
     blocks in a row are the parts of one file, one blank line apart; a
     Rust block that is nothing but `{{#include ../../PATH:all}}` of an
     example is PATH's whole program without a marker;
   - a ```diff block marked `<!-- diff: OLD NEW -->` is applied, exactly at
     the lines it names, to the program assembled for OLD, giving NEW's.
   The assembled program must equal the repository's copy (PATH, NEW)
   without its `//!` header and ANCHOR lines: so the example files that CI
   compiles and tests are exactly what the page teaches.
3. Each tested ```console transcript that starts a step
   (`cargo run -p CRATE --example NAME`, answered by a `listening on` line)
   is replayed on the learner's crate instead: the assembled program is
   written to src/main.rs and built (no warnings allowed: a warning is a
   line the learner did not write, or a dependency that moved), and
   check_book.py runs the whole transcript with that build in place of the
   repository's copy: every command (the lesson's checker, curl, nc,
   websocat) must print what the page shows, the checker's PASS and FAIL
   lines and reports included.
4. Every step program on the page must be run by such a transcript, and
   no rust block may hide lines (mdBook hides `# ` lines in Rust blocks, and
   wraps a playground block without `fn main` in a hidden one): every Rust
   block is `rust,noplayground` (or `rust,ignore`).

All crates share the workspace's target folder (or CARGO_TARGET_DIR), so
tokio and friends build once.
Standard library only; run from the repository root after
`cargo build --workspace --bins` (the checkers run from the workspace).

  python3 docs/tools/check_pages.py                  every page in PAGES
  python3 docs/tools/check_pages.py PAGE.md ...      only those pages
  python3 docs/tools/check_pages.py --workdir DIR    keep crates and builds in
                                                     DIR (faster re-runs)
  python3 docs/tools/check_pages.py --jobs N         N pages at once (default 1)
"""

import argparse
import concurrent.futures
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_book  # noqa: E402  (the book check: code_lines, run_block, ANSI_ESCAPE)

ROOT = check_book.ROOT

# The pages that build a program step by step, in the order of the book.
PAGES = [
    "docs/src/first-server.md",
    "docs/src/tcp-echo-build.md",
    "docs/src/udp-echo-build.md",
    "docs/src/http-raw-build.md",
    "docs/src/http-server-build.md",
    "docs/src/ws-chat-build.md",
]


FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.S | re.M)
MARKER = re.compile(r"<!--\s*(setup|program|diff|transcript)\b:?\s*(.*?)\s*-->", re.S)
INCLUDE = re.compile(r"\{\{\s*#include\s+([^}\s]+)\s*\}\}")
VERDICT = re.compile(r"^(PASS|FAIL|SKIP) stage \d+: .*$", re.M)
LISTENING = re.compile(r"listening on \w+://[^ ]*:(\d+)")
# `{{#include ../../CRATE/examples/NAME.rs:all}}` alone in a Rust block.
WHOLE_EXAMPLE = re.compile(r"\{\{\s*#include\s+(?:\.\./)+(\S+/examples/[\w-]+\.rs):all\s*\}\}")
ANCHOR_START = re.compile(r"ANCHOR:\s*([\w_-]+)")
ANCHOR_END = re.compile(r"ANCHOR_END:\s*([\w_-]+)")


class PageError(Exception):
    """What is wrong with a page, said so that its author can fix it."""


# ---------------------------------------------------------------- the page


def resolve_includes(text, page):
    """`{{#include PATH[:ANCHOR | :START:END]}}` as mdBook's links
    preprocessor resolves it (mdbook-driver, links.rs and take_lines.rs)."""

    def include(match):
        spec = match.group(1)
        path_text, _, selector = spec.partition(":")
        path = (page.parent / path_text).resolve()
        if not path.exists():
            raise PageError(f"{page.name}: {{{{#include {spec}}}}} names a missing file")
        content = path.read_text()
        lines = content.split("\n")
        if content.endswith("\n"):
            lines.pop()
        if selector and not re.fullmatch(r"\d*(:\d*)?", selector):
            kept, inside = [], False
            for line in lines:
                if inside:
                    end = ANCHOR_END.search(line)
                    if end and end.group(1) == selector:
                        break
                    if not end and not ANCHOR_START.search(line):
                        kept.append(line)
                elif (start := ANCHOR_START.search(line)) and start.group(1) == selector:
                    inside = True
            if not inside:
                raise PageError(f"{page.name}: no anchor `{selector}` in {path_text}")
            return "\n".join(kept)
        start_text, _, end_text = selector.partition(":")
        start = int(start_text) - 1 if start_text else 0
        if start_text and ":" not in selector:
            return "\n".join(lines[start:start + 1])
        end = int(end_text) if end_text else len(lines)
        return "\n".join(lines[start:end])

    return INCLUDE.sub(include, text)


def page_blocks(page):
    """(kind, argument, fence info, body, where) for every marked fenced
    block and every Rust block, in page order; kind is setup, program, diff,
    transcript, or None for an unmarked Rust block (a piece shown to explain
    something, which must still hide nothing)."""
    text = page.read_text()
    blocks = []
    for fence in FENCE.finditer(text):
        before = text[: fence.start()].rstrip()
        marker = None
        for candidate in MARKER.finditer(before[-600:]):
            marker = candidate
        if marker is not None and before[-600:][marker.end():].strip():
            marker = None  # only a marker directly before a block counts
        kind, argument = (marker.group(1), marker.group(2)) if marker else (None, "")
        raw = fence.group(2).removesuffix("\n")
        whole = WHOLE_EXAMPLE.fullmatch(raw.strip())
        if kind is None and whole and fence.group(1).strip().startswith("rust"):
            # A block that is one example file, whole, is that step's program.
            kind, argument = "program", whole.group(1)
        body = resolve_includes(raw, page)
        line = text[: fence.start()].count("\n") + 1
        if kind is None and not fence.group(1).strip().startswith("rust"):
            continue
        blocks.append((kind, argument, fence.group(1).strip(), body, f"{page.relative_to(ROOT)}:{line}"))
    return blocks


def console_commands(body):
    """[(command, expected output)] of a console block."""
    commands = []
    for raw in body.rstrip("\n").split("\n"):
        if raw.startswith("$ "):
            commands.append([raw[2:], []])
        elif commands:
            commands[-1][1].append(raw)
    return [(command, "\n".join(output)) for command, output in commands]


def apply_diff(old_lines, diff_text, where):
    """Applies a unified diff exactly where its hunks say, as `patch` would
    with no fuzz. A blank line inside a hunk is a blank context line."""
    lines = diff_text.rstrip("\n").split("\n")
    result, position, i = [], 0, 0
    while i < len(lines) and not lines[i].startswith("@@"):
        i += 1  # the ---/+++ header
    while i < len(lines):
        header = re.match(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@", lines[i])
        if not header:
            raise PageError(f"{where}: not a hunk header: {lines[i]!r}")
        old_start = int(header.group(1)) - (0 if header.group(2) == "0" else 1)
        if old_start < position:
            raise PageError(f"{where}: hunks overlap at line {old_start + 1}")
        result.extend(old_lines[position:old_start])
        position = old_start
        i += 1
        while i < len(lines) and not lines[i].startswith("@@"):
            line = lines[i]
            tag, content = (line[:1], line[1:]) if line else (" ", "")
            if tag in " -":
                if position >= len(old_lines) or old_lines[position] != content:
                    got = old_lines[position] if position < len(old_lines) else "(end of file)"
                    raise PageError(f"{where}: the diff does not apply at line {position + 1}: "
                                    f"it expects {content!r}, the previous step has {got!r}")
                position += 1
                if tag == " ":
                    result.append(content)
            elif tag == "+":
                result.append(content)
            elif tag != "\\":
                raise PageError(f"{where}: a diff line must start with ' ', '-' or '+': {line!r}")
            i += 1
    result.extend(old_lines[position:])
    return result


def trimmed(lines):
    lines = list(lines)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def first_difference(a, b):
    for number, (left, right) in enumerate(zip(a, b), start=1):
        if left != right:
            return f"line {number}: page {left!r}, file {right!r}"
    return f"the page has {len(a)} lines, the file {len(b)}"


# ---------------------------------------------------------------- the crate


class Crate:
    """The learner's crate: made and grown by the page's set-up commands."""

    def __init__(self, workdir, target_dir):
        self.workdir = workdir
        self.cwd = workdir
        self.target_dir = target_dir
        self.root = None  # the folder `cargo new` made
        self.built = None  # (program text, executable) of the last build

    def env(self):
        return dict(os.environ, CARGO_TARGET_DIR=str(self.target_dir), CARGO_TERM_COLOR="never")

    def run_setup(self, command, where):
        words = shlex.split(command)
        if words[:1] == ["cd"] and len(words) == 2:
            self.cwd = (self.cwd / words[1]).resolve()
            if not self.cwd.is_dir():
                raise PageError(f"{where}: `{command}`: no such folder")
            return
        if words[:2] == ["cargo", "new"]:
            name = words[-1]
            shutil.rmtree(self.cwd / name, ignore_errors=True)
            self.root = self.cwd / name
        done = subprocess.run(["bash", "-c", command], cwd=self.cwd, env=self.env(),
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise PageError(f"{where}: `{command}` failed:\n{done.stdout}{done.stderr}")

    def build(self, program, where):
        """Writes the program as src/main.rs and builds it; returns the executable."""
        if self.root is None:
            raise PageError(f"{where}: a step runs before any `cargo new`")
        if self.built and self.built[0] == program:
            return self.built[1]  # already built, and still the binary on disk
        (self.root / "src" / "main.rs").write_text(program)
        done = subprocess.run(["cargo", "build", "--message-format=json-diagnostic-rendered-ansi"],
                              cwd=self.root, env=self.env(), capture_output=True, text=True, timeout=1800)
        executable, diagnostics = None, []
        for line in done.stdout.splitlines():
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                continue
            if message.get("reason") == "compiler-message":
                rendered = check_book.ANSI_ESCAPE.sub("", message["message"].get("rendered") or "")
                if message["message"]["level"] in ("warning", "error"):
                    diagnostics.append(rendered)
            elif message.get("reason") == "compiler-artifact" and message.get("executable"):
                executable = message["executable"]
        if done.returncode != 0 or executable is None:
            raise PageError(f"{where}: the program assembled from the page does not build:\n"
                            + "\n".join(diagnostics) + done.stderr[-3000:])
        if diagnostics:
            raise PageError(f"{where}: the program assembled from the page builds with warnings:\n"
                            + "\n".join(diagnostics))
        self.built = (program, executable)
        return executable


# ---------------------------------------------------------------- the checks


def steps_started(commands):
    """The repository paths of the steps a transcript starts as a server
    (`cargo run -p CRATE --example NAME`, then a `listening on` line)."""
    started = []
    for command, expected in commands:
        example = re.fullmatch(r"cargo run -p (\S+) --example (\S+)", command.strip())
        if example and expected and LISTENING.search(expected.split("\n")[0]):
            started.append(f"{example.group(1)}/examples/{example.group(2)}.rs")
    return started


def assemble(blocks):
    """Every step program the page shows, by repository path: the text the
    reader sees, whole files and diffs applied in page order. Also checks
    that each equals its repository copy."""
    programs = {}  # repository path -> lines, as check_book.code_lines gives them
    parts = None  # (path, lines) of a program shown in several blocks
    for index, (kind, argument, info, body, where) in enumerate(blocks):
        if info.startswith("rust"):
            hidden = [line for line in body.split("\n") if re.match(r"\s*#( |$)", line)]
            if hidden:
                raise PageError(f"{where}: mdBook hides these lines of a Rust block: {hidden}")
            if not {"noplayground", "ignore"} & set(info.split(",")):
                # A playground block gets a Run button that cannot work
                # (the crates are the learner's), and one without `fn main`
                # is wrapped in a hidden `fn main() {`.
                raise PageError(f"{where}: a Rust block on a build page must be `rust,noplayground`")
        if kind == "program":
            path = argument
            if not (ROOT / path).exists():
                raise PageError(f"{where}: program of a missing file {path}")
            lines = body.split("\n")
            if parts and parts[0] == path:
                parts[1].extend([""] + lines)
            else:
                parts = (path, lines)
            follows = blocks[index + 1] if index + 1 < len(blocks) else None
            if follows and follows[0] == "program" and follows[1] == path:
                continue  # more parts to come
            wanted = trimmed(check_book.code_lines(path))
            if trimmed(parts[1]) != wanted:
                raise PageError(f"{where}: the program the page shows is not {path} "
                                f"({first_difference(trimmed(parts[1]), wanted)})")
            programs[path] = trimmed(parts[1])
            parts = None
        elif kind == "diff":
            old, new = argument.split()
            if old not in programs:
                raise PageError(f"{where}: a diff from {old}, which the page has not shown before")
            lines = apply_diff(programs[old], body, where)
            wanted = trimmed(check_book.code_lines(new))
            if trimmed(lines) != wanted:
                raise PageError(f"{where}: the diff applied to {old} does not give {new} "
                                f"({first_difference(trimmed(lines), wanted)})")
            programs[new] = lines
    return programs


def check_page(page, workdir, target_dir):
    """Returns the list of problems on one page (empty: it is the program)."""
    (workdir / "netlessons").unlink(missing_ok=True)
    (workdir / "netlessons").symlink_to(ROOT)
    crate = Crate(workdir, target_dir)
    checked = set()
    where = str(page.relative_to(ROOT))
    try:
        blocks = page_blocks(page)
        programs = assemble(blocks)
        # The set-up commands and the transcripts, in page order: a step is
        # built with exactly the crates the page has added by then. (A
        # step's transcript may come before the diff that shows it, under
        # "Everything that changed".)
        for kind, argument, _, body, where in blocks:
            if kind == "setup":
                for command, _ in console_commands(body):
                    crate.run_setup(command, where)
            elif kind == "transcript" and not argument.startswith("untested"):
                commands = console_commands(body)
                for path in steps_started(commands):
                    if path not in programs:
                        raise PageError(f"{where}: runs {path}, but the page never shows its program")
                    program = "\n".join(programs[path]) + "\n"
                    executable = crate.build(program, f"{where}: {path}")
                    # The whole transcript, as check_book.py runs it, with the
                    # learner's build in place of the repository's copy.
                    problems = check_book.run_block(commands, argument, examples={Path(path).stem: executable})
                    if problems:
                        raise PageError(f"{where}: {path}, built from the page, does not do what the page "
                                        "shows:\n" + "\n".join(problems))
                    checked.add(path)
                    verdicts = len(VERDICT.findall(body))
                    print(f"{page.relative_to(ROOT)}: {path}: as the page shows"
                          + (f" ({verdicts} checker verdicts)" if verdicts else ""), flush=True)
    except PageError as error:
        # What follows builds on this step: one problem at a time.
        return [str(error)]
    except subprocess.TimeoutExpired as error:
        return [f"{where}: timed out: {error}"]
    return [f"{page.relative_to(ROOT)}: no tested transcript runs {path}" for path in programs if path not in checked]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pages", nargs="*", help="pages to check (default: every page in PAGES)")
    parser.add_argument("--workdir", help="a folder outside the repository to keep crates and builds in")
    parser.add_argument("--jobs", type=int, default=1,
                        help="pages checked at once (default 1: a build beside a checker run slows the step "
                             "the checker is timing)")
    args = parser.parse_args()
    pages = [Path(page).resolve() for page in (args.pages or [ROOT / page for page in PAGES])]
    if args.workdir:
        workdir = Path(args.workdir).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
    else:
        workdir = Path(tempfile.mkdtemp(prefix="check-pages-"))
    if workdir == ROOT or ROOT in workdir.parents:
        print("check_pages: the work folder must be outside the repository", file=sys.stderr)
        return 2
    # The workspace's own target folder (or CARGO_TARGET_DIR): a learner's
    # crate that asks for the same crate versions and features reuses their
    # builds, so tokio and rustls compile once per CI run, not twice.
    target_dir = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target").resolve()

    def check(page):
        page_dir = workdir / page.stem
        page_dir.mkdir(exist_ok=True)
        return check_page(page, page_dir, target_dir)

    try:
        # Cargo takes turns on the shared target folder by itself.
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            results = list(pool.map(check, pages))
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    failed = 0
    for problems in results:
        for problem in problems:
            print(problem, end="\n\n")
        failed += bool(problems)
    print(f"pages: {len(pages) - failed} are their programs, {failed} are not")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
