#!/usr/bin/env node
// Measures how long clients wait after each Redis fault, and what DURABLE_ACKS costs:
// `node scripts/measure-recovery.mjs [--only name,...] [--every MS]` (build first: npm run build).
// Each scenario starts its own Redis (one, a Sentinel group or a Cluster) and a fleet of two chat
// servers under a balancer, puts two probe clients on different servers in one room (each sends every
// 20 ms), injects one fault, and reports the longest time without a delivery, messages lost and
// repeated, and ack latency.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { ChatClient } from '@chatfleet/client';
import { freePort, startRedisServer } from '@chatfleet/redis-server';
import { command, masterOfSlot, migrateSlot, startRedisCluster } from '@chatfleet/redis-server/cluster';
import { startSentinelGroup } from '@chatfleet/redis-server/sentinel';
import { startTcpProxy } from '@chatfleet/redis-server/tcp-proxy';

const root = fileURLToPath(new URL('..', import.meta.url));
const everyIndex = process.argv.indexOf('--every');
/** How often each probe client sends, ms (two clients: twice that rate in messages). */
const SEND_EVERY_MS = everyIndex === -1 ? 20 : Number(process.argv[everyIndex + 1]);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check, what, ms = 20_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A balancer (child process) with two chat servers on `redisUrl`. */
async function startFleet(redisUrl, env = {}) {
  const port = await freePort();
  const child = spawn(process.execPath, [join(root, 'apps/balancer/dist/main.js')], {
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      REDIS_URL: redisUrl,
      FLEET_MIN: '2',
      FLEET_MAX: '2',
      LOG_LEVEL: 'silent',
      AUTH_SECRET: 'measure',
      SPAWN_WRITES_PER_SEC: '1000000000',
      EVENT_LOOP_LAG_MS: '60000',
      HEARTBEAT_TIMEOUT_MS: '4000',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  await until(async () => (await (await fetch(`${url}/servers`)).json()).filter((s) => s.status === 'ready').length === 2, 'two ready servers');
  return {
    url,
    servers: async () => (await fetch(`${url}/servers`)).json(),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        process.stderr.write(`the balancer had exited (${child.exitCode ?? child.signalCode}): ${stderr}\n`);
        return;
      }
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Two clients on different servers in one room, each sending every SEND_EVERY_MS; receipts and acks timed. */
async function startProbes(fleet, room) {
  const servers = (await fleet.servers()).filter((s) => s.status === 'ready');
  const clients = [];
  for (let i = 0; i < 2; i++) {
    // Provisioned until the two sit on different servers.
    for (;;) {
      const client = new ChatClient({ balancer: fleet.url, user: `probe-${room}-${i}`, backoff: { baseMs: 50, maxMs: 500 }, sendTimeoutMs: 30_000 });
      client.on('error', () => undefined);
      await client.start();
      if (i === 0 || client.serverId !== clients[0].client.serverId || servers.length < 2) {
        clients.push({ client, receipts: [], sent: new Map(), acks: [], ids: new Set(), dup: 0 });
        break;
      }
      await client.close();
    }
  }
  for (const c of clients) {
    await c.client.join(room);
    c.client.on('message', (m) => {
      const now = Date.now();
      if (c.ids.has(m.id)) c.dup++;
      c.ids.add(m.id);
      c.receipts.push(now);
    });
  }
  let n = 0;
  const timer = setInterval(() => {
    for (const c of clients) {
      if (!c.client.isLive(room)) continue;
      const started = performance.now();
      const clientId = `m${n++}`;
      c.client.send(room, 'probe', { clientId }).then(
        (id) => {
          c.acks.push(performance.now() - started);
          c.sent.set(id, clientId);
        },
        () => undefined,
      );
    }
  }, SEND_EVERY_MS);
  return {
    async stop() {
      clearInterval(timer);
      await sleep(1500);
      const acked = new Set(clients.flatMap((c) => [...c.sent.keys()]));
      const lost = clients.reduce((sum, c) => sum + [...acked].filter((id) => !c.ids.has(id)).length, 0);
      for (const c of clients) await c.client.close();
      const acks = clients.flatMap((c) => c.acks).sort((a, b) => a - b);
      const pct = (p) => (acks.length === 0 ? 0 : acks[Math.min(acks.length - 1, Math.floor((p / 100) * acks.length))]);
      return { acked: acked.size, lost, duplicated: clients.reduce((s, c) => s + c.dup, 0), ackP50: pct(50), ackP99: pct(99) };
    },
    /** The longest time without a delivery at either client after `from` (ms epoch). */
    silenceAfter(from) {
      let longest = 0;
      for (const c of clients) {
        let last = from;
        for (const at of c.receipts.filter((t) => t >= from)) {
          longest = Math.max(longest, at - last);
          last = at;
        }
      }
      return longest;
    },
  };
}

async function redisCommand(url, args) {
  const client = createClient({ url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await client.sendCommand(args);
  } finally {
    client.destroy();
  }
}

/** Runs one scenario: setup returns { redisUrl, fault(), stop() }. */
async function scenario(name, setup, env = {}) {
  const step = (what) => process.stderr.write(`${name}: ${what}\n`);
  step('starting Redis');
  const target = await setup();
  step('starting the fleet');
  const fleet = await startFleet(target.redisUrl, env);
  step('starting the probes');
  const probes = await startProbes(fleet, `room-${name}`);
  try {
    await sleep(2000);
    const at = Date.now();
    step('fault');
    const detail = (await target.fault?.(fleet)) ?? '';
    await sleep(target.after ?? 6000);
    const silence = target.fault === undefined ? 0 : probes.silenceAfter(at);
    step('stopping the probes');
    const result = await probes.stop();
    return { name, silenceMs: silence, ...result, detail };
  } finally {
    step('stopping the fleet');
    await fleet.stop();
    step('stopping Redis');
    await target.stop();
  }
}

const scenarios = {
  'pubsub-kill': () =>
    scenario('pubsub-kill', async () => {
      const redis = await startRedisServer();
      return { redisUrl: redis.url, fault: () => redisCommand(redis.url, ['CLIENT', 'KILL', 'TYPE', 'pubsub']), stop: () => redis.stop() };
    }),
  'restart-empty': () =>
    scenario('restart-empty', async () => {
      const redis = await startRedisServer();
      let again;
      return {
        redisUrl: redis.url,
        fault: async () => {
          redis.process.kill('SIGKILL');
          await sleep(300);
          again = await startRedisServer({ port: redis.port });
          return 'down 300 ms';
        },
        stop: async () => {
          await again?.stop();
          await redis.stop();
        },
      };
    }),
  'restart-aof': () =>
    scenario('restart-aof', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'measure-aof-'));
      const args = ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir];
      const redis = await startRedisServer({ args });
      let again;
      return {
        redisUrl: redis.url,
        fault: async () => {
          redis.process.kill('SIGKILL');
          await sleep(300);
          again = await startRedisServer({ port: redis.port, args });
          return 'down 300 ms';
        },
        stop: async () => {
          await again?.stop();
          await redis.stop();
          await rm(dir, { recursive: true, force: true });
        },
      };
    }),
  'deaf-subscriber': () =>
    scenario('deaf-subscriber', async () => {
      const redis = await startRedisServer();
      const proxy = await startTcpProxy(redis.port);
      return {
        redisUrl: proxy.url,
        fault: async () => {
          const deaf = proxy.connections.filter((c) => c.sent.toUpperCase().includes('SUBSCRIBE'));
          for (const c of deaf) c.blackhole();
          return `${deaf.length} subscribers black-holed`;
        },
        stop: async () => {
          await proxy.stop();
          await redis.stop();
        },
      };
    }),
  'sentinel-kill-master': (durable = '0') =>
    scenario(
      `sentinel-kill-master-durable-${durable}`,
      async () => {
        const group = await startSentinelGroup({ replicas: 2, downAfterMs: 1000 });
        return {
          redisUrl: group.url,
          after: 9000,
          fault: async () => {
            const master = await group.masterPort();
            const started = Date.now();
            group.nodes.find((n) => n.port === master).process.kill('SIGKILL');
            await until(async () => (await group.masterPort()) !== master, 'a promotion');
            return `promoted after ${Date.now() - started} ms`;
          },
          stop: () => group.stop(),
        };
      },
      { DURABLE_ACKS: durable },
    ),
  'durable-cost': async () => {
    const out = [];
    for (const durable of ['0', '1']) {
      out.push(
        await scenario(
          `sentinel-steady-durable-${durable}`,
          async () => {
            const group = await startSentinelGroup({ replicas: 1 });
            return { redisUrl: group.url, after: 8000, stop: () => group.stop() };
          },
          { DURABLE_ACKS: durable },
        ),
      );
    }
    return out;
  },
  'cluster-slot-move': () =>
    scenario('cluster-slot-move', async () => {
      const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1500 });
      return {
        redisUrl: cluster.url,
        fault: async () => {
          const slot = Number(await command(cluster.nodes[0].port, ['CLUSTER', 'KEYSLOT', 'history:{room-cluster-slot-move}']));
          const from = await masterOfSlot(cluster.nodes[0].port, slot);
          const masters = [];
          for (const n of cluster.nodes) if ((await command(n.port, ['ROLE'])).includes('master')) masters.push(n.port);
          await migrateSlot(cluster, slot, masters.find((p) => p !== from));
          return `slot ${slot} moved`;
        },
        stop: () => cluster.stop(),
      };
    }),
  'cluster-kill-master': () =>
    scenario(
      'cluster-kill-master',
      async () => {
        const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1500 });
        return {
          redisUrl: cluster.url,
          after: 9000,
          fault: async () => {
            const slot = Number(await command(cluster.nodes[0].port, ['CLUSTER', 'KEYSLOT', 'history:{room-cluster-kill-master}']));
            const master = await masterOfSlot(cluster.nodes[0].port, slot);
            const started = Date.now();
            cluster.nodes.find((n) => n.port === master).process.kill('SIGKILL');
            const ask = cluster.nodes.find((n) => n.port !== master).port;
            await until(async () => (await masterOfSlot(ask, slot)) !== master, 'a promotion');
            return `promoted after ${Date.now() - started} ms`;
          },
          stop: () => cluster.stop(),
        };
      },
      { DURABLE_ACKS: '1' },
    ),
};

const onlyIndex = process.argv.indexOf('--only');
const only = onlyIndex === -1 ? Object.keys(scenarios) : process.argv[onlyIndex + 1].split(',');
const rows = [];
for (const name of only) {
  const run = scenarios[name];
  if (run === undefined) {
    process.stderr.write(`unknown scenario ${name}; one of ${Object.keys(scenarios).join(', ')}\n`);
    process.exit(2);
  }
  if (name === 'sentinel-kill-master') rows.push(await run('0'), await run('1'));
  else {
    const result = await run();
    rows.push(...(Array.isArray(result) ? result : [result]));
  }
  process.stderr.write(`${JSON.stringify(rows[rows.length - 1])}\n`);
}
process.stdout.write('| scenario | clients waited (ms) | acked | lost | duplicated | ack p50 ms | ack p99 ms | detail |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n');
for (const r of rows) {
  process.stdout.write(
    `| ${r.name} | ${r.silenceMs} | ${r.acked} | ${r.lost} | ${r.duplicated} | ${r.ackP50.toFixed(2)} | ${r.ackP99.toFixed(2)} | ${r.detail} |\n`,
  );
}
process.exit(0);
