#!/usr/bin/env python3
"""Checks that the book cannot lie.

1. Every ```console block in the book (docs/src/*.md) and the README is run
   against the real lesson binaries (target/debug/NAME), and its output must
   match what the book shows. Each block is preceded by a marker comment:

     <!-- transcript -->                 run it; a first `cargo run -p NAME`
                                         starts that server for the block
     <!-- transcript: server=NAME [VAR=VALUE ...] -->
                                         start NAME first, then run the block
     <!-- transcript: untested: WHY; covered by PATH -->
                                         cannot run unattended (a browser, typing
                                         into nc, a load test); PATH must exist
     <!-- setup -->                      a build page's set-up commands (`cargo
                                         new`, `cargo add`): docs/tools/
                                         check_pages.py runs them in a crate
                                         outside the repository

   A marker may also name extra variable parts, e.g. `vary=content-length`
   for a body that contains the port, and `cwd=DIR` (from the repository
   root) to run the block's commands in that folder (`check --spawn 'node
   server.js'` in the folder holding server.js).

   Lines starting with `$ ` are commands; the lines up to the next `$ ` are
   the output expected. Servers listen on a free port with as many digits as
   the book's (so every length and byte count that includes the port is the
   one a learner sees on the book's port); the book's port in each command is
   replaced by the real one, and back in the output. The only other parts
   allowed to differ are the variable ones listed in VARIABLE_PARTS (dates,
   request ids, ETags, uptimes).

   Lesson 6's servers are binaries of one crate: `cargo run -p protocols
   --bin smtp` (or `ftp`, `dns`) starts target/debug/smtp as the block's
   server, like `cargo run -p NAME`, and `server=smtp` names it in a marker.

   `cargo run -p NAME --example EXAMPLE` runs target/debug/examples/EXAMPLE
   (CI builds them with `cargo build --examples`): as a server, started for
   the rest of the block, when the output the book shows starts with a
   `listening on` line (its port is the book's port), else to completion.
   `cargo run -p check -- LESSON ARGS` (the checker) runs target/debug/check
   (built with the workspace's binaries), and `cargo run -p NAME --bin BIN --
   ARGS` (another helper program, e.g. dev-cert) is run as `cargo run -q ...`.

2. Every relative link in those files points at a file that exists, and
   every image exists (SVG diagrams must be well-formed).

3. Every ```diff block preceded by `<!-- diff: OLD NEW -->` (two paths from
   the repository root) is exactly the unified diff from OLD to NEW, leaving
   out their `//!` headers and `ANCHOR` lines, so the book's "what changed"
   between two build-along steps cannot drift from the steps.
   `python3 docs/tools/check_book.py --diff OLD NEW` prints that diff.
   `python3 docs/tools/check_book.py PAGE.md ...` checks only those pages.

Standard library only; run from the repository root after `cargo build`.
"""

import difflib
import os
import pty
import random
import re
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "target" / "debug"
LESSON_PORTS = {"tcp-echo": 7007, "udp-echo": 7007, "http-raw": 3000, "http-server": 4000, "ws-chat": 8080,
                "smtp": 2525, "ftp": 2121, "dns": 1053}
# Lesson 6: one crate, three servers, each run with `cargo run -p protocols --bin NAME`.
PROTOCOL_SERVERS = {"smtp", "ftp", "dns"}
# Longer than the longest wait of any checker stage (tcp-echo's stage 5 gives
# a server 20 s for its 4 MiB), so a slow machine fails a transcript only
# where the checker itself would fail.
STEP_TIMEOUT = 30

# What may differ between the book and a real run, and what it is replaced with.
VARIABLE_PARTS = [
    (re.compile(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT"), "<http-date>"),
    (re.compile(r"(?i)(x-request-id: )[0-9a-f]+-\d+"), r"\1<request-id>"),
    (re.compile(r'(?i)(etag: )"[0-9a-f]+-[0-9a-f]+"'), r"\1<etag>"),
    (re.compile(r"started \d+ s ago"), "started <n> s ago"),
    # How long a spawned program took to exit (`check --spawn`).
    (re.compile(r"\b\d+\.\d s after\b"), "<t> s after"),
    # The chat checker's nicks, rooms and lines end in a random token, so
    # that two runs on one server never collide.
    (re.compile(r"\b(chk-?|hello from the checker |still here |in the lobby )[0-9a-z]{8}\b"), r"\1<token>"),
    # A stored message's id: seconds, process id, count (lesson 6's smtp).
    (re.compile(r"\b\d{9,}-\d+-\d+\b"), "<message-id>"),
    # A spawned program's own lines, quoted in a report, may name a client
    # by its address: the client's port is the OS's pick.
    (re.compile(r"^(\s*\| 127\.0\.0\.1:)\d+(?=: )", re.M), r"\1<peer>"),
    # The doctor names the process holding a port by its id.
    (re.compile(r"\bprocess \d+"), "process <pid>"),
    # The doctor's notes on where it runs (WSL 2, a container) describe the
    # machine, not the lesson: the book shows an ordinary machine's report.
    (re.compile(r"^this machine: .*\n?", re.M), ""),
]

MARKER = re.compile(r"<!--\s*(?:transcript(?::\s*(.*?))?|(setup))\s*-->", re.S)


# Extra parts a block may declare variable with `vary=NAME`, for a value
# that really differs from run to run. (A port is not one: servers run on a
# port as long as the book's, so lengths that include it do not vary.)
OPTIONAL_VARIABLE_PARTS = {
    # A Content-Length of a body that holds something variable.
    "content-length": (re.compile(r"(?i)(content-length: )\d+"), r"\1<length>"),
    # A checker's byte counts of a response that holds something variable.
    "byte-counts": (re.compile(r"\((\d+) bytes\)"), "(<n> bytes)"),
    # FTP's passive replies name a port the OS picked for the data connection.
    "data-port": [(re.compile(r"\(\|\|\|\d+\|\)"), "(|||<port>|)"),
                  (re.compile(r"\(\d+,\d+,\d+,\d+,\d+,\d+\)"), "(<h1,h2,h3,h4,p1,p2>)")],
    # dig prints the query's id, which it picks at random.
    "dig-id": (re.compile(r"id: \d+"), "id: <id>"),
}

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def normalise(text, vary=()):
    text = ANSI_ESCAPE.sub("", text)  # curl prints header names in bold on a terminal
    for name in vary:
        parts = OPTIONAL_VARIABLE_PARTS[name]
        for pattern, replacement in parts if isinstance(parts, list) else [parts]:
            text = pattern.sub(replacement, text)
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    text = "\n".join(lines)
    # `check --spawn` picks a free port and names it once: that port may
    # appear anywhere in the report (the program's own lines quote it).
    spawned = re.search(r"with PORT=(\d+) HOST=", text)
    if spawned:
        text = swap_port(text, spawned.group(1), "<port>")
    for pattern, replacement in VARIABLE_PARTS:
        text = pattern.sub(replacement, text)
    return text


def swap_port(text, old, new):
    return re.sub(rf"(?<![0-9]){old}(?![0-9])", str(new), text)


def free_port_like(documented, avoid):
    """A free port (TCP and UDP) with as many digits as `documented`, whose
    digits appear nowhere in `avoid` (the block's text), so that putting the
    book's port back into the output cannot touch anything else."""
    digits = len(str(documented))
    low, high = max(1024, 10 ** (digits - 1)), min(65535, 10 ** digits - 1)
    for _ in range(1000):
        port = random.randint(low, high)
        if str(port) in avoid:
            continue
        try:
            for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                with socket.socket(socket.AF_INET, kind) as probe:
                    probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return port
    raise RuntimeError(f"no free {digits}-digit port")


class Server:
    """A lesson binary started for one block, stopped (SIGINT) at its end."""

    def __init__(self, name, env, documented_port, program=None, avoid=""):
        self.name = name
        self.documented_port = documented_port
        self.stderr = open(os.devnull, "wb")
        full_env = dict(os.environ, HOST="127.0.0.1", NO_COLOR="1", RUST_LOG="warn")
        full_env.update(env)
        full_env["PORT"] = str(free_port_like(documented_port, avoid))
        self.proc = subprocess.Popen(
            [str(program or BIN / name)], env=full_env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        self.lines = []
        self.port = None
        # Lesson binaries stop cleanly on SIGINT and exit 0; the std-only
        # examples have no handler, and SIGINT's default action ends them.
        self.sigint_kills = program is not None

    def read_lines(self, count):
        deadline = time.time() + STEP_TIMEOUT
        while len(self.lines) < count and time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line.rstrip("\n"))
            match = re.search(r"listening on \w+://[^ ]*:(\d+)", line)
            if match and self.port is None:
                self.port = int(match.group(1))
        return self.lines[:count]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                code = self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                return f"{self.name} did not stop within 10 s of SIGINT"
            if code != 0 and not (self.sigint_kills and code == -signal.SIGINT):
                return f"{self.name} exited with {code} after SIGINT"
        return None


def run_in_terminal(command, cwd=ROOT):
    """Runs `command` with its output on a pseudo-terminal, as a learner's
    shell would: tools such as curl behave differently when writing to a pipe
    (curl then prints a progress meter). Returns (exit status, output)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(["bash", "-c", command], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                            cwd=cwd, close_fds=True)
    os.close(slave)
    chunks = []
    deadline = time.time() + STEP_TIMEOUT
    try:
        while True:
            if time.time() > deadline:
                proc.kill()
                raise subprocess.TimeoutExpired(command, STEP_TIMEOUT)
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # the child side closed
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
    finally:
        os.close(master)
    return proc.wait(), b"".join(chunks).decode("utf-8", errors="replace")


def parse_env_prefix(words):
    env = {}
    while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    return env, words


PREBUILT = set()


def prebuild(package, binary):
    """Builds a binary before its first timed run: `cargo run -p` may compile
    it again with another feature set than the workspace build, and a
    compile must not count against STEP_TIMEOUT."""
    if (package, binary) not in PREBUILT:
        subprocess.run(["cargo", "build", "-q", "-p", package, "--bin", binary], cwd=ROOT, check=True)
        PREBUILT.add((package, binary))


def run_block(commands, marker, examples=None):
    """Runs one block; returns a list of failure messages. `examples` maps
    an example's name to another program to run in its place (check_pages.py
    runs a learner's build of a step instead of the repository's)."""
    failures = []
    server = None
    last_status = 0
    block_text = "\n".join(f"{command}\n{expected}" for command, expected in commands)
    spec = (marker or "").split()
    vary = [word.split("=", 1)[1] for word in spec if word.startswith("vary=")]
    # `cwd=DIR`: the block's commands run in DIR (from the repository root),
    # as a learner runs them in their own project's folder.
    cwd = next((ROOT / word.split("=", 1)[1] for word in spec if word.startswith("cwd=")), ROOT)
    spec = [word for word in spec if not word.startswith(("vary=", "cwd="))]
    if spec and spec[0].startswith("server="):
        name = spec[0].split("=", 1)[1]
        env = dict(word.split("=", 1) for word in spec[1:])
        server = Server(name, env, LESSON_PORTS[name], avoid=block_text)
        server.read_lines(1)
    try:
        for command, expected in commands:
            book_command = command
            words = command.split()
            env, rest = parse_env_prefix(list(words))
            if rest[:3] == ["cargo", "run", "-p"] and len(rest) == 6 and rest[4] == "--bin" \
                    and rest[5] in PROTOCOL_SERVERS:
                rest = rest[:3] + [rest[5]]  # lesson 6's binaries start like a lesson
            if rest[:3] == ["cargo", "run", "-p"] and len(rest) == 4:
                name = rest[3]
                port_text = env.get("PORT", str(LESSON_PORTS[name]))
                if not port_text.isdigit():
                    # A bad PORT on purpose: run it as written, it must refuse.
                    rerun = subprocess.run([str(BIN / name)], env=dict(os.environ, **env), capture_output=True,
                                           text=True, timeout=STEP_TIMEOUT)
                    last_status = rerun.returncode
                    actual = (rerun.stdout + rerun.stderr).rstrip("\n")
                    if normalise(actual) != normalise(expected):
                        failures.append(f"$ {command}\n--- expected\n{expected}\n--- got\n{actual}")
                    continue
                documented = int(port_text)
                if server is None:
                    server = Server(name, env, documented, avoid=block_text)
                wanted = expected.split("\n") if expected else []
                got = server.read_lines(max(len(wanted), 1))
                if server.port is None:
                    # It did not start (bad configuration): its one line is on stderr.
                    last_status = server.proc.wait(timeout=STEP_TIMEOUT)
                    rerun = subprocess.run([str(BIN / name)], env=dict(os.environ, **env), capture_output=True,
                                           text=True, timeout=STEP_TIMEOUT)
                    got = (rerun.stdout + rerun.stderr).rstrip("\n").split("\n")
                    last_status = rerun.returncode
                    server = None
                actual = "\n".join(got[: len(wanted)])
                if server is not None:
                    actual = swap_port(actual, server.port, documented)
                if normalise(actual) != normalise(expected):
                    failures.append(f"$ {command}\n--- expected\n{expected}\n--- got\n{actual}")
                continue
            if rest[:3] == ["cargo", "run", "-p"] and len(rest) >= 6 and rest[4] == "--example":
                name, example, args = rest[3], rest[5], rest[6:]
                program = (examples or {}).get(example) or BIN / "examples" / example
                listening = re.search(r"listening on \w+://[^ ]*:(\d+)", expected.split("\n")[0])
                if listening and not args:
                    if server is not None:
                        failures.append(f"$ {command}\n--- one server per block: {server.name} is running")
                        continue
                    documented = int(listening.group(1))
                    server = Server(example, env, documented, program, avoid=block_text)
                    wanted = expected.split("\n")
                    actual = swap_port("\n".join(server.read_lines(len(wanted))), server.port, documented)
                    if server.port is None:
                        failures.append(f"$ {command}\n--- it printed no `listening on` line")
                    elif normalise(actual) != normalise(expected):
                        failures.append(f"$ {command}\n--- expected\n{expected}\n--- got\n{actual}")
                    continue
                # Not a server: run the built example to completion.
                prefix = " ".join(f"{key}={value}" for key, value in env.items())
                command = " ".join(word for word in [prefix, str(program), *args] if word)
            elif rest[:4] == ["cargo", "run", "-p", "check"] and len(rest) >= 5 and rest[4] == "--":
                # The checker: the binary the workspace build made.
                prefix = " ".join(f"{key}={value}" for key, value in env.items())
                command = " ".join(word for word in [prefix, str(BIN / "check"), *rest[5:]] if word)
            elif rest[:3] == ["cargo", "run", "-p"] and len(rest) >= 6 and rest[4] == "--bin":
                prebuild(rest[3], rest[5])
                prefix = " ".join(f"{key}={value}" for key, value in env.items())
                command = " ".join(word for word in [prefix, "cargo run -q", *rest[2:]] if word)
            if command.strip() == "echo $?":
                actual = str(last_status)
            else:
                real_command = command
                if server is not None:
                    real_command = swap_port(command, server.documented_port, server.port)
                last_status, actual = run_in_terminal(real_command, cwd)
                if server is not None:
                    actual = swap_port(actual, server.port, server.documented_port)
            if normalise(actual, vary) != normalise(expected, vary):
                failures.append(f"$ {book_command}\n--- expected\n{expected}\n--- got\n{actual}")
    except subprocess.TimeoutExpired as error:
        failures.append(f"timed out: {error}")
    finally:
        if server is not None:
            problem = server.stop()
            if problem:
                failures.append(problem)
    return failures


def blocks_of(path):
    """(line number, marker text or None, [(command, expected)]) for each console block."""
    text = path.read_text()
    blocks = []
    for match in re.finditer(r"```console\n(.*?)```", text, re.S):
        before = text[: match.start()].rstrip()
        marker_match = None
        for candidate in MARKER.finditer(before[-400:]):
            marker_match = candidate
        if marker_match and before[-400:][marker_match.end():].strip():
            marker_match = None  # only a marker directly before the block counts
        line = text[: match.start()].count("\n") + 1
        commands = []
        for raw in match.group(1).rstrip("\n").split("\n"):
            if raw.startswith("$ "):
                commands.append([raw[2:], []])
            elif commands:
                commands[-1][1].append(raw)
        commands = [(command, "\n".join(output)) for command, output in commands]
        if marker_match is None:
            marker = None
        elif marker_match.group(2):
            marker = "setup"
        else:
            marker = marker_match.group(1) or ""
        blocks.append((line, marker, commands))
    return blocks


def check_images(path):
    """Every image the page shows exists; SVGs must be well-formed XML."""
    import xml.etree.ElementTree as ElementTree
    failures = []
    for match in re.finditer(r"!\[[^\]]*\]\(([^)\s]+)\)", path.read_text()):
        image = path.parent / match.group(1)
        if not image.exists():
            failures.append(f"{path.relative_to(ROOT)}: missing image {match.group(1)}")
        elif image.suffix == ".svg":
            try:
                root = ElementTree.parse(image).getroot()
            except ElementTree.ParseError as error:
                failures.append(f"{image.relative_to(ROOT)}: not well-formed SVG: {error}")
                continue
            if not root.tag.endswith("svg"):
                failures.append(f"{image.relative_to(ROOT)}: not an SVG document")
    return failures


def check_links(path):
    failures = []
    for match in re.finditer(r"\]\(([^)\s]+)\)", path.read_text()):
        target = match.group(1).split("#", 1)[0]
        if not target or re.match(r"[a-z]+:", target):
            continue
        if not (path.parent / target).exists():
            failures.append(f"{path.relative_to(ROOT)}: broken link {match.group(1)}")
    return failures


DIFF_BLOCK = re.compile(r"<!--\s*diff:\s*(\S+)\s+(\S+)\s*-->\s*```diff\n(.*?)```", re.S)


def code_lines(relative):
    """A source file's lines without its `//!` header and ANCHOR markers.
    (splitlines: the newline that ends the last line is no line of its own,
    so a diff of these lines is one `patch` applies to the file as it is.)"""
    lines = (ROOT / relative).read_text().splitlines()
    while lines and (lines[0].startswith("//!") or not lines[0].strip()):
        lines.pop(0)
    return [line for line in lines if "ANCHOR" not in line]


def step_diff(old, new):
    return "\n".join(difflib.unified_diff(code_lines(old), code_lines(new), fromfile=old, tofile=new,
                                          n=2, lineterm=""))


def check_diffs(path):
    """Each marked diff block is the real diff between the two files."""
    failures = []
    for match in DIFF_BLOCK.finditer(path.read_text()):
        old, new, shown = match.groups()
        if not (ROOT / old).exists() or not (ROOT / new).exists():
            failures.append(f"{path.relative_to(ROOT)}: diff of missing files {old} {new}")
            continue
        real = step_diff(old, new)
        tidy = lambda text: "\n".join(line.rstrip() for line in text.rstrip().split("\n"))  # noqa: E731
        if tidy(shown) != tidy(real):
            failures.append(f"{path.relative_to(ROOT)}: the diff {old} -> {new} is out of date; it is now:\n{real}")
    return failures


def main():
    if sys.argv[1:2] == ["--diff"] and len(sys.argv) == 4:
        print(step_diff(sys.argv[2], sys.argv[3]))
        return 0
    files = sorted((ROOT / "docs" / "src").glob("*.md")) + [ROOT / "README.md"]
    if sys.argv[1:]:
        # `check_book.py docs/src/PAGE.md ...`: only those pages.
        files = [Path(arg).resolve() for arg in sys.argv[1:]]
    passed, failed, untested = 0, 0, 0
    report = []
    for path in files:
        for problem in check_links(path) + check_images(path) + check_diffs(path):
            failed += 1
            report.append(problem)
        for line, marker, commands in blocks_of(path):
            where = f"{path.relative_to(ROOT)}:{line}"
            if marker is None:
                failed += 1
                report.append(f"{where}: a console block without a <!-- transcript --> marker")
                continue
            if marker == "setup":
                # A build page's set-up commands (cargo new, cargo add): run
                # in a crate outside the repository by check_pages.py.
                untested += 1
                continue
            if marker.startswith("untested"):
                covered = re.search(r"covered by (\S+)", marker)
                if not covered or not (ROOT / covered.group(1).rstrip(".;,")).exists():
                    failed += 1
                    report.append(f"{where}: an untested block must say what covers it (covered by EXISTING/PATH)")
                else:
                    untested += 1
                continue
            problems = run_block(commands, marker)
            if problems:
                failed += 1
                report.extend(f"{where}: {problem}" for problem in problems)
            else:
                passed += 1
    for line in report:
        print(line, end="\n\n")
    print(f"transcripts: {passed} passed, {failed} failed, {untested} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
