// The beginner courses' closing practice, written as they write it: the
// smallest HTTP server with only the built-in http module; it logs every
// method and URL and returns plain text. It has no SIGINT handler, so
// Ctrl+C kills it mid-request.
//
// `cargo run -p check -- first-server --spawn 'node server.js'` passes every
// stage but the graceful one (check/tests/first_server.rs holds it to that);
// first-server-graceful.js adds the handler and passes them all.

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
