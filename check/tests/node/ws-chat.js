// A chat server written the way the beginner tutorials write one: Node's
// `http` server, npm's `ws` package, and a broadcast loop over
// `wss.clients`. It welcomes, broadcasts and announces who comes and goes,
// but has no commands and no limits. ws-chat's checker
// (`cargo run -p check -- ws-chat 127.0.0.1:PORT`) passes it through
// stage 4 and stops at stage 5 (nick); check/tests/ws_chat.rs proves it.
//
// Run it: `npm ci --prefix check/tests/node`, then `node check/tests/node/ws-chat.js`.

const http = require('http');
const { WebSocketServer, WebSocket } = require('ws');

const server = http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  res.end('WebSocket chat at /ws\n');
});
const wss = new WebSocketServer({ server, path: '/ws' });

let guests = 0;

function broadcast(line) {
  wss.clients.forEach((client) => {
    if (client.readyState === WebSocket.OPEN) {
      client.send(line);
    }
  });
}

wss.on('connection', (ws) => {
  guests += 1;
  const nick = `guest-${guests}`;
  broadcast(`* ${nick} joined #lobby`);
  ws.send(`* welcome, ${nick}! you are in #lobby`);

  ws.on('message', (data) => {
    broadcast(`<${nick}> ${data.toString().trimEnd()}`);
  });

  ws.on('close', () => {
    broadcast(`* ${nick} left #lobby`);
  });
});

server.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  const { address, port } = server.address();
  console.log(`listening on http://${address}:${port}`);
});
