#!/usr/bin/env node
// What a connection costs: `node scripts/measure-connections.mjs [--clients 5000] [--rooms 50] [--idle 25] [--node-flags "..."]`
// (build first: npm run build; `--profile DIR` writes both processes' CPU profiles there). A balancer with one chat server; N clients each provision, connect and register in
// one of the rooms; then they all drop and do it again (a reconnect storm). Reports the balancer's CPU per provision
// and the chat server's CPU per connect + register (from /proc/<pid>/stat, the idle rate measured before taken off),
// and the chat server's RSS per idle connection after the idle time, without forcing a collection.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { createClient } from 'redis';
import { redisKeys } from '@chatfleet/protocol';
import { freePort, startRedisServer } from '@chatfleet/redis-server';

const root = fileURLToPath(new URL('..', import.meta.url));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : process.argv[i + 1];
};
const CLIENTS = Number(arg('--clients', 5000));
const ROOMS = Number(arg('--rooms', 50));
const IDLE_S = Number(arg('--idle', 25));
const IN_FLIGHT = Number(arg('--in-flight', 200));
const PING_MS = arg('--ping-ms', undefined);
const PROFILE = arg('--profile', '');
const NODE_FLAGS = [arg('--node-flags', ''), PROFILE === '' ? '' : `--cpu-prof --cpu-prof-dir=${PROFILE}/chat-server`].join(' ').trim();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const TICK = 100; // USER_HZ on Linux

/** utime + stime of a process, in µs. */
function cpuMicros(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / TICK;
}

function rssBytes(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) * 1024;
}

async function until(check, what, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** One client: provision (retried on 503), connect, register; resolves with the open socket. */
async function join1(base, i, stats) {
  const user = `u${i}`;
  const room = `room-${i % ROOMS}`;
  for (;;) {
    const res = await fetch(`${base}/servers/provision?user=${user}&room=${room}`);
    const body = await res.json();
    stats.provisions += 1;
    if (res.status === 200) {
      const ws = new WebSocket(body.url, { perMessageDeflate: false });
      const ok = await new Promise((resolve) => {
        ws.on('error', () => resolve(false));
        ws.on('unexpected-response', () => resolve(false));
        ws.on('message', (data) => {
          const frame = JSON.parse(String(data));
          if (frame.type === 'welcome') ws.send(JSON.stringify({ type: 'register', payload: { chatId: room } }));
          else if (frame.type === 'registered') resolve(true);
        });
      });
      if (ok) {
        ws.removeAllListeners('message');
        return ws;
      }
      ws.terminate();
      stats.failedConnects += 1;
    } else {
      stats.refused += 1;
      await sleep(50);
    }
  }
}

/** N clients, IN_FLIGHT at a time. */
async function joinAll(base) {
  const stats = { provisions: 0, refused: 0, failedConnects: 0 };
  const sockets = new Array(CLIENTS);
  let next = 0;
  const worker = async () => {
    while (next < CLIENTS) {
      const i = next++;
      sockets[i] = await join1(base, i, stats);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return { sockets, stats };
}

/** CPU of both processes over a phase, less what they spend idle over the same time. */
async function measured(pids, idleRate, phase) {
  const before = pids.map(cpuMicros);
  const started = performance.now();
  const result = await phase();
  const ms = performance.now() - started;
  const used = pids.map((pid, k) => cpuMicros(pid) - before[k] - idleRate[k] * ms);
  return { result, ms, used };
}

const redis = await startRedisServer();
const port = await freePort();
const profile = PROFILE === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${PROFILE}/balancer`];
const balancer = spawn(process.execPath, [...profile, join(root, 'apps/balancer/dist/main.js')], {
  env: {
    PATH: process.env.PATH,
    PORT: String(port),
    REDIS_URL: redis.url,
    FLEET_MIN: '1',
    FLEET_MAX: '1',
    LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
    SPAWN_WRITES_PER_SEC: '1000000000',
    EVENT_LOOP_LAG_MS: '60000',
    RATE_LIMIT: '1000',
    ...(PING_MS === undefined ? {} : { PING_INTERVAL_MS: PING_MS }),
    ...(NODE_FLAGS === '' ? {} : { CHAT_SERVER_NODE_FLAGS: NODE_FLAGS }),
    // glibc malloc tuning (MALLOC_ARENA_MAX, MALLOC_TRIM_THRESHOLD_, ...) reaches the chat server through the balancer.
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('MALLOC_'))),
  },
  stdio: ['ignore', process.env.BALANCER_LOG === undefined ? 'ignore' : 'inherit', 'inherit'],
});
const base = `http://127.0.0.1:${port}`;
let open = [];
try {
  let server;
  await until(async () => {
    try {
      server = (await (await fetch(`${base}/servers`)).json()).find((s) => s.status === 'ready');
      return server !== undefined;
    } catch {
      return false;
    }
  }, 'a ready server');
  const pids = [balancer.pid, server.pid];
  // Idle CPU rate of both (metrics, heartbeats, the control loop), µs per ms.
  await sleep(2000);
  const idle0 = pids.map(cpuMicros);
  const t0 = performance.now();
  await sleep(3000);
  const idleRate = pids.map((pid, k) => (cpuMicros(pid) - idle0[k]) / (performance.now() - t0));
  const rss0 = rssBytes(server.pid);
  const reader = createClient({ url: redis.url });
  await reader.connect();
  const heapUsed = async () => Number(await reader.hGet(redisKeys('').server(server.id), 'heapUsedBytes'));
  const heap0 = await heapUsed();

  const first = await measured(pids, idleRate, () => joinAll(base));
  open = first.result.sockets;
  // The event loop's p99 lag, one figure a second, over the idle time (ping rounds included).
  const lags = [];
  const lagTimer = setInterval(() => {
    reader.zScore(redisKeys('').serversEventLoop, server.id).then((lag) => lags.push(lag ?? 0), () => undefined);
  }, 1000);
  await sleep(IDLE_S * 1000);
  clearInterval(lagTimer);
  const rss1 = rssBytes(server.pid);
  if (process.env.SNAPSHOT_SIGNAL !== undefined) {
    process.kill(server.pid, process.env.SNAPSHOT_SIGNAL);
    await sleep(15_000);
  }
  const heap1 = await heapUsed();
  await reader.close();

  // The storm: every client drops at once and comes back.
  const watch = process.env.WATCH_HEARTBEAT === undefined ? undefined : createClient({ url: redis.url });
  let watching;
  if (watch !== undefined) {
    await watch.connect();
    const key = redisKeys('').server(server.id);
    watching = setInterval(() => {
      const asked = Date.now();
      watch.hmGet(key, ['heartbeat', 'clients']).then(([hb, clients]) => console.error(`t=${asked % 100000} age=${asked - Number(hb)} clients=${clients} answeredIn=${Date.now() - asked}`), () => undefined);
    }, 200);
  }
  for (const ws of open) ws.terminate();
  await until(async () => (await (await fetch(`${base}/servers`)).json()).find((s) => s.id === server.id)?.clients === 0, 'the server to see them go');
  clearInterval(watching);
  await watch?.close();
  const again = await measured(pids, idleRate, () => joinAll(base));
  open = again.result.sockets;

  const per = (phase) => ({
    balancerUsPerProvision: Math.round(phase.used[0] / phase.result.stats.provisions),
    serverUsPerConnect: Math.round(phase.used[1] / CLIENTS),
    clientsPerSec: Math.round((CLIENTS * 1000) / phase.ms),
    refused503: phase.result.stats.refused,
    failedConnects: phase.result.stats.failedConnects,
  });
  console.log(
    JSON.stringify(
      {
        clients: CLIENTS,
        rooms: ROOMS,
        nodeFlags: NODE_FLAGS,
        first: per(first),
        reconnect: per(again),
        idleSeconds: IDLE_S,
        pingIntervalMs: PING_MS ?? 'default',
        idleEventLoopP99Ms: { max: Math.max(...lags), median: lags.sort((a, b) => a - b)[Math.floor(lags.length / 2)] },
        rssBytesPerConnection: Math.round((rss1 - rss0) / CLIENTS),
        heapUsedBytesPerConnection: Math.round((heap1 - heap0) / CLIENTS),
        rssBefore: rss0,
        rssAfterIdle: rss1,
      },
      null,
      2,
    ),
  );
} finally {
  for (const ws of open) ws?.terminate();
  balancer.kill('SIGTERM');
  await new Promise((resolve) => balancer.once('exit', resolve));
  await redis.stop();
}
