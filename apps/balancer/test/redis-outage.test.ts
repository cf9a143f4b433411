// Chaos: the fleet's Redis stops for ~4 s and comes back EMPTY on the same port; the fleet must ride it out.
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { presenceMembers } from '@chatfleet/protocol';
import { startTestRedis, startTestRedisOnPort, type TestRedis } from '../../../test/support/redis-server.js';
import { alive, http, startFixture, TestClient, waitFor, waitReady, type Fixture } from './support.js';

const ROOM = 'outage-room';
const OUTAGE_MS = 4000;
const HEARTBEAT_TIMEOUT_MS = 3500;

let redis: TestRedis | undefined;
let frozen: number | undefined;
let f: Fixture | undefined;
const clients: TestClient[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
});

afterAll(async () => {
  if (frozen !== undefined) resume(frozen);
  for (const client of clients) client.close();
  await f?.stop();
  await redis?.stop();
  process.off('unhandledRejection', onUnhandled);
}, 30_000);

describe('a Redis outage', () => {
  it('keeps every server, answers 503 then 200 on /readyz, rebuilds the fleet keys and delivers across servers again', async () => {
    redis = await startTestRedis();
    const port = redis.port;
    f = await startFixture('outage', {
      FLEET_MIN: '2',
      FLEET_MAX: '2',
      HEARTBEAT_TIMEOUT_MS: String(HEARTBEAT_TIMEOUT_MS),
      SCALE_DOWN_AFTER_MS: '600000',
    }, redis);
    const base = f.balancer.url;
    const keys = f.balancer.keys;
    const [s1, s2] = await waitReady(base, 2);
    const before = new Map([s1!, s2!].map((s) => [s.id, s.pid]));

    const alice = await TestClient.connectTo(s1!.url, 'alice');
    const bob = await TestClient.connectTo(s2!.url, 'bob');
    clients.push(alice, bob);
    await alice.register(ROOM);
    await bob.register(ROOM);
    alice.send('chat', { message: 'before', clientId: 'c-before' });
    await waitFor('bob to get the message sent before the outage', () => chatTo(bob, 'before'), 5000, 20);
    await waitFor('/readyz 200 before the outage', async () => (await readyz(base)) === 200);

    // ---- outage: Redis stops; /readyz must say so; a chat sent now must be answered somehow ----
    const outageStarted = Date.now();
    await redis.stop();
    await waitFor('/readyz 503 while Redis is down', async () => (await readyz(base)) === 503, 3000, 100);
    alice.send('chat', { message: 'during', clientId: 'c-during' });
    const left = OUTAGE_MS - (Date.now() - outageStarted);
    if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));

    // ---- Redis is back, empty, on the same port ----
    // Server 2 is held (SIGSTOP) until the balancer has been reading the new Redis for a second, so it
    // is certainly later than the balancer to reconnect: its heartbeat is then older than
    // HEARTBEAT_TIMEOUT_MS and its hash is missing, yet it must not be evicted, because the time Redis
    // was away does not count against it.
    frozen = s2!.pid;
    process.kill(frozen, 'SIGSTOP');
    redis = await startTestRedisOnPort(port);
    const backAt = Date.now();
    await waitFor('/readyz 200 after Redis came back', async () => (await readyz(base)) === 200, 10_000, 100);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    resume(frozen);
    frozen = undefined;

    // The chat sent during the outage was refused at once with `error unavailable`: never silence, never a late publish.
    const refusal = await waitFor('an error for the chat sent during the outage', () =>
      alice.frames.find((fr) => fr.type === 'error' && fr.payload.code === 'unavailable'), 10_000, 50);
    expect(refusal.payload.message).toContain('c-during');
    expect(alice.frames.some((fr) => fr.type === 'ack' && fr.payload.clientId === 'c-during')).toBe(false);

    // Room subscriptions come back (node-redis resubscribes), so a new message crosses servers again.
    const probe = createClient({ url: redis.url });
    probe.on('error', () => undefined);
    await probe.connect();
    try {
      await waitFor('both servers subscribed to the room again', async () =>
        (await probe.pubSubNumSub(keys.room(ROOM)))[keys.room(ROOM)] === 2, 10_000, 50);
      alice.send('chat', { message: 'after', clientId: 'c-after' });
      await waitFor('bob to get the message sent after the outage', () => chatTo(bob, 'after'), 5000, 20);

      // Each server rebuilt its share of the fleet keys from local state.
      let seen: unknown;
      await waitFor('the fleet keys rebuilt', async () => {
        const [listed, roomClients, presence, aliceOnline, bobOnline, rooms1, rooms2, hash1, hash2] = await Promise.all([
          probe.zRange(keys.serversClients, 0, -1),
          probe.zScore(keys.roomsClients, ROOM),
          probe.hGetAll(keys.presence(ROOM)),
          probe.hGetAll(keys.online('alice')),
          probe.hGetAll(keys.online('bob')),
          probe.hGetAll(keys.serverRooms(s1!.id)),
          probe.hGetAll(keys.serverRooms(s2!.id)),
          probe.hGet(keys.server(s1!.id), 'status'),
          probe.hGet(keys.server(s2!.id), 'status'),
        ]);
        seen = { listed, roomClients, presence, aliceOnline, bobOnline, rooms1, rooms2, hash1, hash2 };
        const members = presenceMembers(Object.keys(presence)).sort();
        return (
          listed.includes(s1!.id) && listed.includes(s2!.id) &&
          roomClients === 2 &&
          members.join() === 'alice,bob' &&
          Object.values(aliceOnline).join() === '1' && Object.values(bobOnline).join() === '1' &&
          rooms1[ROOM] === '1' && rooms2[ROOM] === '1' &&
          hash1 === 'ready' && hash2 === 'ready'
        );
      }, 10_000, 100).catch((error: unknown) => {
        throw new Error(`${String(error)}; last read ${JSON.stringify(seen)}`);
      });
    } finally {
      await probe.close();
    }

    // Past the window in which a naive heartbeat check would evict: still the same two servers.
    const quietUntil = backAt + HEARTBEAT_TIMEOUT_MS + 1500;
    if (Date.now() < quietUntil) await new Promise((resolve) => setTimeout(resolve, quietUntil - Date.now()));
    const ready = await waitReady(base, 2);
    expect(new Set(ready.map((s) => s.id))).toEqual(new Set(before.keys()));
    const events = (await http(base, '/stats')).body.events as Array<{ kind: string; serverId: string; detail: string }>;
    expect(events.filter((e) => ['crash', 'evict', 'respawn', 'exit', 'remote-gone'].includes(e.kind))).toEqual([]);
    for (const pid of before.values()) expect(alive(pid)).toBe(true);
    expect((await http(base, '/healthz')).status).toBe(200);
    expect(alice.closeCode).toBeUndefined();
    expect(bob.closeCode).toBeUndefined();
    expect(unhandled).toEqual([]);
  }, 40_000);
});

function resume(pid: number): void {
  try {
    process.kill(pid, 'SIGCONT');
  } catch {
    // already gone
  }
}

async function readyz(base: string): Promise<number> {
  return (await http(base, '/readyz')).status;
}

function chatTo(client: TestClient, message: string): boolean {
  return client.frames.some((fr) => fr.type === 'chat' && fr.payload.message === message);
}
