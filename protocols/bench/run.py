#!/usr/bin/env python3
"""Lesson 6 against the servers people run: work done per CPU-second.

  dns:  protocols' `dns` vs dnsmasq (Debian's), both answering the same
        plants.test names, loaded by dnsperf over UDP; queries answered per
        second of the server's CPU time.
  smtp: protocols' `smtp` vs Python's aiosmtpd, both storing each message as
        one file (written, flushed to disk, renamed; see aiosmtpd_mailbox.py),
        loaded by this script's own client (8 connections, one command at a
        time, 1 KiB messages); messages stored per second of the server's CPU.
        Both mail folders are on tmpfs (/dev/shm) when there is one: on a
        disk, the file system's own work (allocating inodes, flushing) would
        swamp what the servers do, and measure the disk instead.

What it needs: cargo (it builds `--release -p protocols`), python3, taskset
(util-linux); for dns, `dnsmasq` and `dnsperf` (Debian: apt-get install
dnsmasq dnsperf); for smtp, network access to PyPI once: it creates a venv in
/tmp/netlessons-bench-venv and pip-installs aiosmtpd there.

How to run, from the repository root:

    python3 protocols/bench/run.py               # both, 4 rounds of 4 s each
    python3 protocols/bench/run.py dns --rounds 6 --duration 5
    python3 protocols/bench/run.py smtp --no-build

How it measures (as ../shared/bench does): every server listens on
127.0.0.1 only, pinned to CPU 0 (`taskset -c 0`); the load generator runs on
CPU 1. Each run starts a fresh server, warms it up for 1 s, then measures:
the server's CPU time (user + system, all threads, from /proc/PID/stat)
across the measured seconds, and the work its client saw completed. Servers
alternate within a round and the order flips every round (ours, peer; then
peer, ours); the table shows each server's median and its spread (min to
max), and the ratio of the medians. Every run is bounded in time and in
count; servers are stopped by PID (SIGTERM, then SIGKILL after 8 s).
"""

import argparse
import asyncio
import json
import os
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
RELEASE = ROOT / "target" / "release"
VENV = Path("/tmp/netlessons-bench-venv")
CLK_TCK = os.sysconf("SC_CLK_TCK")
SERVER_CPU, LOAD_CPU = "0", 1
# The same questions for both DNS servers: names that exist, a CNAME,
# a missing name (NXDOMAIN), and several types.
DNS_QUERIES = [
    "www.plants.test A",
    "www.plants.test AAAA",
    "shop.plants.test A",
    "mail.plants.test A",
    "plants.test MX",
    "plants.test TXT",
    "nope.plants.test A",
    "ns1.plants.test A",
]
# The same names, as dnsmasq configuration (it answers NXDOMAIN for the
# rest of plants.test because of `local=`, and never forwards anything).
DNSMASQ_CONF = """\
port={port}
listen-address=127.0.0.1
bind-interfaces
no-resolv
no-hosts
no-poll
local=/plants.test/
host-record=plants.test,127.0.0.1
host-record=www.plants.test,127.0.0.1,::1
host-record=mail.plants.test,127.0.0.1
host-record=ns1.plants.test,127.0.0.1
cname=shop.plants.test,www.plants.test
mx-host=plants.test,mail.plants.test,10
txt-record=plants.test,"Plants, by hand: the DNS lesson's zone"
"""
MESSAGE = (
    "From: bench@client.test\r\nTo: you@plants.test\r\nSubject: a message of about one KiB\r\n\r\n"
    + "".join(f"line {n:02}: {'x' * 60}\r\n" for n in range(14))
).encode()
MAX_MESSAGES_PER_RUN = 2_000_000


class BenchError(Exception):
    pass


def cpu_seconds(pid):
    """User + system CPU of PID (all threads) and its live children."""
    def fields(p):
        with open(f"/proc/{p}/stat") as f:
            data = f.read()
        return data[data.rindex(")") + 2:].split()
    pids = [pid]
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != pid:
            try:
                if int(fields(name)[1]) == pid:
                    pids.append(int(name))
            except (OSError, ValueError, IndexError):
                pass
    total = 0
    for p in pids:
        try:
            f = fields(p)
            total += int(f[11]) + int(f[12])
        except (OSError, ValueError, IndexError):
            if p == pid:
                raise BenchError(f"server {pid} is gone")
    return total / CLK_TCK


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1 (for dnsmasq, which
    has no PORT=0)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                    return port
                except OSError:
                    continue
    raise BenchError("no free port")


class Server:
    """One server process, pinned to SERVER_CPU, stopped by PID."""

    def __init__(self, name, command, env=None, port=None, log_dir=None):
        self.name = name
        self.log = open(Path(log_dir) / f"{name}.log", "ab") if log_dir else subprocess.DEVNULL
        full_env = dict(os.environ, HOST="127.0.0.1", PORT="0", RUST_LOG="warn")
        full_env.update(env or {})
        self.proc = subprocess.Popen(["taskset", "-c", SERVER_CPU, *command], env=full_env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.log)
        self.port = port
        if port is None:
            line = self._first_line()
            if "listening on" not in line:
                self.stop()
                raise BenchError(f"{name}: no `listening on` line (got {line!r})")
            self.port = int(line.rsplit(":", 1)[1])

    def _first_line(self):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name} exited with status {self.proc.returncode}")
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                return self.proc.stdout.readline().decode().strip()
        raise BenchError(f"{self.name}: nothing printed within 20 s")

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=8)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=8)
        if self.log is not subprocess.DEVNULL:
            self.log.close()


# --------------------------------------------------------------------------- DNS

def dns_query(port, name, qtype, timeout=0.5):
    """(rcode, answer count) of one UDP query, or None."""
    types = {"A": 1, "AAAA": 28, "MX": 15, "TXT": 16}
    message = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
    for label in name.split("."):
        message += bytes([len(label)]) + label.encode()
    message += b"\x00" + types[qtype].to_bytes(2, "big") + b"\x00\x01"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(message, ("127.0.0.1", port))
        try:
            answer = s.recv(4096)
        except socket.timeout:
            return None
    return answer[3] & 0xF, int.from_bytes(answer[6:8], "big")


def start_ours_dns(log_dir):
    return Server("dns", [str(RELEASE / "dns")], log_dir=log_dir)


def start_dnsmasq(log_dir, work):
    port = free_port()
    conf = Path(work) / "dnsmasq.conf"
    conf.write_text(DNSMASQ_CONF.format(port=port))
    # As root, dnsmasq would switch to its own user; staying root keeps its
    # /proc figures readable and its start the same as ours.
    user = ["--user=root"] if os.geteuid() == 0 else []
    server = Server("dnsmasq", ["dnsmasq", "--keep-in-foreground", f"--conf-file={conf}", "--pid-file=", *user],
                    port=port, log_dir=log_dir)
    deadline = time.monotonic() + 10
    while dns_query(port, "www.plants.test", "A", 0.2) is None:
        if time.monotonic() > deadline or server.proc.poll() is not None:
            server.stop()
            raise BenchError("dnsmasq did not answer within 10 s (see its log)")
    return server


def check_same_dns_answers(ours, peer):
    notes = []
    for line in DNS_QUERIES:
        name, qtype = line.split()
        a, b = dns_query(ours.port, name, qtype), dns_query(peer.port, name, qtype)
        if a != b:
            notes.append(f"{line}: ours (rcode, answers) {a}, dnsmasq {b}")
    return notes


def dnsperf(port, seconds, queries_file):
    command = ["taskset", "-c", str(LOAD_CPU), "dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d",
               str(queries_file), "-l", str(seconds), "-c", "4", "-q", "200", "-t", "2"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30)
    for line in result.stdout.splitlines():
        if "Queries completed:" in line:
            return int(line.split()[2])
    raise BenchError(f"dnsperf printed no result:\n{result.stdout}\n{result.stderr}")


def dns_run(start, duration, queries_file):
    server = start()
    try:
        dnsperf(server.port, 1, queries_file)  # warm-up
        before = cpu_seconds(server.pid)
        began = time.monotonic()
        done = dnsperf(server.port, duration, queries_file)
        wall = time.monotonic() - began
        cpu = cpu_seconds(server.pid) - before
    finally:
        server.stop()
    return {"work": done, "cpu": cpu, "per_cpu_second": done / cpu if cpu else 0, "per_second": done / wall}


# --------------------------------------------------------------------------- SMTP

def ensure_aiosmtpd():
    python = VENV / "bin" / "python3"
    if python.exists() and subprocess.run([str(python), "-c", "import aiosmtpd"],
                                          capture_output=True).returncode == 0:
        return python
    print(f"bench: installing aiosmtpd into {VENV} (pip)", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=300)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "aiosmtpd"], check=True, timeout=600)
    return python


async def smtp_session(port, deadline, counter):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def reply():
        while True:
            line = await reader.readline()
            if not line:
                raise BenchError("the server closed the connection")
            if line[3:4] != b"-":
                return int(line[:3])

    async def command(line, expected):
        writer.write(line)
        code = await reply()
        if code != expected:
            raise BenchError(f"{line!r}: expected {expected}, got {code}")

    if await reply() != 220:
        raise BenchError("no 220 greeting")
    await command(b"EHLO bench.test\r\n", 250)
    while time.monotonic() < deadline and counter[0] < MAX_MESSAGES_PER_RUN:
        await command(b"MAIL FROM:<bench@client.test>\r\n", 250)
        await command(b"RCPT TO:<you@plants.test>\r\n", 250)
        await command(b"DATA\r\n", 354)
        await command(MESSAGE + b".\r\n", 250)
        counter[0] += 1
    writer.write(b"QUIT\r\n")
    await reply()
    writer.close()


def smtp_load(port, seconds, connections=8):
    counter = [0]

    async def all_sessions():
        deadline = time.monotonic() + seconds
        await asyncio.wait_for(
            asyncio.gather(*(smtp_session(port, deadline, counter) for _ in range(connections))),
            timeout=seconds + 30)

    asyncio.run(all_sessions())
    return counter[0]


def start_ours_smtp(log_dir, mail_dir):
    return Server("smtp", [str(RELEASE / "smtp")], env={"MAIL_DIR": mail_dir}, log_dir=log_dir)


def start_aiosmtpd(log_dir, mail_dir, python):
    return Server("aiosmtpd", [str(python), str(HERE / "aiosmtpd_mailbox.py")], env={"MAIL_DIR": mail_dir},
                  log_dir=log_dir)


def smtp_run(start, duration, work):
    on_tmpfs = "/dev/shm" if os.path.isdir("/dev/shm") else work
    mail_dir = tempfile.mkdtemp(prefix="netlessons-bench-mail-", dir=on_tmpfs)
    server = start(mail_dir)
    try:
        smtp_load(server.port, 1)  # warm-up
        before = cpu_seconds(server.pid)
        began = time.monotonic()
        done = smtp_load(server.port, duration)
        wall = time.monotonic() - began
        cpu = cpu_seconds(server.pid) - before
    finally:
        server.stop()
    stored = sum(1 for name in os.listdir(mail_dir) if name.endswith(".eml"))
    shutil.rmtree(mail_dir, ignore_errors=True)
    return {"work": done, "cpu": cpu, "per_cpu_second": done / cpu if cpu else 0, "per_second": done / wall,
            "stored": stored}


# --------------------------------------------------------------------------- harness

def alternate(rounds, ours, peer):
    """Runs ours and the peer in alternating order; returns their runs."""
    runs = {"ours": [], "peer": []}
    for round_number in range(rounds):
        order = [("ours", ours), ("peer", peer)]
        if round_number % 2:
            order.reverse()
        for key, run in order:
            result = run()
            runs[key].append(result)
            print(f"  round {round_number + 1} {key:4}: {result['work']:>8} done, {result['cpu']:6.2f} CPU-s, "
                  f"{result['per_cpu_second']:>9.0f} per CPU-s, {result['per_second']:>8.0f} per s", flush=True)
    return runs


def summarise(title, unit, peer_name, runs):
    def line(name, results):
        values = [r["per_cpu_second"] for r in results]
        rates = [r["per_second"] for r in results]
        return (f"  {name:10} {statistics.median(values):>10.0f} {unit} per CPU-second "
                f"(spread {min(values):.0f} to {max(values):.0f}); {statistics.median(rates):.0f} per second")
    ours = statistics.median(r["per_cpu_second"] for r in runs["ours"])
    peer = statistics.median(r["per_cpu_second"] for r in runs["peer"])
    print(f"\n{title}")
    print(line("protocols", runs["ours"]))
    print(line(peer_name, runs["peer"]))
    print(f"  ratio (protocols / {peer_name}, medians): {ours / peer:.2f}x")
    return ours / peer


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("benches", nargs="*", help="dns, smtp (default: both)")
    parser.add_argument("--rounds", type=int, default=4, help="rounds, each running both servers (default 4)")
    parser.add_argument("--duration", type=int, default=4, help="measured seconds per run (default 4)")
    parser.add_argument("--no-build", action="store_true", help="use target/release as it is")
    parser.add_argument("--json", help="write every run's figures to this file")
    args = parser.parse_args()
    benches = args.benches or ["dns", "smtp"]
    if not set(benches) <= {"dns", "smtp"}:
        parser.error("the benches are dns and smtp")
    if args.rounds < 2 or not 1 <= args.duration <= 60:
        parser.error("--rounds must be at least 2, --duration 1 to 60")
    os.sched_setaffinity(0, {LOAD_CPU})
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "protocols", "--bin", "dns", "--bin", "smtp"],
                       cwd=ROOT, check=True, timeout=1800)
    work = tempfile.mkdtemp(prefix="netlessons-bench-")
    log_dir = Path(work) / "logs"
    log_dir.mkdir()
    print(f"bench: logs in {log_dir}", flush=True)
    results = {}
    try:
        if "dns" in benches:
            for tool in ("dnsmasq", "dnsperf"):
                if not shutil.which(tool):
                    raise BenchError(f"{tool} is not installed (Debian: apt-get install dnsmasq dnsperf)")
            queries = Path(work) / "queries.txt"
            queries.write_text("\n".join(DNS_QUERIES) + "\n")
            ours, peer = start_ours_dns(log_dir), start_dnsmasq(log_dir, work)
            try:
                for note in check_same_dns_answers(ours, peer):
                    print(f"  note: the answers differ: {note}")
            finally:
                ours.stop()
                peer.stop()
            print(f"dns: {args.rounds} rounds of {args.duration} s, dnsperf over UDP", flush=True)
            runs = alternate(args.rounds, lambda: dns_run(lambda: start_ours_dns(log_dir), args.duration, queries),
                             lambda: dns_run(lambda: start_dnsmasq(log_dir, work), args.duration, queries))
            results["dns"] = {"runs": runs, "ratio": summarise("DNS queries answered", "queries", "dnsmasq", runs)}
        if "smtp" in benches:
            python = ensure_aiosmtpd()
            print(f"smtp: {args.rounds} rounds of {args.duration} s, 8 connections, 1 KiB messages", flush=True)
            runs = alternate(
                args.rounds,
                lambda: smtp_run(lambda d: start_ours_smtp(log_dir, d), args.duration, work),
                lambda: smtp_run(lambda d: start_aiosmtpd(log_dir, d, python), args.duration, work))
            for key, key_runs in runs.items():
                for run in key_runs:
                    if run["stored"] < run["work"]:
                        print(f"  note: {key} acknowledged {run['work']} messages but stored {run['stored']}")
            results["smtp"] = {"runs": runs, "ratio": summarise("SMTP messages stored", "messages", "aiosmtpd", runs)}
    except BenchError as error:
        print(f"bench: {error} (logs kept in {log_dir})", file=sys.stderr)
        return 1
    shutil.rmtree(work, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
