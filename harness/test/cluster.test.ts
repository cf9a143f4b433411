// A fleet on a Redis Cluster under harness load: rooms over every master, a busy room's slot moved, masters failed over.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '@chatfleet/protocol';
import { RedisLink } from '@chatfleet/redis';
import { command, masterOfSlot, migrateSlot, startRedisCluster, type RedisClusterGroup } from '@chatfleet/redis-server/cluster';
import { fleetBuilt, startFleet, until, type TestFleet } from '../../packages/client/test/support/fleet.js';
import { report, runCli } from './support.js';

const built = fleetBuilt();

describe.skipIf(!built)('a fleet on Redis Cluster', () => {
  let cluster: RedisClusterGroup;
  let fleet: TestFleet;
  let link: RedisLink;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1500 });
    link = new RedisLink(cluster.url);
    link.on('error', () => undefined);
    await link.connect();
    fleet = await startFleet({
      fleetMin: 2,
      redisUrl: cluster.url,
      env: { DURABLE_ACKS: '1', DURABLE_WAIT_MS: '500', HEARTBEAT_TIMEOUT_MS: '4000' },
    });
  }, 90_000);

  afterAll(async () => {
    await fleet?.stop();
    await link?.close();
    await cluster?.stop();
  }, 30_000);

  const load = (prefix: string, durationS: number) => [
    '--url', fleet.url, '--users', '120', '--rooms', '12', '--interval', '200-400', '--stagger', '5',
    '--reconnect-delay', '100', '--settle', '25', '--room-prefix', prefix, '--duration', String(durationS), '--json',
  ];
  const underWay = (stderr: () => string) =>
    until(() => /users 120\/120 connected \| [1-9]/.test(stderr()), 'all users connected and sending', 20_000);

  /** The masters' ports right now. */
  async function masters(): Promise<number[]> {
    const ports: number[] = [];
    for (const node of cluster.nodes) {
      try {
        if ((await command(node.port, ['ROLE'])).includes('master')) ports.push(node.port);
      } catch {
        // a killed node
      }
    }
    return ports;
  }

  it('delivers every message exactly once with rooms on every master', async () => {
    const rooms = Array.from({ length: 12 }, (_, i) => `spread-${i + 1}`);
    const keys = redisKeys(fleet.prefix);
    expect(new Set(rooms.map((room) => link.masterOf(keys.history(room)))).size).toBe(3);
    const run = await runCli(load('spread-', 6));
    const r = report(run);
    expect(run.code, run.stderr.slice(-2000)).toBe(0);
    expect(r.lost).toBe(0);
    expect(r.duplicated).toBe(0);
    expect(r.delivered).toBe(r.expected);
  }, 90_000);

  it('loses and repeats nothing while the slot of a busy room moves to another master', async () => {
    const keys = redisKeys(fleet.prefix);
    let moved: { slot: number; from: number; to: number } | undefined;
    const run = await runCli(load('move-', 9), async (stderr) => {
      await underWay(stderr);
      const slot = Number(await command(cluster.nodes[0]!.port, ['CLUSTER', 'KEYSLOT', keys.history('move-1')]));
      const from = await masterOfSlot(cluster.nodes[0]!.port, slot);
      const to = (await masters()).find((port) => port !== from)!;
      await migrateSlot(cluster, slot, to);
      moved = { slot, from, to };
    });
    expect(run.duringError).toBeUndefined();
    expect(moved).toBeDefined();
    expect(await masterOfSlot(moved!.to, moved!.slot)).toBe(moved!.to);
    const r = report(run);
    expect(run.code, `${run.stdout.slice(0, 2000)}\n${run.stderr.slice(-1500)}`).toBe(0);
    expect(r.lost).toBe(0);
    expect(r.duplicated).toBe(0);
    expect(r.gaps).toBe(0);
  }, 90_000);

  it.each([
    ['CLUSTER FAILOVER on its replica', 'failover'],
    ['kill -9', 'kill'],
  ])('keeps serving, and loses no acked message, when a master is failed over by %s', async (_how, kind) => {
    const keys = redisKeys(fleet.prefix);
    const run = await runCli(load(`${kind}-`, 10), async (stderr) => {
      await underWay(stderr);
      const slot = Number(await command(cluster.nodes[0]!.port, ['CLUSTER', 'KEYSLOT', keys.history(`${kind}-1`)]));
      const master = await masterOfSlot((await masters())[0]!, slot);
      if (kind === 'failover') {
        const replicas = await command(master, ['INFO', 'replication']);
        const port = Number(/slave0:ip=[^,]+,port=(\d+)/.exec(replicas)?.[1]);
        await command(port, ['CLUSTER', 'FAILOVER']);
        await until(async () => (await masterOfSlot(port, slot)) === port, 'the replica promoted', 15_000);
      } else {
        cluster.nodes.find((n) => n.port === master)!.process.kill('SIGKILL');
        await until(async () => {
          const live = (await masters()).filter((p) => p !== master);
          for (const port of live) if ((await masterOfSlot(port, slot)) === port) return true;
          return false;
        }, 'a replica promoted', 20_000);
      }
    });
    expect(run.duringError).toBeUndefined();
    const r = report(run);
    expect(run.code, `${run.stdout.slice(0, 2000)}\n${run.stderr.slice(-1500)}`).toBe(0);
    expect(r.lost).toBe(0);
    expect(r.duplicated).toBe(0);
    expect(r.delivered).toBeGreaterThan(0);
    expect((await fleet.servers()).filter((s) => s.status === 'ready').length).toBeGreaterThanOrEqual(2);
  }, 120_000);
});
