#!/usr/bin/env python3
"""Draws the book's diagrams as SVG files in docs/src/images/.

A sequence diagram is a list of participants and steps; a topology is
columns of boxes with arrows from each box to every box of the next column
(or to the boxes it names). Run this script after
changing one (`python3 docs/tools/diagrams.py`) and commit the SVGs. Standard
library only. `check_book.py` verifies that every image the book shows exists
and is well-formed SVG.
"""

import contextlib
import io
import sys
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

OUT = Path(__file__).resolve().parents[1] / "src" / "images"
COLUMN = 230
ROW = 34
TOP = 70

DIAGRAMS = {
    "tcp-echo-sequence": (["nc (client)", "tcp-echo (server)"], [
        ("note", "the server called accept() and waits"),
        (0, 1, "SYN: may I connect?"),
        (1, 0, "SYN-ACK: yes (the kernel answers, not the program)"),
        (0, 1, "ACK: connected; accept() returns"),
        (0, 1, "hi\\n (3 bytes)"),
        (1, 0, "hi\\n (the echo)"),
        (0, 1, "FIN: nc -N is done sending (half-close)"),
        (1, 0, "FIN: read() returned 0; the server shuts down too"),
    ]),
    "udp-echo-sequence": (["nc -u (client)", "udp-echo (server)"], [
        ("note", "no handshake: the socket is just bound"),
        (0, 1, "datagram \"hello\\n\" from 127.0.0.1:47831"),
        (1, 0, "the same datagram, sent to 127.0.0.1:47831"),
        ("note", "no goodbye either: nothing says the client left"),
    ]),
    "http-keep-alive-sequence": (["curl / browser", "http-raw"], [
        (0, 1, "TCP handshake (SYN, SYN-ACK, ACK)"),
        (0, 1, "GET /hello HTTP/1.1 + headers + empty line"),
        (1, 0, "HTTP/1.1 200 OK, Content-Length: 12, Hello, world"),
        ("note", "keep-alive: the connection stays open"),
        (0, 1, "GET /seed-a-plant HTTP/1.1 ..."),
        (1, 0, "HTTP/1.1 200 OK ... Plant seeded!"),
        ("note", "no request for KEEP_ALIVE_SECS (5 s)"),
        (1, 0, "FIN: the server closes the idle connection"),
    ]),
    "websocket-sequence": (["browser / websocat", "ws-chat"], [
        (0, 1, "GET /ws, Upgrade: websocket, Sec-WebSocket-Key"),
        (1, 0, "101 Switching Protocols, Sec-WebSocket-Accept"),
        ("note", "the same TCP connection now carries frames"),
        (1, 0, "text frame: * welcome, guest-1! ..."),
        (0, 1, "text frame: hello"),
        (1, 0, "text frame: <guest-1> hello"),
        (1, 0, "ping (every 20 s)"),
        (0, 1, "pong"),
        (0, 1, "close frame 1000"),
        (1, 0, "close frame 1000, then TCP FIN"),
    ]),
    "chat-fanout": (["Alice", "client task (Alice)", "room registry", "client tasks (room)", "Bob, Carol"], [
        (0, 1, "text frame: hi"),
        (1, 2, "say(id, \"hi\"): lock, build \"<alice> hi\" once"),
        (2, 3, "try_send to each member's bounded queue"),
        ("note", "a full queue: that client is dropped (1008), nobody waits"),
        (3, 4, "text frames: <alice> hi"),
        (3, 0, "text frame: <alice> hi (the sender too)"),
    ]),
}


# Columns of boxes, left to right: (label, note) or (label, note, arrows).
# A box has an arrow to every box of the next column, or, given `arrows`, to
# the boxes of the next column at those positions (none: []).
TOPOLOGIES = {
    "lab-topology": [
        [("browser, curl", "websocat")],
        [("nginx :8000", "least_conn, /ws upgrade,\nmax_fails / fail_timeout")],
        [("http-server :8001", "x-instance: 127.0.0.1:8001"),
         ("http-server :8002", "x-instance: 127.0.0.1:8002"),
         ("ws-chat :8003", "welcome: ... on 127.0.0.1:8003"),
         ("ws-chat :8004", "/chat/ and /ws"),
         ("ws-chat :8005", "")],
        [("redis-server :8006", "REDIS_URL: plants, nicks,\nrooms, history, the bus")],
    ],
}

BOX_W, BOX_H, GAP_X, GAP_Y = 190, 58, 80, 14


def draw_topology(name, columns):
    rows = max(len(column) for column in columns)
    width = 40 + len(columns) * BOX_W + (len(columns) - 1) * GAP_X
    height = 40 + rows * BOX_H + (rows - 1) * GAP_Y
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'font-family="system-ui, sans-serif" font-size="13">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#3559e0"/></marker></defs>',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    boxes = []  # per column: (x, y) of each box's top-left corner
    for c, column in enumerate(columns):
        x = 20 + c * (BOX_W + GAP_X)
        total = len(column) * BOX_H + (len(column) - 1) * GAP_Y
        top = (height - total) // 2
        boxes.append([(x, top + r * (BOX_H + GAP_Y)) for r in range(len(column))])
    for c in range(len(columns) - 1):
        for box, (x1, y1) in zip(columns[c], boxes[c]):
            targets = box[2] if len(box) > 2 else range(len(columns[c + 1]))
            for (x2, y2) in (boxes[c + 1][t] for t in targets):
                parts.append(f'<line x1="{x1 + BOX_W}" y1="{y1 + BOX_H // 2}" x2="{x2}" y2="{y2 + BOX_H // 2}" '
                             f'stroke="#3559e0" stroke-width="1.2" marker-end="url(#arrow)"/>')
    for c, column in enumerate(columns):
        for (label, note, *_), (x, y) in zip(column, boxes[c]):
            parts.append(f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6" fill="#eef1fb" stroke="#3559e0"/>')
            parts.append(f'<text x="{x + BOX_W // 2}" y="{y + 20}" text-anchor="middle" font-weight="600">{escape(label)}</text>')
            for i, line in enumerate(note.split("\n") if note else []):
                parts.append(f'<text x="{x + BOX_W // 2}" y="{y + 36 + 12 * i}" text-anchor="middle" font-size="11" '
                             f'fill="#4a5068">{escape(line)}</text>')
    parts.append("</svg>")
    (OUT / f"{name}.svg").write_text("\n".join(parts) + "\n")


def draw(name, participants, steps):
    width = COLUMN * len(participants) + 40
    height = TOP + ROW * (len(steps) + 1) + 20
    x = [40 + COLUMN * i + COLUMN // 2 - 20 for i in range(len(participants))]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'font-family="system-ui, sans-serif" font-size="13">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#3559e0"/></marker></defs>',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    for i, participant in enumerate(participants):
        parts.append(f'<rect x="{x[i] - 90}" y="14" width="180" height="32" rx="6" fill="#eef1fb" stroke="#3559e0"/>')
        parts.append(f'<text x="{x[i]}" y="35" text-anchor="middle" font-weight="600">{escape(participant)}</text>')
        parts.append(f'<line x1="{x[i]}" y1="46" x2="{x[i]}" y2="{height - 10}" stroke="#c5cbe0" stroke-dasharray="4 4"/>')
    y = TOP
    for step in steps:
        y += ROW
        if step[0] == "note":
            text = step[1]
            parts.append(f'<rect x="{x[0] - 80}" y="{y - 16}" width="{x[-1] - x[0] + 160}" height="22" rx="4" fill="#fff7e0"/>')
            parts.append(f'<text x="{(x[0] + x[-1]) // 2}" y="{y}" text-anchor="middle" fill="#7a5a00" font-style="italic">{escape(text)}</text>')
            continue
        start, end, label = step
        parts.append(f'<line x1="{x[start]}" y1="{y}" x2="{x[end]}" y2="{y}" stroke="#3559e0" stroke-width="1.6" marker-end="url(#arrow)"/>')
        parts.append(f'<text x="{(x[start] + x[end]) // 2}" y="{y - 6}" text-anchor="middle" fill="#1d2330">{escape(label)}</text>')
    parts.append("</svg>")
    (OUT / f"{name}.svg").write_text("\n".join(parts) + "\n")


# Beyond sequence diagrams: the introduction's picture of a machine and the
# request lifecycle as a flowchart, each drawn by its own function below.
# `python3 docs/tools/diagrams.py --check` draws every diagram into a
# temporary directory and fails if a committed SVG differs, so CI can tell
# when someone changed a diagram here and forgot to commit its SVG.

ARROW_DEFS = (
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
    'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#3559e0"/></marker></defs>'
)


def svg_open(width, height):
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'font-family="system-ui, sans-serif" font-size="13">',
        ARROW_DEFS,
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
    ]


def text(x, y, label, anchor="middle", size=13, weight="normal", fill="#1d2330", mono=False, italic=False):
    family = ' font-family="ui-monospace, Menlo, Consolas, monospace"' if mono else ""
    style = ' font-style="italic"' if italic else ""
    return (f'<text x="{x}" y="{y}" text-anchor="{anchor}" font-size="{size}" font-weight="{weight}" '
            f'fill="{fill}"{family}{style}>{escape(label)}</text>')


def box(x, y, w, h, fill="#eef1fb", stroke="#3559e0", dash=False, radius=6):
    dashes = ' stroke-dasharray="5 4"' if dash else ""
    return f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="{radius}" fill="{fill}" stroke="{stroke}"{dashes}/>'


def arrow(x1, y1, x2, y2, color="#3559e0", both=False):
    start = ' marker-start="url(#arrow)"' if both else ""
    return (f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{color}" stroke-width="1.6"'
            f' marker-end="url(#arrow)"{start}/>')


# The introduction's picture: one machine, two interfaces, a server process
# with its listening socket and one connected socket per client.
MACHINE = "machine-sockets"


def draw_machine():
    width, height = 760, 500
    parts = svg_open(width, height)
    # The machine.
    parts.append(box(170, 20, 580, 460, fill="#fafbff", stroke="#7a86b8", radius=10))
    parts.append(text(460, 44, "your machine (one operating system)", weight="600"))
    # Interfaces, on the machine's edge.
    parts.append(box(150, 80, 190, 54, fill="#e8f6ee", stroke="#2e8b57"))
    parts.append(text(245, 102, "interface lo (loopback)", weight="600"))
    parts.append(text(245, 122, "127.0.0.1 and ::1", mono=True, size=12))
    parts.append(box(150, 360, 190, 54, fill="#e8f6ee", stroke="#2e8b57"))
    parts.append(text(245, 382, "interface wlan0 (Wi-Fi)", weight="600"))
    parts.append(text(245, 402, "192.168.1.20", mono=True, size=12))
    # Outside: a phone on the same Wi-Fi, which reaches wlan0 only.
    parts.append(box(10, 250, 120, 50, fill="#ffffff", stroke="#7a86b8"))
    parts.append(text(70, 271, "a phone", weight="600"))
    parts.append(text(70, 289, "192.168.1.30", mono=True, size=11))
    parts.append(arrow(70, 300, 150, 372))
    # The server process and its sockets.
    parts.append(box(370, 70, 360, 215, fill="#ffffff", stroke="#3559e0"))
    parts.append(text(550, 92, "process: tcp-echo", weight="600"))
    parts.append(text(550, 110, "HOST=127.0.0.1 PORT=7007", mono=True, size=12))
    parts.append(box(385, 122, 330, 46, fill="#eef1fb", stroke="#3559e0"))
    parts.append(text(550, 141, "listening socket 127.0.0.1:7007", mono=True, size=12))
    parts.append(text(550, 159, "hands out new connections (accept)", size=11, italic=True))
    parts.append(text(550, 190, "a connected socket per client:", size=11, italic=True))
    for x, port in ((385, "54054"), (555, "54066")):
        parts.append(box(x, 200, 160, 64, fill="#fff7e0", stroke="#b38600"))
        parts.append(text(x + 80, 219, "connected socket", weight="600", size=12))
        parts.append(text(x + 80, 237, "127.0.0.1:7007", mono=True, size=11))
        parts.append(text(x + 80, 254, f"peer 127.0.0.1:{port}", mono=True, size=11))
    # Clients on the same machine.
    for x, name, port in ((385, "nc", "54054"), (555, "telnet", "54066")):
        parts.append(box(x, 380, 160, 80, fill="#ffffff", stroke="#3559e0"))
        parts.append(text(x + 80, 402, f"process: {name}", weight="600"))
        parts.append(text(x + 80, 422, f"socket :{port}", mono=True, size=11))
        parts.append(text(x + 80, 444, "port picked by the OS", size=11, italic=True))
        parts.append(arrow(x + 80, 380, x + 80, 266, both=True))
    # Who talks to whom.
    parts.append(arrow(340, 110, 385, 140))
    parts.append(text(260, 150, "bound: reachable", size=11, fill="#2e8b57"))
    parts.append(text(260, 165, "from this machine", size=11, fill="#2e8b57"))
    parts.append(text(260, 440, "not bound: a phone", size=11, fill="#c0392b"))
    parts.append(text(260, 455, "gets \"connection refused\"", size=11, fill="#c0392b"))
    parts.append(text(260, 470, "(HOST=0.0.0.0 binds both)", size=11, fill="#c0392b"))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


# The request lifecycle: each step, and the log line it prints (the message
# part; every line in a connection starts with `conn{id=1 peer=...}:`).
LIFECYCLE = "request-lifecycle"
LIFECYCLE_STEPS = [
    ("accept: a new TCP connection", "DEBUG accepted peer=127.0.0.1:41500"),
    ("a task for this connection", "INFO  connection opened open=1"),
    ("read bytes until the empty line", "TRACE read bytes=83"),
    ("parse the head; choose the body framing", "DEBUG head parsed bytes=83 framing=Ok(None)"),
    ("read the body (Content-Length or chunked)", "(no line: this GET has no body)"),
    ("the handler: route and answer", "DEBUG handler done status=200"),
    ("one line per request", "INFO  GET /hello status=200 bytes=12 duration=77µs"),
    ("keep the connection, or close it?", "DEBUG keeping the connection alive"),
    ("write head and body to the socket", "DEBUG written to the socket bytes=129"),
    ("wait for the next request (KEEP_ALIVE_SECS)", "(no line while it waits)"),
    ("the client closed, or the idle time ran out", "DEBUG closing reason=client closed"),
    ("the task ends", "INFO  connection closed: 1 requests, client closed"),
]


def draw_lifecycle():
    step_h, gap, left, box_w = 50, 16, 20, 560
    width = left + box_w + 150
    height = 20 + len(LIFECYCLE_STEPS) * (step_h + gap)
    parts = svg_open(width, height)
    tops = []
    for i, (step, log) in enumerate(LIFECYCLE_STEPS):
        y = 10 + i * (step_h + gap)
        tops.append(y)
        quiet = log.startswith("(")
        parts.append(box(left, y, box_w, step_h, fill="#eef1fb" if not quiet else "#f6f7fb"))
        parts.append(text(left + 12, y + 20, f"{i + 1}. {step}", anchor="start", weight="600"))
        parts.append(text(left + 12, y + 39, log, anchor="start", mono=not quiet, italic=quiet, size=12,
                          fill="#7a5a00" if not quiet else "#6b7280"))
        if i:
            parts.append(arrow(left + box_w // 2, y - gap, left + box_w // 2, y))
    # The keep-alive loop: from "wait for the next request" back to "read".
    wait, read = 9, 2
    x = left + box_w
    y_from = tops[wait] + step_h // 2
    y_to = tops[read] + step_h // 2
    parts.append(f'<path d="M{x},{y_from} H{x + 50} V{y_to} H{x + 2}" fill="none" stroke="#3559e0" '
                 f'stroke-width="1.6" marker-end="url(#arrow)"/>')
    parts.append(text(x + 58, (y_from + y_to) // 2 - 8, "next request", anchor="start", size=12, weight="600"))
    parts.append(text(x + 58, (y_from + y_to) // 2 + 8, "on the same", anchor="start", size=12))
    parts.append(text(x + 58, (y_from + y_to) // 2 + 24, "connection", anchor="start", size=12))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def draw_all():
    """Draws every diagram into OUT."""
    main()
    for name, svg in ((MACHINE, draw_machine()), (LIFECYCLE, draw_lifecycle())):
        (OUT / f"{name}.svg").write_text(svg)
        print(f"wrote {OUT / name}.svg")


def check():
    """Exits 1 if a committed SVG is not what this script draws."""
    global OUT
    committed = OUT
    with tempfile.TemporaryDirectory() as scratch:
        OUT = Path(scratch)
        with contextlib.redirect_stdout(io.StringIO()):
            draw_all()
        stale = [path.name for path in sorted(OUT.glob("*.svg"))
                 if not (committed / path.name).exists()
                 or (committed / path.name).read_text() != path.read_text()]
    OUT = committed
    for name in stale:
        print(f"docs/src/images/{name} is not what docs/tools/diagrams.py draws: run it and commit the SVGs",
              file=sys.stderr)
    if stale:
        sys.exit(1)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (participants, steps) in DIAGRAMS.items():
        draw(name, participants, steps)
        print(f"wrote {OUT / name}.svg")
    for name, columns in TOPOLOGIES.items():
        draw_topology(name, columns)
        print(f"wrote {OUT / name}.svg")


if __name__ == "__main__":
    check() if sys.argv[1:] == ["--check"] else draw_all()
