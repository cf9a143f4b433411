// Redis faults under harness load: subscriber drops, a Redis restarted empty or from its append-only file, a deaf subscriber.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'redis';
import type { ServerInfo } from '@chatfleet/protocol';
import { startRedisServer } from '@chatfleet/redis-server';
import { fleetBuilt, startFleet, until, type TestFleet } from '../../packages/client/test/support/fleet.js';
import { startTestRedis, type TestRedis } from '../../test/support/redis-server.js';
import { startTcpProxy, type TcpProxy } from '@chatfleet/redis-server/tcp-proxy';
import { report, runCli } from './support.js';

const built = fleetBuilt();

const load = (prefix: string, durationS: number, extra: string[] = []) => [
  '--users', '120', '--rooms', '4', '--interval', '200-400', '--stagger', '5',
  '--reconnect-delay', '100', '--settle', '20', '--room-prefix', prefix, '--duration', String(durationS), '--json', ...extra,
];

/** Resolves once every user is connected and sending. */
function underWay(stderr: () => string): Promise<void> {
  return until(() => /users 120\/120 connected \| [1-9]/.test(stderr()), 'all users connected and sending', 20_000);
}

async function redisCommand(url: string, args: string[]): Promise<unknown> {
  const client = createClient({ url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await client.sendCommand(args);
  } finally {
    client.destroy();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sum of the live servers' bus figures. */
function busTotals(servers: ServerInfo[]) {
  const live = servers.filter((s) => s.status !== 'gone');
  return {
    servers: live.length,
    repairs: live.reduce((n, s) => n + s.bus.repairs, 0),
    rebuilds: live.reduce((n, s) => n + s.bus.rebuilds, 0),
    probesMissed: live.reduce((n, s) => n + s.bus.probesMissed, 0),
    allHealthy: live.every((s) => s.bus.healthy),
  };
}

describe.skipIf(!built)('no acked message lost on Redis faults', () => {
  describe('on one fleet', () => {
    let fleet: TestFleet;

    beforeAll(async () => {
      fleet = await startFleet({ fleetMin: 2 });
    }, 60_000);

    afterAll(async () => {
      await fleet?.stop();
    }, 30_000);

    it('loses and repeats nothing when Redis drops every subscriber 20 times (CLIENT KILL TYPE pubsub)', async () => {
      await fleet.waitReady(2);
      const before = busTotals(await fleet.servers());
      let kills = 0;
      const run = await runCli(['--url', fleet.url, ...load('pubsub-', 8)], async (stderr) => {
        await underWay(stderr);
        for (; kills < 20; kills++) {
          await redisCommand(fleet.redisUrl, ['CLIENT', 'KILL', 'TYPE', 'pubsub']);
          await sleep(200);
        }
      });
      expect(run.duringError).toBeUndefined();
      expect(kills).toBe(20);
      const r = report(run);
      expect(run.code, `${run.stdout.slice(0, 3000)}\n${run.stderr.slice(-1500)}`).toBe(0);
      expect(r.lost).toBe(0);
      expect(r.duplicated).toBe(0);
      expect(r.delivered).toBe(r.expected);
      // History held everything: no client was told of a gap, and no websocket was closed.
      expect(r.gaps).toBe(0);
      expect(r.lostInGaps).toBe(0);
      expect(r.reconnects).toBe(0);
      await until(async () => busTotals(await fleet.servers()).repairs - before.repairs >= 20, 'each drop repaired by the servers', 5000);
    }, 90_000);

    it('loses and repeats no direct message across subscriber drops and a chat server killed', async () => {
      await fleet.waitReady(2);
      const run = await runCli(['--url', fleet.url, ...load('directs-', 8, ['--directs', '0.3'])], async (stderr) => {
        await underWay(stderr);
        for (let i = 0; i < 5; i++) {
          await redisCommand(fleet.redisUrl, ['CLIENT', 'KILL', 'TYPE', 'pubsub']);
          await sleep(200);
        }
        let victim: ServerInfo | undefined;
        await until(async () => {
          victim = (await fleet.servers()).find((s) => s.status === 'ready' && s.clients > 0 && s.pid !== null);
          return victim !== undefined;
        }, 'a server that reports clients', 10_000);
        process.kill(victim!.pid!, 'SIGKILL');
      });
      expect(run.duringError).toBeUndefined();
      const r = report(run);
      expect(run.code, `${run.stdout.slice(0, 3000)}\n${run.stderr.slice(-1500)}`).toBe(0);
      expect(r.directsSent).toBeGreaterThan(100);
      expect(r.directsLost).toBe(0);
      expect(r.directsDuplicated).toBe(0);
      expect(r.directsDelivered).toBeGreaterThan(0);
      expect(r.lost).toBe(0);
      expect(r.duplicated).toBe(0);
      expect(r.reconnects).toBeGreaterThan(0);
      await fleet.waitReady(2, 20_000);
    }, 90_000);
  });

  it('reports gaps, and loses nothing else, when Redis restarts empty', async () => {
    const redis: TestRedis = await startTestRedis();
    const fleet = await startFleet({ fleetMin: 2, redisUrl: redis.url });
    let restarted: TestRedis | undefined;
    try {
      const run = await runCli(['--url', fleet.url, ...load('empty-', 9)], async (stderr) => {
        await underWay(stderr);
        redis.process.kill('SIGKILL');
        await sleep(300);
        restarted = await startRedisServer({ port: redis.port });
      });
      expect(run.duringError).toBeUndefined();
      const r = report(run);
      expect(run.code, `${run.stdout.slice(0, 3000)}\n${run.stderr.slice(-1500)}`).toBe(0);
      expect(r.lost).toBe(0);
      expect(r.duplicated).toBe(0);
      // The history of every room was gone: every member was told so, once.
      expect(r.gaps).toBe(120);
      expect(r.reconnects).toBe(0);
      const servers = await fleet.servers();
      expect(servers.filter((s) => s.status === 'ready')).toHaveLength(2);
      expect(busTotals(servers).repairs).toBeGreaterThanOrEqual(2);
    } finally {
      await fleet.stop();
      await restarted?.stop();
      await redis.stop();
    }
  }, 120_000);

  it('reports no gap and loses nothing when Redis restarts from its append-only file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chatfleet-aof-'));
    const persistent = ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir];
    const redis = await startRedisServer({ args: persistent });
    const fleet = await startFleet({ fleetMin: 2, redisUrl: redis.url });
    let restarted: Awaited<ReturnType<typeof startRedisServer>> | undefined;
    try {
      const run = await runCli(['--url', fleet.url, ...load('aof-', 9)], async (stderr) => {
        await underWay(stderr);
        redis.process.kill('SIGKILL');
        await sleep(300);
        restarted = await startRedisServer({ port: redis.port, args: persistent });
      });
      expect(run.duringError).toBeUndefined();
      const r = report(run);
      expect(run.code, `${run.stdout.slice(0, 3000)}\n${run.stderr.slice(-1500)}`).toBe(0);
      expect(r.lost).toBe(0);
      expect(r.duplicated).toBe(0);
      expect(r.gaps).toBe(0);
      expect(r.lostInGaps).toBe(0);
      expect(r.reconnects).toBe(0);
    } finally {
      await fleet.stop();
      await restarted?.stop();
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('notices subscribers that go deaf without dropping, replaces them, and loses nothing', async () => {
    const redis = await startTestRedis();
    const proxy: TcpProxy = await startTcpProxy(redis.port);
    const fleet = await startFleet({ fleetMin: 2, redisUrl: proxy.url });
    try {
      let deafened = 0;
      let healthyAgainMs = 0;
      const run = await runCli(['--url', fleet.url, ...load('deaf-', 9)], async (stderr) => {
        await underWay(stderr);
        const subscribers = proxy.connections.filter((c) => !c.blackholed && c.sent.toUpperCase().includes('SUBSCRIBE'));
        for (const connection of subscribers) connection.blackhole();
        deafened = subscribers.length;
        const at = Date.now();
        await until(async () => {
          const totals = busTotals(await fleet.servers());
          return totals.rebuilds >= 2 && totals.allHealthy;
        }, 'both servers to replace their deaf subscriber', 10_000);
        healthyAgainMs = Date.now() - at;
      });
      expect(run.duringError).toBeUndefined();
      expect(deafened).toBeGreaterThanOrEqual(2);
      expect(healthyAgainMs).toBeLessThan(10_000);
      const r = report(run);
      expect(run.code, `${run.stdout.slice(0, 3000)}\n${run.stderr.slice(-1500)}`).toBe(0);
      expect(r.lost).toBe(0);
      expect(r.duplicated).toBe(0);
      expect(r.gaps).toBe(0);
      expect(r.reconnects).toBe(0);
      const totals = busTotals(await fleet.servers());
      expect(totals.probesMissed).toBeGreaterThanOrEqual(2);
      expect(totals.repairs).toBeGreaterThanOrEqual(2);
    } finally {
      await fleet.stop();
      await proxy.stop();
      await redis.stop();
    }
  }, 120_000);
});
