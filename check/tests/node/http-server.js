#!/usr/bin/env node
// Lesson 4's app written the way beginner Node tutorials write one: the
// built-in http, fs and path modules, one callback, no packages.
//
// http-server's checker passes it through stage 6 and fails it at stage 7
// (path traversal refused): `path.join(publicDir, req.url)` resolves `..`,
// so `GET /../Cargo.toml` reads a file outside the public directory. (The
// fix: decode the path, then refuse it if it leaves the directory, e.g.
// `if (!file.startsWith(publicDir + path.sep)) { 404 }`.)
//
// Run it: `node check/tests/node/http-server.js` (it serves
// http-server/public, or PUBLIC_DIR), then
// `cargo run -p check -- http-server 127.0.0.1:4000`. check/tests/http_server.rs
// holds it to that, with a public directory of its own.

const http = require('http');
const fs = require('fs');
const path = require('path');

const port = process.env.PORT || 4000;
const publicDir = process.env.PUBLIC_DIR || path.join(__dirname, '..', '..', '..', 'http-server', 'public');

const types = { '.html': 'text/html', '.css': 'text/css', '.js': 'text/javascript', '.svg': 'image/svg+xml' };

let plants = [];
let nextId = 1;

function sendJson(res, status, value) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(value));
}

function readJson(req, callback) {
  let body = '';
  req.on('data', (chunk) => {
    body += chunk;
  });
  req.on('end', () => {
    try {
      callback(null, JSON.parse(body));
    } catch (error) {
      callback(error);
    }
  });
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  const match = url.pathname.match(/^\/api\/plants\/(\d+)$/);

  if (req.method === 'GET' && url.pathname === '/hello') {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('Hello, world');
  } else if (req.method === 'GET' && url.pathname === '/api/plants') {
    sendJson(res, 200, plants);
  } else if (req.method === 'POST' && url.pathname === '/api/plants') {
    readJson(req, (error, input) => {
      if (error || !input || typeof input.name !== 'string') {
        return sendJson(res, 400, { error: 'send {"name": "..."}' });
      }
      const plant = { id: nextId++, name: input.name };
      plants.push(plant);
      res.setHeader('Location', `/api/plants/${plant.id}`);
      sendJson(res, 201, plant);
    });
  } else if (match) {
    const plant = plants.find((p) => p.id === Number(match[1]));
    if (!plant) {
      return sendJson(res, 404, { error: 'no such plant' });
    }
    if (req.method === 'GET') {
      sendJson(res, 200, plant);
    } else if (req.method === 'PUT') {
      readJson(req, (error, input) => {
        if (error || !input || typeof input.name !== 'string') {
          return sendJson(res, 400, { error: 'send {"name": "..."}' });
        }
        plant.name = input.name;
        sendJson(res, 200, plant);
      });
    } else if (req.method === 'DELETE') {
      plants = plants.filter((p) => p !== plant);
      res.writeHead(204);
      res.end();
    }
  } else {
    // Static files, as the tutorials do it.
    const file = path.join(publicDir, req.url === '/' ? 'index.html' : req.url);
    fs.readFile(file, (error, data) => {
      if (error) {
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        return res.end('Not found');
      }
      res.writeHead(200, { 'Content-Type': types[path.extname(file)] || 'application/octet-stream' });
      res.end(data);
    });
  }
});

server.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
