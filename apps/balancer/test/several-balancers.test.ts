// Three balancers, one fleet: every route from the shared state, one leader by lease, each host's servers run by its own balancer, a leader killed under load.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerInfo } from '@chatfleet/protocol';
import { startTestRedis, uniquePrefix, type TestRedis } from '../../../test/support/redis-server.js';
import { waitFor } from '../../../test/support/wait.js';
import { report, runCli } from '../../../harness/test/support.js';
import { BALANCER_MAIN, haEnv, killAll, startBalancerProcess, type BalancerProcess } from './ha-support.js';
import { TestClient } from './support.js';

const LEASE_MS = 3000;
const built = existsSync(BALANCER_MAIN);

describe.skipIf(!built)('three balancers on one fleet', () => {
  let redis: TestRedis;
  let balancers: BalancerProcess[] = [];
  const pids = new Set<number>();
  const prefix = uniquePrefix('ha-three');

  /** Every server any live balancer lists, by id (the union of their views). */
  async function allServers(): Promise<Map<string, ServerInfo>> {
    const all = new Map<string, ServerInfo>();
    for (const b of balancers.filter((x) => !x.exited)) {
      for (const s of await b.servers()) {
        all.set(s.id, s);
        if (s.pid !== null) pids.add(s.pid);
      }
    }
    return all;
  }

  beforeAll(async () => {
    redis = await startTestRedis();
    const env = {
      ...haEnv(redis.url, prefix),
      LEASE_MS: String(LEASE_MS),
      FLEET_MIN: '1',
      FLEET_MAX: '6',
      // Hot only under the heavy phase below; no scale-down while the test runs.
      SPAWN_WRITES_PER_SEC: '2000',
      SCALE_DOWN_AFTER_MS: '600000',
    };
    balancers = [];
    for (const host of ['host-1', 'host-2', 'host-3']) balancers.push(await startBalancerProcess(host, env));
  }, 60_000);

  afterAll(async () => {
    for (const balancer of balancers) await balancer.stop().catch(() => undefined);
    killAll(pids);
    await redis?.stop();
  }, 40_000);

  it('answers every route from the shared state: one leader, admin actions reach the owning host, provision works through each', async () => {
    // The leader (the first balancer) keeps FLEET_MIN=1 on its host; each other balancer spawns on its own host when asked.
    for (const b of balancers.slice(1)) expect((await b.admin('POST', '/servers')).status).toBe(201);
    const servers = await waitFor('3 ready servers seen by every balancer', async () => {
      const views = await Promise.all(balancers.map((b) => b.servers()));
      const ids = views.map((v) => v.filter((s) => s.status === 'ready').map((s) => s.id).sort().join(','));
      return ids.every((x) => x === ids[0]) && views[0]!.filter((s) => s.status === 'ready').length === 3 ? views[0] : undefined;
    }, 20_000);
    for (const s of servers) if (s.pid !== null) pids.add(s.pid);
    const views = await Promise.all(balancers.map((b) => b.balancers()));
    for (const view of views) {
      expect(view.map((b) => b.host).sort()).toEqual(['host-1', 'host-2', 'host-3']);
      expect(view.filter((b) => b.leader)).toHaveLength(1);
      expect(view.find((b) => b.leader)?.id).toBe(views[0]!.find((b) => b.leader)?.id);
    }
    const hostOf = (host: string) => servers.filter((s) => s.hostId === host);
    expect(hostOf('host-1')).toHaveLength(1);
    expect(hostOf('host-2')).toHaveLength(1);
    expect(hostOf('host-3')).toHaveLength(1);
    const ownerIds = new Map(views[0]!.map((b) => [b.host, b.id]));
    for (const s of servers) expect(s.owner).toBe(ownerIds.get(s.hostId!));

    // Provision through each balancer, and the websocket opens wherever the server is.
    for (const b of balancers) {
      const res = await fetch(`${b.url}/servers/provision?room=lobby`);
      expect(res.status).toBe(200);
      const client = await TestClient.connect(((await res.json()) as { url: string }).url);
      client.close();
    }

    // A drain asked of host-1's balancer for host-3's server is carried out by host-3's balancer.
    const victim = hostOf('host-3')[0]!;
    expect((await balancers[0]!.admin('DELETE', `/servers/${victim.id}`)).status).toBe(202);
    await waitFor('the drained server gone everywhere', async () => {
      const views = await Promise.all(balancers.map((b) => b.servers()));
      return views.every((v) => v.find((s) => s.id === victim.id)?.status !== 'ready' && v.find((s) => s.id === victim.id)?.status !== 'draining');
    }, 15_000);
    const events = await balancers[2]!.events();
    expect(events.some((e) => e.kind === 'drain' && e.serverId === victim.id && e.detail.includes('via balancer'))).toBe(true);
    expect(events.some((e) => e.kind === 'exit' && e.serverId === victim.id)).toBe(true);
  }, 60_000);

  it('a leader killed under load: another leads within the lease time, nothing is lost, no provision fails, and the policy spawns exactly one server when hot', async () => {
    const before = await balancers[0]!.balancers();
    const leaderId = before.find((b) => b.leader)!.id;
    const leader = balancers.find((b) => before.find((x) => x.id === leaderId)?.url === b.url)!;
    const survivors = balancers.filter((b) => b !== leader);
    const urls = balancers.map((b) => b.url);
    let newLeaderMs = 0;
    let provisions = { tried: 0, failedOnSurvivors: 0, refusedByDead: 0 };

    const light = await runCli(
      ['--url', urls.join(','), '--users', '40', '--rooms', '3', '--interval', '500-1000', '--stagger', '10', '--reconnect-delay', '100',
        '--settle', '15', '--room-prefix', 'light-', '--json', '--duration', '14'],
      async (stderr) => {
        await waitFor('all users connected and sending', () => /users 40\/40 connected \| [1-9]/.test(stderr()), 20_000, 20);
        const killedAt = Date.now();
        await leader.crash();
        let probing = true;
        const probe = (async () => {
          while (probing) {
            for (const b of balancers) {
              provisions.tried++;
              // A generous deadline: a slow answer on a busy machine is not a failed provision.
              const res = await fetch(`${b.url}/servers/provision`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
              if (b === leader) {
                if (res === undefined) provisions.refusedByDead++;
              } else if (res?.status !== 200) {
                provisions.failedOnSurvivors++;
              }
            }
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        })();
        // The lease runs out, then the next turn of a survivor takes it: within the lease time and a turn or two.
        await waitFor('a new leader every survivor agrees on', async () => {
          const views = await Promise.all(survivors.map((b) => b.balancers()));
          const leaders = views.map((v) => v.find((b) => b.leader)?.id);
          return leaders[0] !== undefined && leaders[0] !== leaderId && leaders.every((l) => l === leaders[0]);
        }, LEASE_MS + 5000, 50);
        newLeaderMs = Date.now() - killedAt;
        // Keep probing while the dead leader's orphans drain into the other hosts' servers.
        await new Promise((resolve) => setTimeout(resolve, 3000));
        probing = false;
        await probe;
      },
    );
    expect(light.duringError).toBeUndefined();
    const r = report(light);
    process.stdout.write(
      `[ha] leader killed: a new leader after ${newLeaderMs} ms (LEASE_MS=${LEASE_MS}); lost ${r.lost}, duplicated ${r.duplicated}, ` +
        `reconnects ${r.reconnects}, redirects ${r.redirects}; provisions: ${provisions.failedOnSurvivors} failed on the survivors, ` +
        `${provisions.refusedByDead} refused by the dead one, of ${provisions.tried}\n`,
    );
    expect(light.code, light.stderr.slice(-2000)).toBe(0);
    expect(r.lost).toBe(0);
    expect(r.duplicated).toBe(0);
    expect(provisions.failedOnSurvivors).toBe(0);
    expect(newLeaderMs).toBeLessThanOrEqual(LEASE_MS + 5000);

    // Hot: the new leader's policy starts one server (never one per balancer that sees the overload).
    const known = new Set((await allServers()).keys());
    let newAtReady = 0;
    const heavy = await runCli(
      ['--url', urls.join(','), '--users', '80', '--rooms', '1', '--interval', '300-500', '--stagger', '5', '--reconnect-delay', '100',
        '--settle', '15', '--room-prefix', 'heavy-', '--json', '--duration', '9'],
      async () => {
        const ready = await waitFor('a new server ready', async () => {
          const all = await allServers();
          const fresh = [...all.values()].filter((s) => !known.has(s.id));
          newAtReady = fresh.length;
          return fresh.some((s) => s.status === 'ready') ? fresh : undefined;
        }, 20_000, 50);
        expect(ready.length).toBe(1);
      },
    );
    if (heavy.duringError !== undefined) {
      for (const b of survivors) process.stdout.write(`${b.hostId} events: ${JSON.stringify((await b.events()).slice(-15))}\n${b.output().slice(-3000)}\n`);
    }
    expect(heavy.duringError).toBeUndefined();
    expect(newAtReady).toBe(1);
    const h = report(heavy);
    expect(h.lost).toBe(0);
    expect(h.duplicated).toBe(0);
    const spawnedBy = await Promise.all(survivors.map(async (b) => (await b.events()).filter((e) => e.kind === 'spawn' && e.serverId !== null && !known.has(e.serverId))));
    expect(spawnedBy.flat().length).toBeGreaterThanOrEqual(1);
  }, 90_000);
});
