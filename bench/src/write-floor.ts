// The raw write floor: CPU one loopback TCP write() of a chat-frame-sized buffer costs this machine, the floor under every delivery.
import { fork } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

export interface WriteFloor {
  /** Sender CPU (user + system) per write() of `bytes`, µs: what a delivery costs at least when each frame gets a write of its own. */
  usPerWrite: number;
  bytes: number;
  sockets: number;
  writes: number;
}

const READER = fileURLToPath(new URL('./write-floor-reader.js', import.meta.url));

/**
 * Opens `sockets` loopback connections to a reader in another process, then
 * `rounds` times writes one buffer to every socket (no delay, as websocket
 * servers set it) and yields a millisecond, as a fan-out does once per turn.
 * The reader's CPU is not counted. Stops everything it starts.
 */
export async function measureWriteFloor(sockets: number, rounds: number, bytes = 150): Promise<WriteFloor> {
  const accepted: Socket[] = [];
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    accepted.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const reader = fork(READER, [String(port), String(sockets)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  try {
    const deadline = Date.now() + 20_000;
    while (accepted.length < sockets) {
      if (reader.exitCode !== null) throw new Error(`write floor reader exited with ${reader.exitCode}`);
      if (Date.now() > deadline) throw new Error(`write floor: only ${accepted.length} of ${sockets} sockets connected in 20 s`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const data = Buffer.alloc(bytes, 97);
    // One untimed round first, so buffers and code are warm.
    for (const socket of accepted) socket.write(data);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const start = process.cpuUsage();
    for (let round = 0; round < rounds; round++) {
      for (const socket of accepted) socket.write(data);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const used = process.cpuUsage(start);
    const writes = sockets * rounds;
    return { usPerWrite: (used.user + used.system) / writes, bytes, sockets, writes };
  } finally {
    reader.kill('SIGKILL');
    for (const socket of accepted) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
