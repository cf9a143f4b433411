// The Socket.IO peer: a chat server written the way a typical user writes one (socket.io + @socket.io/redis-adapter), run as a forked child.
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { intVar, parseEnv, redisUrlVar, stringVar } from '@chatfleet/protocol/env';
import { createClient } from 'redis';
import { Server } from 'socket.io';

interface RegisterPayload {
  chatId: string;
}
interface ChatPayload {
  chatId: string;
  message: string;
  clientId?: string;
}

const config = parseEnv(
  {
    PORT: intVar(0, 0, 65535),
    HOST: stringVar('127.0.0.1'),
    REDIS_URL: redisUrlVar(),
  },
  process.env,
);

const pubClient = createClient({ url: config.REDIS_URL ?? 'redis://127.0.0.1:6379' });
const subClient = pubClient.duplicate();
pubClient.on('error', (error: unknown) => console.error('redis pub error', error));
subClient.on('error', (error: unknown) => console.error('redis sub error', error));
await Promise.all([pubClient.connect(), subClient.connect()]);

const httpServer = createServer();
const io = new Server(httpServer, { adapter: createAdapter(pubClient, subClient) });

io.on('connection', (socket) => {
  const user = typeof socket.handshake.query.user === 'string' ? socket.handshake.query.user : socket.id;
  socket.on('register', ({ chatId }: RegisterPayload, ack?: (reply: unknown) => void) => {
    void socket.join(chatId);
    if (typeof ack === 'function') ack({ chatId });
  });
  socket.on('chat', ({ chatId, message, clientId }: ChatPayload) => {
    io.to(chatId).emit('chat', { chatId, from: user, message, ts: Date.now(), clientId });
  });
});

httpServer.listen(config.PORT, config.HOST, () => {
  const address = httpServer.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.PORT;
  const url = `ws://${config.HOST}:${port}/`;
  if (process.send) process.send({ type: 'ready', id: `sio-${process.pid}`, url, pid: process.pid });
  else console.log(`socket.io peer listening on ${url}`);
});

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  io.close();
  // The Redis clients may already be gone; exit regardless.
  Promise.allSettled([pubClient.quit(), subClient.quit()]).finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
}

process.on('SIGTERM', stop);
// Ctrl-C reaches the whole process group; the bench stops its children itself.
if (process.send) process.on('SIGINT', () => undefined);
process.on('disconnect', stop);
