// An echo server as many Node tutorials write one: read the data as text
// (setEncoding("utf8")), log it, write it back. check/tests/tcp_echo.rs runs
// the checker against it: it passes stage 1 and fails stage 2
// (binary-safe), because decoding as UTF-8 turns every byte that is not
// valid UTF-8 into U+FFFD, three other bytes (\xef\xbf\xbd).
//
// Try it: PORT=7007 node check/tests/node/tcp-echo-text.js, then
// cargo run -p check -- tcp-echo 127.0.0.1:7007

const net = require("net");

const server = net.createServer((socket) => {
  socket.setEncoding("utf8");
  socket.on("data", (text) => {
    console.error(`received: ${JSON.stringify(text)}`);
    socket.write(text);
  });
  socket.on("error", () => socket.destroy());
});

server.listen(Number(process.env.PORT ?? 7007), "127.0.0.1", () => {
  const { address, port } = server.address();
  console.log(`listening on tcp://${address}:${port}`);
});
