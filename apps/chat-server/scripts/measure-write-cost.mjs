// The floor under a delivery's cost: sender CPU per write() to a loopback TCP socket, with the reader in another process.
// Developer tool, not run by tests. Usage: node apps/chat-server/scripts/measure-write-cost.mjs [sockets=1000] [rounds=300]
// Each round writes one buffer to every socket (setNoDelay, as ws sets it) and yields; it prints the CPU per write for
// 150-byte and 600-byte buffers, i.e. one chat frame or four frames written together. Stops everything it starts.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

const sockets = Number(process.argv[2] ?? 1000);
const rounds = Number(process.argv[3] ?? 300);

const accepted = [];
const server = createServer((socket) => {
  socket.setNoDelay(true);
  accepted.push(socket);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();
const reader = spawn(
  process.execPath,
  ['-e', `const net = require('net'); for (let i = 0; i < ${sockets}; i++) net.connect(${port}, '127.0.0.1').on('data', () => {});`],
  { stdio: 'inherit' },
);
try {
  while (accepted.length < sockets) await new Promise((resolve) => setTimeout(resolve, 10));
  for (const bytes of [150, 600, 150, 600]) {
    const data = Buffer.alloc(bytes, 97);
    const start = process.cpuUsage();
    for (let round = 0; round < rounds; round++) {
      for (const socket of accepted) socket.write(data);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const used = process.cpuUsage(start);
    const writes = sockets * rounds;
    console.log(
      JSON.stringify({
        bytesPerWrite: bytes,
        usPerWrite: +((used.user + used.system) / writes).toFixed(2),
        userUs: +(used.user / writes).toFixed(2),
        systemUs: +(used.system / writes).toFixed(2),
      }),
    );
  }
} finally {
  reader.kill();
  for (const socket of accepted) socket.destroy();
  server.close();
}
