"""Python's aiosmtpd, a real SMTP server, for the smtp checker's fairness test.

Usage: python3 aiosmtpd_server.py SIZE_LIMIT. It listens on 127.0.0.1, on a
port the OS picks, prints `listening on smtp://127.0.0.1:PORT`, and accepts
every message (storing nothing) until it is killed. aiosmtpd's own SMTP class
does the protocol: greeting, EHLO with SIZE, the order of commands, the
lone dot, 552 over the size limit.
"""

import asyncio
import sys

from aiosmtpd.smtp import SMTP


class Accept:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"


async def main(size_limit):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(Accept(), data_size_limit=size_limit), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(f"listening on smtp://127.0.0.1:{port}", flush=True)
    await server.serve_forever()


asyncio.run(main(int(sys.argv[1])))
