// Weighs an idle connection: RSS and V8 heap of one chat server process before and after N raw clients join R rooms.
// Developer tool, not run by tests. Usage (after `npx tsc -b apps/chat-server`):
//   node apps/chat-server/scripts/measure-idle.mjs [clients=5000] [rooms=50] [waitMs=0]
// waitMs: extra wait before weighing, e.g. 6000 to let node-redis's 5 s per-command timers expire.
// Starts its own redis-server and a forked server (with the inspector, to force a full GC), connects the
// clients from this process, and prints bytes per connection after GC; everything it starts is stopped at the end.
import { clientFrame, collectGarbage, rawClient, rssBytes, sleep, startChatServer, startRedis } from './measure-support.mjs';

const clients = Number(process.argv[2] ?? 5000);
const rooms = Number(process.argv[3] ?? 50);
const waitMs = Number(process.argv[4] ?? 0);
const REGISTERED = Buffer.from('"type":"registered"');

/** RSS once three samples 250 ms apart agree within 0.5%. */
async function settledRss(pid) {
  let last = rssBytes(pid);
  for (let steady = 0, i = 0; steady < 3 && i < 40; i++) {
    await sleep(250);
    const now = rssBytes(pid);
    steady = Math.abs(now - last) <= last * 0.005 ? steady + 1 : 0;
    last = now;
  }
  return last;
}

const redis = await startRedis();
let server;
const sockets = [];
try {
  server = await startChatServer(redis.url, { execArgv: ['--inspect=127.0.0.1:0'] });
  while (server.inspectorUrl === undefined) await sleep(20);
  await settledRss(server.pid);
  const before = await collectGarbage(server.inspectorUrl);
  const rssBefore = await settledRss(server.pid);

  let registered = 0;
  const onPayload = (payload) => {
    if (payload.indexOf(REGISTERED) !== -1) registered++;
  };
  for (let i = 0; i < clients; i += 100) {
    const batch = [];
    for (let j = i; j < Math.min(clients, i + 100); j++) batch.push(rawClient(server.url, `u${j}`, '', onPayload));
    const opened = await Promise.all(batch);
    opened.forEach((socket, k) => socket.write(clientFrame(JSON.stringify({ type: 'register', payload: { chatId: `r${(i + k) % rooms}` } }))));
    sockets.push(...opened);
  }
  while (registered < clients) await sleep(50);
  await sleep(waitMs);
  await settledRss(server.pid);
  const after = await collectGarbage(server.inspectorUrl);
  const rssAfter = await settledRss(server.pid);
  const per = (a, b) => ((a - b) / clients).toFixed(0);
  console.log(
    JSON.stringify({
      clients,
      rooms,
      waitMs,
      rssMbBefore: +(rssBefore / 2 ** 20).toFixed(1),
      rssMbAfter: +(rssAfter / 2 ** 20).toFixed(1),
      rssBytesPerConnection: +per(rssAfter, rssBefore),
      heapBytesPerConnection: +per(after.heapUsed, before.heapUsed),
      heapTotalBytesPerConnection: +per(after.heapTotal, before.heapTotal),
      externalBytesPerConnection: +per(after.external, before.external),
    }),
  );
} finally {
  for (const socket of sockets) socket.destroy();
  await server?.stop();
  redis.stop();
}
