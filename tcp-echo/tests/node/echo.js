// An echo server as the Node tutorials write it: net.createServer and
// socket.pipe(socket). tcp-echo's tests run the checker against it
// (tests/checker.rs): it passes every stage, because pipe() streams with
// backpressure and ends our side when the client ends theirs.
//
// Try it: PORT=7007 node tcp-echo/tests/node/echo.js, then
// cargo run -p tcp-echo --bin check -- 127.0.0.1:7007

const net = require("net");

const server = net.createServer((socket) => {
  socket.on("error", () => socket.destroy());
  socket.pipe(socket);
});

server.listen(Number(process.env.PORT ?? 7007), "127.0.0.1", () => {
  const { address, port } = server.address();
  console.log(`listening on tcp://${address}:${port}`);
});
