#!/usr/bin/env python3
"""The SMTP peer for protocols/bench/run.py: Python's aiosmtpd, storing each
message the way lesson 6's smtp does (one file per message, written under a
temporary name, flushed to disk, renamed into place, then 250).

Needs aiosmtpd (run.py installs it in a venv under /tmp). Settings as the
lessons': HOST, PORT (0: any), MAIL_DIR. Prints `listening on smtp://IP:PORT`
first, like every lesson, and stops on SIGTERM or SIGINT.
"""

import asyncio
import os
import signal

from aiosmtpd.smtp import SMTP


class Mailbox:
    """aiosmtpd's handler: called once per message, after the final dot."""

    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = f"{os.getpid()}-{self.count}"
        temporary = os.path.join(self.folder, f".{name}.tmp")
        head = f"Return-Path: <{envelope.mail_from}>\r\n"
        head += "".join(f"Delivered-To: {to}\r\n" for to in envelope.rcpt_tos)
        with open(temporary, "xb") as file:
            file.write(head.encode())
            file.write(envelope.original_content or envelope.content)
            file.flush()
            os.fsync(file.fileno())
        os.rename(temporary, os.path.join(self.folder, f"{name}.eml"))
        return f"250 OK: queued as {name}"


async def main():
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "0"))
    handler = Mailbox(os.environ["MAIL_DIR"])
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, hostname="mail.plants.test"), host, port)
    bound = server.sockets[0].getsockname()
    print(f"listening on smtp://{bound[0]}:{bound[1]}", flush=True)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
