// The courses' practice (first-server.js) with the shutdown they teach last:
// on Ctrl+C (SIGINT) or a process manager's SIGTERM, stop accepting, let the
// requests in flight finish (`server.close`), then exit 0.
//
// It passes every stage of `cargo run -p check -- first-server --spawn
// 'node first-server-graceful.js'` (check/tests/first_server.rs).

const http = require('http');

const PORT = process.env.PORT || 3000;

const server = http.createServer((req, res) => {
  console.log(`${req.method} ${req.url}`);
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  res.end('Hello from my first server!\n');
});

server.listen(PORT, () => {
  console.log(`Server running at http://127.0.0.1:${server.address().port}`);
});

function shutdown(signal) {
  console.log(`${signal} received: finishing the requests in flight`);
  server.close(() => {
    console.log('closed; bye');
    process.exit(0);
  });
}

process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
