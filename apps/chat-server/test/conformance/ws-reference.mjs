// The reference server of the conformance suite: a plain `ws` WebSocketServer as its README shows one, with chatfleet's MAX_PAYLOAD and a ticket and Origin check.
// Text frames that look like `register` join the one room; `chat` frames go to every member; anything else is echoed.
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const maxPayload = Number(process.env.MAX_PAYLOAD ?? 65536);
const token = process.env.TOKEN ?? '';
const origins = process.env.ALLOWED_ORIGINS?.split(',');

const server = createServer((_req, res) => {
  res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
  res.end('Upgrade Required');
});
const room = new Set();
const wss = new WebSocketServer({
  server,
  maxPayload,
  verifyClient({ origin, req }, done) {
    if (origins !== undefined && origin !== undefined && !origins.includes(origin)) return done(false, 403);
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    done(query.get('token') === token, 401);
  },
});
wss.on('connection', (ws) => {
  ws.on('error', () => undefined);
  ws.on('close', () => room.delete(ws));
  ws.on('message', (data, isBinary) => {
    if (!isBinary && data.length < 200) {
      const text = data.toString();
      if (text.startsWith('{"type":"register"')) {
        room.add(ws);
        ws.send('{"type":"registered"}');
        return;
      }
      if (text.startsWith('{"type":"chat"')) {
        for (const member of room) member.send(text);
        return;
      }
    }
    ws.send(data, { binary: isBinary });
  });
});
server.listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'ready', url: `ws://127.0.0.1:${server.address().port}/`, pid: process.pid });
});
process.on('SIGTERM', () => {
  for (const ws of wss.clients) ws.terminate();
  server.close(() => process.exit(0));
});
