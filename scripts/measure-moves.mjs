#!/usr/bin/env node
// What a move costs the clients that are moved, make before break against break before make:
// `node scripts/measure-moves.mjs [--clients N] [--rounds R]` (build first: npm run build).
// A fleet of two chat servers; N clients in one room on one server, a sender on the other sending
// every 10 ms; the balancer moves every client off their server; the moved clients' delivery latency
// (send to receipt) over the second around each move, and the longest pause each saw.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChatClient } from '@chatfleet/client';
import { freePort, startRedisServer } from '@chatfleet/redis-server';

const root = fileURLToPath(new URL('..', import.meta.url));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};
const CLIENTS = arg('--clients', 40);
const ROUNDS = arg('--rounds', 3);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check, what, ms = 20_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

async function run(makeBeforeBreak) {
  const redis = await startRedisServer();
  const port = await freePort();
  const balancer = spawn(process.execPath, [join(root, 'apps/balancer/dist/main.js')], {
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      REDIS_URL: redis.url,
      FLEET_MIN: '2',
      FLEET_MAX: '2',
      LOG_LEVEL: 'silent',
      ADMIN_TOKEN: 'measure',
      SPAWN_WRITES_PER_SEC: '1000000000',
      EVENT_LOOP_LAG_MS: '60000',
    },
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  const servers = async () => (await fetch(`${url}/servers`)).json();
  try {
    await until(async () => {
      try {
        return (await servers()).filter((s) => s.status === 'ready').length === 2;
      } catch {
        return false;
      }
    }, 'two ready servers');
    const room = 'moves';
    const sender = new ChatClient({ balancer: url, user: 'sender' });
    sender.on('error', () => undefined);
    await sender.start();
    await sender.join(room);
    const samples = []; // [receivedAt, latencyMs]
    const clients = [];
    // Clients on the server the sender is not on.
    while (clients.length < CLIENTS) {
      const client = new ChatClient({ balancer: url, user: `c${clients.length}-${Math.random().toString(36).slice(2, 6)}`, makeBeforeBreak, backoff: { baseMs: 100, maxMs: 1000 } });
      client.on('error', () => undefined);
      await client.start();
      if (client.serverId === sender.serverId) {
        await client.close();
        continue;
      }
      await client.join(room);
      client.on('message', (m) => {
        const sentAt = Number(m.message);
        if (Number.isFinite(sentAt)) samples.push([Date.now(), Date.now() - sentAt]);
      });
      clients.push(client);
    }
    const timer = setInterval(() => {
      if (sender.isLive(room)) sender.send(room, String(Date.now())).catch(() => undefined);
    }, 10);
    const moves = [];
    for (let round = 0; round < ROUNDS; round++) {
      await sleep(2000);
      const from = clients[0].serverId;
      const at = Date.now();
      const answer = await fetch(`${url}/servers/${from}/redistribute`, {
        method: 'POST',
        headers: { authorization: 'Bearer measure', 'content-type': 'application/json' },
        body: JSON.stringify({ count: CLIENTS }),
      });
      if (answer.status !== 202) throw new Error(`redistribute answered ${answer.status}`);
      await until(() => clients.every((c) => c.serverId !== from && c.isLive(room)), 'every client moved', 30_000);
      moves.push(at);
    }
    await sleep(1500);
    clearInterval(timer);
    // Latencies of receipts within a second before and three after each move.
    const window = samples.filter(([t]) => moves.some((m) => t >= m - 1000 && t <= m + 3000)).map(([, l]) => l).sort((a, b) => a - b);
    const pct = (p) => window[Math.min(window.length - 1, Math.floor((p / 100) * window.length))] ?? 0;
    for (const c of [...clients, sender]) await c.close();
    return { makeBeforeBreak, receipts: window.length, p50: pct(50), p99: pct(99), max: window.at(-1) ?? 0 };
  } finally {
    const exited = new Promise((resolve) => balancer.once('exit', resolve));
    balancer.kill('SIGTERM');
    await exited;
    await redis.stop();
  }
}

const rows = [];
for (const makeBeforeBreak of [true, false]) rows.push(await run(makeBeforeBreak));
process.stdout.write(`| moves | receipts around the moves | p50 ms | p99 ms | max ms |\n| --- | --- | --- | --- | --- |\n`);
for (const r of rows) {
  process.stdout.write(`| ${r.makeBeforeBreak ? 'make before break' : 'break before make'} | ${r.receipts} | ${r.p50} | ${r.p99} | ${r.max} |\n`);
}
process.exit(0);
