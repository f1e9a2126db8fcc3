// The practice (../practice/server.js) with a clean stop: on Ctrl+C
// (SIGINT) or a process manager's SIGTERM, stop accepting, let the
// requests in flight finish (`server.close`), then exit 0.

const http = require('http');

const PORT = process.env.PORT || 3000;

const server = http.createServer((req, res) => {
  console.log(`${req.method} ${req.url}`);
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  res.end('Hello from my first server!\n');
});

server.listen(PORT, () => {
  console.log(`Server running at http://localhost:${PORT}/`);
});

function shutdown(signal) {
  console.log(`${signal}: closing`);
  server.close(() => process.exit(0));
}

process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
