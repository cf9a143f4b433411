// Which objects an idle connection is made of: a heap snapshot of one chat server with N idle raw clients in R rooms, summed by constructor.
// Developer tool, not run by tests. Usage (after `npx tsc -b apps/chat-server`):
//   node apps/chat-server/scripts/heap-classes.mjs [clients=2000] [rooms=20] [waitMs=1000]
// Prints the object kinds with at least one instance per connection, with bytes per connection.
import WebSocket from 'ws';
import { clientFrame, rawClient, sleep, startChatServer, startRedis } from './measure-support.mjs';

const clients = Number(process.argv[2] ?? 2000);
const rooms = Number(process.argv[3] ?? 20);
const waitMs = Number(process.argv[4] ?? 1000);

async function snapshot(inspectorUrl) {
  const ws = new WebSocket(inspectorUrl, { perMessageDeflate: false, maxPayload: 2 ** 30 });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const chunks = [];
  const done = new Promise((resolve) => {
    ws.on('message', (data) => {
      const message = JSON.parse(String(data));
      if (message.method === 'HeapProfiler.addHeapSnapshotChunk') chunks.push(message.params.chunk);
      else if (message.id === 2) resolve();
    });
  });
  // Collect, give FinalizationRegistry callbacks a turn (node-redis's AbortSignal.timeout timers are
  // freed only after theirs ran), then snapshot, which collects again: only live objects are counted.
  ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
  await sleep(300);
  ws.send(JSON.stringify({ id: 2, method: 'HeapProfiler.takeHeapSnapshot', params: { reportProgress: false } }));
  await done;
  ws.terminate();
  return JSON.parse(chunks.join(''));
}

function byConstructor(snap) {
  const meta = snap.snapshot.meta;
  const fields = meta.node_fields.length;
  const types = meta.node_types[0];
  const { nodes, strings } = snap;
  const typeAt = meta.node_fields.indexOf('type');
  const nameAt = meta.node_fields.indexOf('name');
  const sizeAt = meta.node_fields.indexOf('self_size');
  const sums = new Map();
  for (let i = 0; i < nodes.length; i += fields) {
    const type = types[nodes[i + typeAt]];
    const name = type === 'object' || type === 'closure' ? strings[nodes[i + nameAt]] : `(${type})`;
    const key = `${type}:${name}`;
    const entry = sums.get(key) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += nodes[i + sizeAt];
    sums.set(key, entry);
  }
  return sums;
}

const redis = await startRedis();
let server;
const sockets = [];
try {
  server = await startChatServer(redis.url, { execArgv: ['--inspect=127.0.0.1:0'] });
  while (server.inspectorUrl === undefined) await sleep(20);
  const before = byConstructor(await snapshot(server.inspectorUrl));
  let registered = 0;
  for (let i = 0; i < clients; i += 100) {
    const batch = [];
    for (let j = i; j < Math.min(clients, i + 100); j++) {
      batch.push(rawClient(server.url, `u${j}`, '', (p) => String(p).includes('"registered"') && registered++));
    }
    const opened = await Promise.all(batch);
    opened.forEach((s, k) => s.write(clientFrame(JSON.stringify({ type: 'register', payload: { chatId: `r${(i + k) % rooms}` } }))));
    sockets.push(...opened);
  }
  while (registered < clients) await sleep(50);
  await sleep(waitMs);
  const after = byConstructor(await snapshot(server.inspectorUrl));
  const rows = [];
  let total = 0;
  for (const [key, a] of after) {
    const b = before.get(key) ?? { count: 0, bytes: 0 };
    const count = (a.count - b.count) / clients;
    const bytes = (a.bytes - b.bytes) / clients;
    total += bytes;
    if (Math.abs(bytes) >= 8) rows.push([bytes.toFixed(0).padStart(6), count.toFixed(2).padStart(6), key]);
  }
  rows.sort((x, y) => Number(y[0]) - Number(x[0]));
  console.log(`bytes/conn  objs/conn  kind   (total ${total.toFixed(0)} B per connection)`);
  for (const row of rows) console.log(row.join('  '));
} finally {
  for (const s of sockets) s.destroy();
  await server?.stop();
  redis.stop();
}
