// A UDP echo server as the Node tutorials write it: dgram, 'message',
// send it back to rinfo.port and rinfo.address. check/tests/udp_echo.rs runs
// the checker against it and state which stages it passes.
//
// Try it: PORT=7007 node check/tests/node/udp-echo.js, then
// cargo run -p check -- udp-echo 127.0.0.1:7007

const dgram = require("dgram");

const server = dgram.createSocket("udp4");

server.on("message", (msg, rinfo) => {
  server.send(msg, rinfo.port, rinfo.address);
});

server.bind(Number(process.env.PORT ?? 7007), "127.0.0.1", () => {
  const { address, port } = server.address();
  console.log(`listening on udp://${address}:${port}`);
});
