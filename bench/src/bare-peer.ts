// The floor target: a bare `ws` broadcast server, one process, no Redis, speaking the subset of chatfleet's protocol the load driver uses.
// Rooms are sets of sockets; a chat is framed once and sent to every member, then acked to its sender. Nothing is kept.
import { createServer } from 'node:http';
import { intVar, parseEnv, stringVar } from '@chatfleet/protocol/env';
import { WebSocketServer, type WebSocket } from 'ws';

const config = parseEnv({ PORT: intVar(0, 0, 65535), HOST: stringVar('127.0.0.1') }, process.env);

interface Frame {
  type?: unknown;
  payload?: { chatId?: unknown; message?: unknown; clientId?: unknown };
}

const rooms = new Map<string, Set<WebSocket>>();
let nextId = 0;
let nextUser = 0;

const httpServer = createServer();
const wss = new WebSocketServer({ server: httpServer, perMessageDeflate: false, clientTracking: false });

wss.on('connection', (ws) => {
  const user = `b${++nextUser}`;
  let joined: string | undefined;
  ws.on('message', (data: Buffer) => {
    let frame: Frame;
    try {
      frame = JSON.parse(data.toString()) as Frame;
    } catch {
      ws.send('{"type":"error","payload":{"code":"bad_frame","message":"not JSON"}}');
      return;
    }
    const chatId = typeof frame.payload?.chatId === 'string' ? frame.payload.chatId : joined;
    if (frame.type === 'register' && chatId !== undefined) {
      let members = rooms.get(chatId);
      if (members === undefined) rooms.set(chatId, (members = new Set()));
      members.add(ws);
      joined = chatId;
      ws.send(JSON.stringify({ type: 'registered', payload: { chatId, members: members.size } }));
    } else if (frame.type === 'chat' && chatId !== undefined && typeof frame.payload?.message === 'string') {
      const id = String(++nextId);
      const clientId = typeof frame.payload.clientId === 'string' ? frame.payload.clientId : undefined;
      const out = Buffer.from(
        JSON.stringify({ type: 'chat', payload: { id, chatId, from: user, message: frame.payload.message, ts: Date.now(), clientId } }),
      );
      for (const member of rooms.get(chatId) ?? []) member.send(out);
      ws.send(JSON.stringify({ type: 'ack', payload: { clientId, id } }));
    } else {
      ws.send('{"type":"error","payload":{"code":"unknown_type","message":"bare server: register and chat only"}}');
    }
  });
  ws.on('close', () => {
    if (joined === undefined) return;
    const members = rooms.get(joined);
    members?.delete(ws);
    if (members?.size === 0) rooms.delete(joined);
  });
  ws.send(JSON.stringify({ type: 'welcome', payload: { serverId: `bare-${process.pid}`, userId: user, connectedAt: Date.now() } }));
});

httpServer.listen(config.PORT, config.HOST, () => {
  const address = httpServer.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.PORT;
  const url = `ws://${config.HOST}:${port}/`;
  if (process.send) process.send({ type: 'ready', id: `bare-${process.pid}`, url, pid: process.pid });
  else console.log(`bare broadcast server listening on ${url}`);
});

function stop(): void {
  wss.close();
  httpServer.close();
  process.exit(0);
}
process.on('SIGTERM', stop);
if (process.send) process.on('SIGINT', () => undefined);
process.on('disconnect', stop);
