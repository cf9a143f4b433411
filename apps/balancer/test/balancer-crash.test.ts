// A balancer killed with -9 under load: its chat servers keep every client, a balancer restarted on the same host adopts them, and with none they drain and exit.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '@chatfleet/protocol';
import { adminClient, freePort, startTestRedis, uniquePrefix, type AdminClient, type TestRedis } from '../../../test/support/redis-server.js';
import { waitFor } from '../../../test/support/wait.js';
import { report, runCli } from '../../../harness/test/support.js';
import { BALANCER_MAIN, haEnv, killAll, pidAlive, startBalancerProcess, type BalancerProcess } from './ha-support.js';

// Long enough for a new balancer process to start and adopt on a busy 2-core machine (7.6 s seen under the full suite).
const ORPHAN_TIMEOUT_MS = 12_000;
const built = existsSync(BALANCER_MAIN);

/** Provisions the way a client with several balancer URLs does: each URL in turn until one answers. */
async function provisionAny(urls: string[]): Promise<boolean> {
  for (const url of urls) {
    const res = await fetch(`${url}/servers/provision`, { signal: AbortSignal.timeout(1000) }).catch(() => undefined);
    if (res?.status === 200) return true;
  }
  return false;
}

describe.skipIf(!built)('a balancer that dies (kill -9)', () => {
  let redis: TestRedis;
  let admin: AdminClient;
  const prefix = uniquePrefix('ha-crash');
  const keys = redisKeys(prefix);
  const env = () => ({ ...haEnv(redis.url, prefix), FLEET_MIN: '2', FLEET_MAX: '4', ORPHAN_TIMEOUT_MS: String(ORPHAN_TIMEOUT_MS) });
  const balancers: BalancerProcess[] = [];
  const pids = new Set<number>();
  let serverIds: string[] = [];
  let adopter: BalancerProcess | undefined;

  beforeAll(async () => {
    redis = await startTestRedis();
    admin = await adminClient(redis);
  });

  afterAll(async () => {
    for (const balancer of balancers) await balancer.stop().catch(() => undefined);
    killAll(pids);
    await admin?.close();
    await redis?.stop();
  }, 30_000);

  it('keeps every client connected and loses nothing; a balancer restarted on the same host adopts the children', async () => {
    const first = await startBalancerProcess('host-a', env());
    balancers.push(first);
    const ready = await waitFor('2 ready servers', async () => {
      const list = (await first.servers()).filter((s) => s.status === 'ready');
      return list.length >= 2 ? list : undefined;
    }, 20_000);
    serverIds = ready.map((s) => s.id);
    for (const s of ready) if (s.pid !== null) pids.add(s.pid);

    const secondPort = await freePort();
    const urls = [first.url, `http://127.0.0.1:${secondPort}`];
    let killedAt = 0;
    let adoptedMs = 0;
    let provisions = { tried: 0, failed: 0, firstOkAfterMs: 0 };
    const run = await runCli(
      ['--url', urls.join(','), '--users', '200', '--rooms', '4', '--interval', '200-400', '--stagger', '5', '--reconnect-delay', '100',
        '--settle', '15', '--room-prefix', 'crash-', '--json', '--duration', '10'],
      async (stderr) => {
        await waitFor('all users connected and sending', () => /users 200\/200 connected \| [1-9]/.test(stderr()), 20_000, 20);
        killedAt = Date.now();
        await first.crash();
        // New clients meanwhile: provisions through the two URLs, as a client with both would try them.
        let probing = true;
        const probe = (async () => {
          // Until the children are adopted and a provision answered again (at most 15 s).
          while ((probing || provisions.firstOkAfterMs === 0) && Date.now() - killedAt < 15_000) {
            provisions.tried++;
            if (await provisionAny(urls)) {
              if (provisions.firstOkAfterMs === 0) provisions.firstOkAfterMs = Date.now() - killedAt;
            } else {
              provisions.failed++;
            }
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        })();
        adopter = await startBalancerProcess('host-a', env(), secondPort);
        balancers.push(adopter);
        await waitFor('both children adopted', async () => {
          const list = await adopter!.servers();
          const events = await adopter!.events();
          return serverIds.every((id) => list.some((s) => s.id === id && s.status === 'ready' && s.managed)) &&
            serverIds.every((id) => events.some((e) => e.kind === 'adopt' && e.serverId === id));
        }, 15_000, 50);
        adoptedMs = Date.now() - killedAt;
        probing = false;
        await probe;
      },
    );
    expect(run.duringError).toBeUndefined();
    const r = report(run);
    process.stdout.write(
      `[ha] kill -9 of the balancer: reconnects ${r.reconnects}, lost ${r.lost}, duplicated ${r.duplicated}, ` +
        `delivered ${r.delivered}/${r.expected}; adopted ${adoptedMs} ms after the kill; provisions during the failover: ` +
        `${provisions.failed}/${provisions.tried} failed, answered again ${provisions.firstOkAfterMs} ms after the kill\n`,
    );
    expect(run.code, run.stderr.slice(-2000)).toBe(0);
    expect(provisions.firstOkAfterMs).toBeGreaterThan(0);
    // No websocket closed: nobody had to reconnect, every connection is the first one.
    expect(r.reconnects).toBe(0);
    expect(r.connects).toBe(200);
    expect(r.lost).toBe(0);
    expect(r.duplicated).toBe(0);
    expect(r.delivered).toBe(r.expected);
    // The same processes, managed again: owned by the new balancer in Redis.
    const balancerId = (await adopter!.balancers()).find((b) => b.url === adopter!.url)?.id;
    for (const id of serverIds) expect(await admin.hGet(keys.server(id), 'owner')).toBe(balancerId);
    for (const pid of pids) expect(pidAlive(pid)).toBe(true);
  }, 60_000);

  it('with no balancer back, the children drain and exit after ORPHAN_TIMEOUT_MS and take their keys with them', async () => {
    expect(adopter).toBeDefined();
    const crashedAt = Date.now();
    await adopter!.crash();
    await waitFor('every orphan exited', () => [...pids].every((pid) => !pidAlive(pid)), ORPHAN_TIMEOUT_MS + 15_000, 100);
    const exitedMs = Date.now() - crashedAt;
    process.stdout.write(`[ha] orphans with no balancer exited ${exitedMs} ms after it died (ORPHAN_TIMEOUT_MS=${ORPHAN_TIMEOUT_MS})\n`);
    // The owner's heartbeat first has to go stale, then the orphan timeout runs.
    expect(exitedMs).toBeGreaterThanOrEqual(ORPHAN_TIMEOUT_MS);
    for (const id of serverIds) expect(await admin.exists(keys.server(id))).toBe(0);
    expect(await admin.zCard(keys.serversClients)).toBe(0);
  }, 40_000);
});
