// A fleet that loses servers: kill -9, a frozen (SIGSTOP) server, a child that never becomes ready.
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'redis';
import { redisKeys } from '@chatfleet/protocol';
import { startTestRedis, uniquePrefix, type TestRedis } from '../../../test/support/redis-server.js';
import { alive, http, startFixture, waitFor, waitReady, type Fixture } from './support.js';

let redis: TestRedis;
let f: Fixture | undefined;
const frozen: number[] = [];

beforeAll(async () => {
  redis = await startTestRedis();
});
afterEach(async () => {
  for (const pid of frozen.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await f?.stop();
  f = undefined;
});
afterAll(async () => {
  await redis?.stop();
});

const servers = async (base: string) => (await http(base, '/servers')).body as any[];

describe('fleet failures', () => {
  it('at start never lists nor provisions a server whose heartbeat is already stale, and removes its keys', async () => {
    // What a run that crashed leaves behind: a server hash and its row, written long ago.
    const prefix = uniquePrefix('stale-at-start');
    const keys = redisKeys(prefix);
    const client = createClient({ url: redis.url });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const long = String(Date.now() - 60_000);
      await client.hSet(keys.server('srv-dead'), { id: 'srv-dead', url: 'ws://127.0.0.1:9/', pid: '999999', host: '127.0.0.1', startedAt: long, heartbeat: long, status: 'ready', managed: '1' });
      await client.zAdd(keys.serversClients, { score: 3, value: 'srv-dead' });
      f = await startFixture('stale-at-start', { FLEET_MIN: '0', REDIS_PREFIX: prefix }, redis);
      // startBalancer resolves after its first turn: the dead server was judged by then.
      expect((await servers(f.balancer.url)).map((s) => s.id)).not.toContain('srv-dead');
      const provision = await http(f.balancer.url, '/servers/provision');
      expect(provision.status).toBe(503);
      await waitFor('the dead server keys removed', async () => (await client.exists(keys.server('srv-dead'))) === 0 && (await client.zScore(keys.serversClients, 'srv-dead')) === null);
      // A server spawned for the demand is provisioned, never the dead one.
      const [ready] = await waitReady(f.balancer.url, 1);
      const again = await http(f.balancer.url, '/servers/provision');
      expect(again.body.id).toBe(ready!.id);
    } finally {
      await client.close();
    }
  });

  it('respawns a kill -9ed child, drops it from /servers after GONE_RETENTION_MS, and never provisions it', async () => {
    f = await startFixture('kill9', { FLEET_MIN: '1', GONE_RETENTION_MS: '1500' }, redis);
    const [victim] = await waitReady(f.balancer.url, 1);
    const keys = f.balancer.keys;
    await waitFor('the victim hash in Redis', async () => (await redisHasKey(keys.server(victim!.id))) === 1);
    process.kill(victim!.pid, 'SIGKILL');

    await waitFor('the victim to be gone', async () => (await servers(f!.balancer.url)).find((s) => s.id === victim!.id)?.status === 'gone');
    const replacement = await waitFor('a respawned ready server', async () =>
      (await servers(f!.balancer.url)).find((s) => s.id !== victim!.id && s.status === 'ready'),
    );
    const provision = await http(f.balancer.url, '/servers/provision');
    expect(provision.body.id).toBe(replacement.id);
    expect(provision.body.url).not.toContain(victim!.url);

    const kinds = (await http(f.balancer.url, '/stats')).body.events.map((e: any) => `${e.kind} ${e.serverId}`);
    expect(kinds).toContain(`crash ${victim!.id}`);
    expect(kinds).toContain(`respawn ${replacement.id}`);
    expect(await redisHasKey(keys.server(victim!.id))).toBe(0);
    await waitFor('the gone server to leave /servers', async () => !(await servers(f!.balancer.url)).some((s) => s.id === victim!.id));

    async function redisHasKey(key: string): Promise<number> {
      const { createClient } = await import('redis');
      const client = createClient({ url: redis.url });
      await client.connect();
      try {
        return await client.exists(key);
      } finally {
        await client.close();
      }
    }
  });

  it('evicts and kills a frozen (SIGSTOP) child after HEARTBEAT_TIMEOUT_MS and replaces it', async () => {
    f = await startFixture('sigstop', { FLEET_MIN: '1', HEARTBEAT_TIMEOUT_MS: '2000' }, redis);
    const [victim] = await waitReady(f.balancer.url, 1);
    await waitFor('first metrics', async () => (await http(f!.balancer.url, '/stats')).body.servers[0]?.history.clients.length > 0);
    frozen.push(victim!.pid);
    process.kill(victim!.pid, 'SIGSTOP');

    await waitFor('the frozen server to be evicted', async () => (await servers(f!.balancer.url)).find((s) => s.id === victim!.id)?.status === 'gone', 10_000);
    await waitFor('the frozen process to be killed', () => !alive(victim!.pid), 5000);
    const events = (await http(f.balancer.url, '/stats')).body.events as any[];
    expect(events.some((e) => e.kind === 'evict' && e.serverId === victim!.id)).toBe(true);
    const replacement = await waitFor('a replacement', async () =>
      (await servers(f!.balancer.url)).find((s) => s.id !== victim!.id && s.status === 'ready'),
    );
    expect((await http(f.balancer.url, '/servers/provision')).body.id).toBe(replacement.id);
  });

  it('kills a child that never becomes ready and never provisions it', async () => {
    const entry = fileURLToPath(new URL('./fixtures/never-ready.mjs', import.meta.url));
    f = await startFixture('never-ready', { FLEET_MIN: '1', READY_TIMEOUT_MS: '1000', CHAT_SERVER_ENTRY: entry }, redis);
    const [starting] = await servers(f.balancer.url);
    expect(starting.status).toBe('starting');
    const provision = await http(f.balancer.url, '/servers/provision');
    expect(provision.status).toBe(503);
    expect(provision.body.error).toBe('no_ready_server');
    await waitFor('the silent child to be killed', () => !alive(starting.pid), 5000);
    const events = (await http(f.balancer.url, '/stats')).body.events as any[];
    expect(events.find((e) => e.serverId === starting.id && e.kind === 'crash')?.detail).toContain('never became ready');
    expect((await http(f.balancer.url, '/readyz')).status).toBe(503);
  });
});
