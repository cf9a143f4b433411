// Measures fan-out on one chat server process: server CPU and write syscalls per delivery, latency p50/p99, loss.
// Developer tool, not run by tests. Usage (after `npx tsc -b apps/chat-server`):
//   node apps/chat-server/scripts/measure-fanout.mjs [msgs/s=1000] [seconds=10] [clients=1000] [rooms=10] [--prof] [--query=&batch=1] [--env=NAME=value]
// Starts its own redis-server and a forked server, connects raw clients from this process (client i joins room i % rooms),
// sends `msgs/s` chat frames round-robin from the clients for a 2 s warm-up plus the window, and prints one JSON line.
// --prof writes a .cpuprofile of the server into /tmp/chat-prof. Everything it starts is stopped at the end.
import { performance } from 'node:perf_hooks';
import { clientFrame, cpuMicros, rawClient, rssBytes, sleep, startChatServer, startRedis, writeSyscalls } from './measure-support.mjs';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const flags = process.argv.slice(2).filter((a) => a.startsWith('--'));
const rate = Number(args[0] ?? 1000);
const seconds = Number(args[1] ?? 10);
const clients = Number(args[2] ?? 1000);
const rooms = Number(args[3] ?? 10);
const prof = flags.includes('--prof');
const query = flags.find((f) => f.startsWith('--query='))?.slice('--query='.length) ?? '';
/** Extra server settings: --env=WRITE_BATCH_MS=2 */
const extraEnv = Object.fromEntries(flags.filter((f) => f.startsWith('--env=')).map((f) => f.slice(6).split('=')));
const WARMUP_MS = 2000;
const GRACE_MS = 3000;

const MARK = Buffer.from('"bm:');
const REGISTERED = Buffer.from('"type":"registered"');
const capacity = Math.ceil((rate * (seconds + WARMUP_MS / 1000 + 2)) * 1.1) + 100;
const counts = new Uint16Array(capacity);
const roomOf = new Uint16Array(capacity);
const roomSize = new Array(rooms).fill(0);
/** Latency histogram in 10 µs buckets up to 10 s. */
const buckets = new Uint32Array(1_000_000);
let measureFrom = Infinity;
let measureTo = Infinity;
let registered = 0;
let inWindow = 0;
let disconnects = 0;

function onPayload(payload) {
  let at = payload.indexOf(MARK);
  if (at === -1) {
    if (payload.indexOf(REGISTERED) !== -1) registered++;
    return;
  }
  const now = performance.now() * 1000;
  while (at !== -1) {
    let i = at + 4;
    let seq = 0;
    while (payload[i] !== 58) seq = seq * 10 + payload[i++] - 48;
    i++;
    let sent = 0;
    while (payload[i] >= 48 && payload[i] <= 57) sent = sent * 10 + payload[i++] - 48;
    counts[seq]++;
    if (seq >= measureFrom && seq < measureTo) {
      inWindow++;
      buckets[Math.min(buckets.length - 1, Math.floor((now - sent) / 10))]++;
    }
    at = payload.indexOf(MARK, i);
  }
}

function percentile(p) {
  const total = buckets.reduce((a, b) => a + b, 0);
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    seen += buckets[i];
    if (seen >= total * p) return (i + 1) / 100;
  }
  return NaN;
}

const redis = await startRedis();
let server;
const sockets = [];
try {
  server = await startChatServer(redis.url, {
    execArgv: prof ? ['--cpu-prof', '--cpu-prof-dir=/tmp/chat-prof'] : [],
    env: { SLOW_CONSUMER_BYTES: String(64 * 1024 * 1024), ...extraEnv },
  });
  for (let i = 0; i < clients; i += 100) {
    const batch = [];
    for (let j = i; j < Math.min(clients, i + 100); j++) batch.push(rawClient(server.url, `u${j}`, query, onPayload));
    const opened = await Promise.all(batch);
    opened.forEach((socket, k) => {
      roomSize[(i + k) % rooms]++;
      socket.on('close', () => disconnects++);
      socket.write(clientFrame(JSON.stringify({ type: 'register', payload: { chatId: `r${(i + k) % rooms}` } })));
    });
    sockets.push(...opened);
  }
  while (registered < clients) await sleep(20);

  let seq = 0;
  let cpu0, syscw0, redisCpu0, driverCpu0, t0, t1, cpu1, syscw1, redisCpu1, driverCpu1;
  const start = performance.now();
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      if (t0 === undefined && now - start >= WARMUP_MS) {
        t0 = now;
        measureFrom = seq;
        cpu0 = cpuMicros(server.pid);
        syscw0 = writeSyscalls(server.pid);
        redisCpu0 = cpuMicros(redis.pid);
        driverCpu0 = process.cpuUsage();
      }
      if (now - start >= WARMUP_MS + seconds * 1000) {
        t1 = now;
        measureTo = seq;
        cpu1 = cpuMicros(server.pid);
        syscw1 = writeSyscalls(server.pid);
        redisCpu1 = cpuMicros(redis.pid);
        driverCpu1 = process.cpuUsage(driverCpu0);
        return resolve();
      }
      const due = Math.floor(((now - start) * rate) / 1000) - seq;
      for (let k = 0; k < due; k++) {
        const sender = seq % clients;
        roomOf[seq] = sender % rooms;
        const text = `bm:${seq}:${Math.round(performance.now() * 1000)}`;
        sockets[sender].write(clientFrame(`{"type":"chat","payload":{"message":"${text}"}}`));
        seq++;
      }
      setTimeout(tick, 1);
    };
    tick();
  });
  const windowDeliveries = inWindow;
  let expected = 0;
  const received = () => {
    let got = 0;
    for (let s = measureFrom; s < measureTo; s++) got += counts[s];
    return got;
  };
  for (let s = measureFrom; s < measureTo; s++) expected += roomSize[roomOf[s]];
  const graceEnd = performance.now() + GRACE_MS;
  while (received() < expected && performance.now() < graceEnd) await sleep(50);
  const got = received();
  const deliveries = windowDeliveries;
  const windowS = (t1 - t0) / 1000;
  console.log(
    JSON.stringify({
      rate,
      clients,
      rooms,
      query,
      deliveriesPerSec: Math.round(deliveries / windowS),
      expected,
      lost: expected - got,
      p50Ms: percentile(0.5),
      p99Ms: percentile(0.99),
      serverCpuPct: +((100 * (cpu1 - cpu0)) / 1e6 / windowS).toFixed(1),
      serverCpuUsPerDelivery: +((cpu1 - cpu0) / deliveries).toFixed(3),
      writeSyscallsPerDelivery: +((syscw1 - syscw0) / deliveries).toFixed(4),
      redisCpuPct: +((100 * (redisCpu1 - redisCpu0)) / 1e6 / windowS).toFixed(1),
      driverCpuPct: +((100 * (driverCpu1.user + driverCpu1.system)) / 1e6 / windowS).toFixed(1),
      serverRssMb: +(rssBytes(server.pid) / 2 ** 20).toFixed(1),
      disconnects,
    }),
  );
} finally {
  for (const socket of sockets) socket.destroy();
  await server?.stop();
  redis.stop();
}
