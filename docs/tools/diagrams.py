#!/usr/bin/env python3
"""Draws the book's diagrams as SVG files in docs/src/images/.

A sequence diagram is a list of participants and steps; a topology is
columns of boxes with arrows from each box to every box of the next column
(or to the boxes it names). Run this script after
changing one (`python3 docs/tools/diagrams.py`) and commit the SVGs. Standard
library only. `check_book.py` verifies that every image the book shows exists
and is well-formed SVG.
"""

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


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (participants, steps) in DIAGRAMS.items():
        draw(name, participants, steps)
        print(f"wrote {OUT / name}.svg")
    for name, columns in TOPOLOGIES.items():
        draw_topology(name, columns)
        print(f"wrote {OUT / name}.svg")


if __name__ == "__main__":
    main()
