#!/usr/bin/env python3
"""The plants API through nginx in front of two http-server copies, with and
without Redis: requests per second, and per CPU-second of every server process
(nginx, both copies, redis-server). Build first: cargo build --release -p http-server.
Run: python3 docs/lab/bench-plants.py [SECONDS]. Needs nginx, redis-server, wrk.
Loopback only; each run is bounded by wrk's duration; stops every process it started."""
import os, re, socket, subprocess, sys, tempfile, time, json, urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(ROOT, "target", "release", "http-server")
if not os.path.exists(BIN):
    raise SystemExit("build it first: cargo build --release -p http-server")
DUR = int(sys.argv[1]) if len(sys.argv) > 1 else 5

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def wait_port(p, t=20):
    end = time.time() + t
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", p), 0.2).close(); return
        except OSError: time.sleep(0.05)
    raise SystemExit(f"port {p} never opened")

def cpu(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])) / os.sysconf("SC_CLK_TCK")

def children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(x) for x in out]

def run(redis):
    procs, pids = [], []
    tmp = tempfile.mkdtemp()
    env = dict(os.environ, RUST_LOG="warn", HOST="127.0.0.1")
    if redis:
        rp = free_port()
        r = subprocess.Popen(["redis-server", "--port", str(rp), "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
        procs.append(r); wait_port(rp); env["REDIS_URL"] = f"redis://127.0.0.1:{rp}"
    ports = [free_port(), free_port()]
    for p in ports:
        c = subprocess.Popen([BIN], env=dict(env, PORT=str(p)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(c); wait_port(p)
    front = free_port()
    conf = f"""worker_processes 1; pid {tmp}/nginx.pid; error_log {tmp}/error.log;
events {{ worker_connections 1024; }}
http {{ access_log off; client_body_temp_path {tmp}; proxy_temp_path {tmp};
 fastcgi_temp_path {tmp}; uwsgi_temp_path {tmp}; scgi_temp_path {tmp};
 upstream site {{ least_conn; server 127.0.0.1:{ports[0]} max_fails=3 fail_timeout=10s; server 127.0.0.1:{ports[1]} max_fails=3 fail_timeout=10s; keepalive 32; }}
 server {{ listen 127.0.0.1:{front}; location / {{ proxy_pass http://site; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $http_host; }} }} }}"""
    open(f"{tmp}/nginx.conf", "w").write(conf)
    n = subprocess.Popen(["nginx", "-c", f"{tmp}/nginx.conf", "-g", "daemon off;"], stderr=subprocess.DEVNULL)
    procs.append(n); wait_port(front)
    for i in range(20):
        req = urllib.request.Request(f"http://127.0.0.1:{front}/api/plants", data=json.dumps({"name": f"fern {i}"}).encode(), headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=5).read()
    time.sleep(0.2)
    all_pids = [p.pid for p in procs] + children(n.pid)
    before = sum(cpu(p) for p in all_pids)
    out = subprocess.run(["timeout", str(DUR + 20), "taskset", "-c", "1", "wrk", "-t1", "-c50", f"-d{DUR}s", f"http://127.0.0.1:{front}/api/plants"], capture_output=True, text=True).stdout
    after = sum(cpu(p) for p in all_pids)
    reqs = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    for p in reversed(procs):
        p.terminate()
    for p in procs:
        try: p.wait(10)
        except subprocess.TimeoutExpired: p.kill()
    return reqs / DUR, reqs / (after - before), (non2xx.group(1) if non2xx else "0")

for rnd in range(2):
    for redis in (False, True):
        rps, rpc, bad = run(redis)
        print(f"round {rnd+1} redis={'on ' if redis else 'off'} req/s {rps:9.0f}  req/CPU-s {rpc:9.0f}  non-2xx {bad}", flush=True)
