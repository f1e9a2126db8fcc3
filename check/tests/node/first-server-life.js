// First servers that answer well but live badly, one flaw each, for the
// spawn stages (check/tests/spawn.rs). FLAW picks one:
//   ignores-port       listens on a port of its own choosing, not PORT
//   exits-at-start     prints an error and exits 1 before listening
//   logs-nothing       answers, but logs no request
//   never-exits        handles SIGINT/SIGTERM by doing nothing
//   exits-mid-request  exits 0 at once on SIGINT, the request in flight cut
//   exits-1            closes cleanly on SIGINT, then exits 1
//   child-keeps-port   exits 0 on SIGINT, leaving a child bound to PORT
// Otherwise it is first-server-graceful.js.

const http = require('http');
const { fork } = require('child_process');

const flaw = process.env.FLAW || '';

if (process.env.KEEP_PORT) {
  // The child of child-keeps-port: holds the port until it is killed.
  const holder = require('net').createServer();
  holder.listen(Number(process.env.KEEP_PORT), '127.0.0.1', () => process.send('bound'));
  return;
}

if (flaw === 'exits-at-start') {
  console.error('Error: cannot find module ./routes');
  process.exit(1);
}

const PORT = flaw === 'ignores-port' ? 0 : process.env.PORT || 3000;

const server = http.createServer((req, res) => {
  if (flaw !== 'logs-nothing') {
    console.log(`${req.method} ${req.url}`);
  }
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  res.end('Hello from my first server!\n');
});

server.listen(PORT, '127.0.0.1', () => {
  console.log(`Server running at http://127.0.0.1:${server.address().port}`);
});

function shutdown() {
  if (flaw === 'never-exits') {
    console.log('signal received; ignoring it');
  } else if (flaw === 'exits-mid-request') {
    process.exit(0);
  } else if (flaw === 'child-keeps-port') {
    const port = server.address().port;
    server.close(() => {
      const child = fork(__filename, [], { env: { ...process.env, KEEP_PORT: String(port) } });
      child.on('message', () => process.exit(0));
    });
  } else {
    server.close(() => process.exit(flaw === 'exits-1' ? 1 : 0));
  }
}

process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
