// The beginner courses' closing practice: the smallest HTTP server with
// only Node's built-in http module. It logs every method and URL and
// returns plain text. (The book's "Your first server" page checks it with
// `cargo run -p check -- first-server --spawn 'node server.js'`.)

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
