"""pyftpdlib, a real FTP server, for the ftp checker's fairness test.

Usage: python3 pyftpdlib_server.py FOLDER. It serves FOLDER to anonymous
users, read-only (pyftpdlib's default permissions for them), on 127.0.0.1
and a port the OS picks, and prints `listening on ftp://127.0.0.1:PORT`.
"""

import sys

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

authorizer = DummyAuthorizer()
authorizer.add_anonymous(sys.argv[1])
FTPHandler.authorizer = authorizer
server = FTPServer(("127.0.0.1", 0), FTPHandler)
port = server.socket.getsockname()[1]
print(f"listening on ftp://127.0.0.1:{port}", flush=True)
server.serve_forever()
