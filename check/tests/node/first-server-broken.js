// Broken first servers, one per stage they should fail (check/tests/
// first_server.rs). FLAW picks one:
//   closes-silently  closes every connection without answering (stage 1)
//   no-status-line   writes text but never an HTTP status line (stage 1)
//   dies-after-one   answers once, then exits (stage 2)

const net = require('net');
const http = require('http');

const PORT = process.env.PORT || 3000;
const flaw = process.env.FLAW;

let server;
if (flaw === 'closes-silently') {
  server = net.createServer((socket) => socket.destroy());
} else if (flaw === 'no-status-line') {
  server = net.createServer((socket) => {
    socket.once('data', () => socket.end('Hello from my first server!\n'));
  });
} else if (flaw === 'dies-after-one') {
  server = http.createServer((req, res) => {
    console.log(`${req.method} ${req.url}`);
    res.end('Hello from my first server!\n', () => process.exit(0));
  });
} else {
  throw new Error(`unknown FLAW ${flaw}`);
}

server.listen(PORT, () => {
  console.log(`Server running at http://127.0.0.1:${server.address().port}`);
});
