#!/usr/bin/env node
// A server for lesson 3's routes, written the way beginner Node tutorials
// write one: the built-in http module, one callback, no packages.
//
// http-raw's checker passes it through stage 3 and fails it at stage 4
// (body by Content-Length): `body += chunk` turns the bytes into a string,
// so bytes that are not valid UTF-8 come back changed. (The fix: collect
// the Buffers and `Buffer.concat` them.) Node's http module does the rest
// of the protocol for it: Content-Length, Date, keep-alive, chunked bodies.
//
// Run it: `node check/tests/node/http-raw.js`, then
// `cargo run -p check -- http-raw 127.0.0.1:3000` (check/tests/http_raw.rs
// holds it to that).

const http = require('http');

const port = process.env.PORT || 3000;

const server = http.createServer((req, res) => {
  const path = new URL(req.url, 'http://localhost').pathname;

  if (req.method === 'GET' && path === '/') {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end('<!DOCTYPE html>\n<h1>Hello from Node</h1>\n');
  } else if (req.method === 'GET' && path === '/hello') {
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('Hello, world');
  } else if (req.method === 'GET' && path === '/seed-a-plant') {
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('🌱 Plant seeded!');
  } else if (req.method === 'GET' && path === '/headers') {
    let text = `${req.method} ${req.url} HTTP/${req.httpVersion}\n`;
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      text += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\n`;
    }
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(text);
  } else if (req.method === 'POST' && path === '/echo') {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      res.end(body);
    });
  } else {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('Not found');
  }
});

server.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
