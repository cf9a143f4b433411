// A fleet on a Redis Sentinel group: the master killed under harness load, with and without DURABLE_ACKS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatClient } from '@chatfleet/client';
import type { FleetEvent } from '@chatfleet/protocol';
import { startSentinelGroup, type SentinelGroup } from '@chatfleet/redis-server/sentinel';
import { fleetBuilt, startFleet, until } from '../../packages/client/test/support/fleet.js';
import { report, runCli } from './support.js';

const built = fleetBuilt();

const load = (prefix: string) => [
  '--users', '100', '--rooms', '4', '--interval', '200-400', '--stagger', '5',
  '--reconnect-delay', '100', '--settle', '25', '--room-prefix', prefix, '--duration', '12', '--json',
];

/**
 * A client that sends to itself every 50 ms and keeps when each message came
 * back: the longest silence around a failover is how long clients waited.
 */
async function startProbe(balancer: string, room: string) {
  const client = new ChatClient({ balancer, user: `probe-${room}`, backoff: { baseMs: 50, maxMs: 500 } });
  client.on('error', () => undefined);
  await client.start();
  await client.join(room);
  const receipts: number[] = [];
  client.on('message', () => receipts.push(Date.now()));
  let n = 0;
  const timer = setInterval(() => {
    if (client.isLive(room)) client.send(room, `tick ${n++}`).catch(() => undefined);
  }, 50);
  return {
    /** The longest time without a receipt after `from` (ms epoch), until now. */
    longestSilenceAfter(from: number): number {
      let longest = 0;
      let last = from;
      for (const at of receipts.filter((t) => t >= from)) {
        longest = Math.max(longest, at - last);
        last = at;
      }
      return Math.max(longest, Date.now() - last);
    },
    async stop() {
      clearInterval(timer);
      await client.close();
    },
  };
}

describe.skipIf(!built)('a fleet on Redis Sentinel', () => {
  let group: SentinelGroup;

  beforeAll(async () => {
    group = await startSentinelGroup({ replicas: 2, sentinels: 3, downAfterMs: 1000 });
  }, 60_000);

  afterAll(async () => {
    await group?.stop();
  }, 30_000);

  it.each([
    ['1', 'durable acks: no acked message is lost'],
    ['0', 'plain acks: nothing is repeated, and any loss is counted'],
  ])('keeps serving through a kill -9 of the master with DURABLE_ACKS=%s (%s)', async (durable) => {
    const fleet = await startFleet({
      fleetMin: 2,
      redisUrl: group.url,
      env: { DURABLE_ACKS: durable, DURABLE_WAIT_MS: '500', HEARTBEAT_TIMEOUT_MS: '3000' },
    });
    const probe = await startProbe(fleet.url, `probe-room-${durable}`);
    try {
      const serversBefore = (await fleet.servers()).filter((s) => s.status === 'ready').map((s) => s.id).sort();
      let killedAt = 0;
      let promotedAt = 0;
      const run = await runCli(['--url', fleet.url, ...load(`sentinel-${durable}-`)], async (stderr) => {
        await until(() => /users 100\/100 connected \| [1-9]/.test(stderr()), 'all users connected and sending', 20_000);
        const master = await group.masterPort();
        const node = group.nodes.find((n) => n.port === master)!;
        killedAt = Date.now();
        node.process.kill('SIGKILL');
        await until(async () => (await group.masterPort()) !== master, 'a replica promoted', 15_000);
        promotedAt = Date.now();
        // The killed node comes back as a replica, so the next test has two again.
        await group.restartNode(master);
      });
      expect(run.duringError).toBeUndefined();
      const r = report(run);
      const silenceMs = probe.longestSilenceAfter(killedAt);
      // Figures for the closing note: how long the failover took and how long clients waited.
      process.stdout.write(
        `sentinel DURABLE_ACKS=${durable}: promoted ${promotedAt - killedAt} ms after the kill; clients waited at most ${silenceMs} ms; ` +
          `lost ${r.lost}, lost unconfirmed ${r.lostUnconfirmed}, gaps ${r.gaps}, duplicated ${r.duplicated}, unconfirmed ${r.unconfirmed}, p99 ${r.latencyMs.p99} ms\n`,
      );
      expect(r.duplicated).toBe(0);
      if (durable === '1') {
        expect(run.code, `${run.stdout.slice(0, 3000)}\n${run.stderr.slice(-1500)}`).toBe(0);
        expect(r.lost).toBe(0);
      }
      expect(r.delivered).toBeGreaterThan(0);
      expect(silenceMs).toBeLessThan(promotedAt - killedAt + 10_000);
      // No chat server was evicted or restarted for the failover.
      const serversAfter = (await fleet.servers()).filter((s) => s.status === 'ready').map((s) => s.id).sort();
      expect(serversAfter).toEqual(serversBefore);
      const events = (await (await fetch(`${fleet.url}/stats`)).json()) as { events: FleetEvent[] };
      expect(events.events.filter((e) => ['evict', 'crash', 'respawn'].includes(e.kind))).toEqual([]);
    } finally {
      await probe.stop();
      await fleet.stop();
    }
  }, 120_000);
});
