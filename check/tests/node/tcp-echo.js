// An echo server as the Node tutorials write it: net.createServer and
// socket.pipe(socket). check/tests/tcp_echo.rs runs the checker
// against it: it passes every stage, because pipe() streams with
// backpressure and ends our side when the client ends theirs.
//
// Try it: PORT=7007 node check/tests/node/tcp-echo.js, then
// cargo run -p check -- tcp-echo 127.0.0.1:7007

const net = require("net");

const server = net.createServer((socket) => {
  socket.on("error", () => socket.destroy());
  socket.pipe(socket);
});

server.listen(Number(process.env.PORT ?? 7007), "127.0.0.1", () => {
  const { address, port } = server.address();
  console.log(`listening on tcp://${address}:${port}`);
});
