// Acknowledged commands and paced, room-aware moves on a real chat server and a real Redis.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommandAck, redisKeys, type CommandAck, type ServerCommand } from '@chatfleet/protocol';
import { adminClient, startTestRedis, uniquePrefix, type AdminClient, type TestRedis } from '../../../test/support/redis-server.js';
import { startServer, TestClient, waitUntil } from './support.js';

let redis: TestRedis;
let admin: AdminClient;

beforeAll(async () => {
  redis = await startTestRedis();
  admin = await adminClient(redis);
});

afterAll(async () => {
  await admin?.close();
  await redis?.stop();
});

/** A client that records when its `redistribute` frame arrived. */
async function connect(url: string, user: string, rooms: string[]): Promise<{ client: TestClient; user: string; redirectedAt: () => number | undefined }> {
  const client = await TestClient.connect(url, user);
  for (const room of rooms) await client.register(room);
  let at: number | undefined;
  client.ws.on('message', (data) => {
    if (at === undefined && String(data).includes('"type":"redistribute"')) at = Date.now();
  });
  return { client, user, redirectedAt: () => at };
}

function publish(prefix: string, serverId: string, command: ServerCommand): Promise<number> {
  return admin.publish(redisKeys(prefix).serverCommands(serverId), JSON.stringify(command));
}

async function ackOf(prefix: string, serverId: string, id: string): Promise<CommandAck> {
  return waitUntil(async () => parseCommandAck(await admin.get(redisKeys(prefix).commandAck(serverId, id))), `the ack of ${id}`);
}

describe('acknowledged commands', () => {
  it('confirms a command with its id and what it did, and carries a resent id out only once', async () => {
    const prefix = uniquePrefix('cmd-ack');
    const server = await startServer({ redisUrl: redis.url, redisPrefix: prefix, serverId: 'srv-ack', redirectGraceMs: 60_000 });
    try {
      const members = await Promise.all(['a1', 'a2', 'a3', 'a4'].map((u) => connect(server.url, u, ['a'])));
      const others = await Promise.all(['b1', 'b2'].map((u) => connect(server.url, u, ['b'])));
      const command: ServerCommand = { type: 'redistribute', id: 'c-1', n: 2, redirect: 'ws://127.0.0.1:4999/', moves: [{ room: 'a', n: 2 }], reason: 'test' };
      await publish(prefix, 'srv-ack', command);
      const ack = await ackOf(prefix, 'srv-ack', 'c-1');
      expect(ack).toMatchObject({ id: 'c-1', serverId: 'srv-ack', ok: true, moved: 2 });
      expect(ack.detail).toMatch(/^moving 2 of 2 asked to ws:\/\/127\.0\.0\.1:4999\/ \(rooms a 2\), 100\/s over about 0\.0 s$/);
      const ttl = await admin.pTTL(redisKeys(prefix).commandAck('srv-ack', 'c-1'));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);

      // The same id again (a resend whose first copy did arrive): confirmed again, not carried out again.
      await admin.del(redisKeys(prefix).commandAck('srv-ack', 'c-1'));
      await publish(prefix, 'srv-ack', command);
      expect(await ackOf(prefix, 'srv-ack', 'c-1')).toEqual(ack);
      // A later command on the same channel: once it is done, the resend was handled before it.
      await publish(prefix, 'srv-ack', { type: 'redistribute', id: 'c-2', n: 1, redirect: 'ws://127.0.0.1:4999/', moves: [{ room: 'b', n: 1 }] });
      await ackOf(prefix, 'srv-ack', 'c-2');
      await waitUntil(() => others.some((o) => o.redirectedAt() !== undefined), 'the redirect of c-2');
      expect(members.filter((m) => m.redirectedAt() !== undefined)).toHaveLength(2);
      // Members of room a alone, oldest first.
      expect(members.filter((m) => m.redirectedAt() !== undefined).map((m) => m.user)).toEqual(['a1', 'a2']);
      for (const c of [...members, ...others]) c.client.close();
    } finally {
      await server.stop();
    }
  });

  it('confirms a command from a stale leader as not carried out, so its sender stops resending it', async () => {
    const prefix = uniquePrefix('cmd-fence');
    const server = await startServer({ redisUrl: redis.url, redisPrefix: prefix, serverId: 'srv-fence' });
    try {
      const client = await connect(server.url, 'f1', ['lobby']);
      await publish(prefix, 'srv-fence', { type: 'redistribute', id: 'c-new', token: 5, n: 0, redirect: 'ws://127.0.0.1:4999/' });
      expect(await ackOf(prefix, 'srv-fence', 'c-new')).toMatchObject({ ok: true, moved: 0 });
      await publish(prefix, 'srv-fence', { type: 'redistribute', id: 'c-old', token: 3, n: 1, redirect: 'ws://127.0.0.1:4999/' });
      expect(await ackOf(prefix, 'srv-fence', 'c-old')).toMatchObject({ ok: false, moved: 0, detail: 'ignored: fencing token 3 is older than 5' });
      expect(client.redirectedAt()).toBeUndefined();
      client.client.close();
    } finally {
      await server.stop();
    }
  });

  it('refuses a redistribute while draining, and says so in the ack', async () => {
    const prefix = uniquePrefix('cmd-refuse');
    const server = await startServer({ redisUrl: redis.url, redisPrefix: prefix, serverId: 'srv-refuse', drainTimeoutMs: 1500 });
    const stuck = await TestClient.connect(server.url, 'stuck');
    stuck.ws.pause(); // never reads its close frame: the drain waits, the server keeps listening to commands
    const stopping = server.stop();
    await publish(prefix, 'srv-refuse', { type: 'redistribute', id: 'c-9', n: 1, redirect: 'ws://127.0.0.1:4999/' });
    expect(await ackOf(prefix, 'srv-refuse', 'c-9')).toMatchObject({ ok: false, detail: 'draining: not moving clients', moved: 0 });
    await stopping;
    stuck.close();
  });
});

describe('paced moves', () => {
  it('spreads redirects to one target over time at REDIRECT_RATE_PER_SEC, then closes each moved client after the grace', async () => {
    const prefix = uniquePrefix('cmd-pace');
    // 20 redirects/s: one slot of 50 ms each.
    const server = await startServer({ redisUrl: redis.url, redisPrefix: prefix, serverId: 'srv-pace', redirectRatePerSec: 20, redirectGraceMs: 300 });
    try {
      const clients = await Promise.all(Array.from({ length: 10 }, (_, i) => connect(server.url, `p${i}`, ['lobby'])));
      await publish(prefix, 'srv-pace', { type: 'redistribute', id: 'c-p', n: 10, redirect: 'ws://127.0.0.1:4999/' });
      const ack = await ackOf(prefix, 'srv-pace', 'c-p');
      expect(ack.detail).toBe('moving 10 of 10 asked to ws://127.0.0.1:4999/, 20/s over about 0.5 s');
      await waitUntil(() => clients.every((c) => c.redirectedAt() !== undefined), 'every redirect', 10_000);
      const times = clients.map((c) => c.redirectedAt()!).sort((a, b) => a - b);
      // Ten slots of 50 ms, one redirect at a random point in each: the first and the last are at least 8 slots apart.
      expect(times[9]! - times[0]!).toBeGreaterThanOrEqual(400);
      for (const c of clients) expect(await c.client.closed).toBe(1001);
    } finally {
      await server.stop();
    }
  });

  it('drains room by room along its routes, the rest to its redirect, paced per target', async () => {
    const prefix = uniquePrefix('cmd-drain');
    const keys = redisKeys(prefix);
    const server = await startServer({ redisUrl: redis.url, redisPrefix: prefix, serverId: 'srv-drain', redirectRatePerSec: 10, drainTimeoutMs: 5000 });
    const routed = await Promise.all(['r1', 'r2', 'r3'].map((u) => connect(server.url, u, ['stage'])));
    const rest = await Promise.all(['o1', 'o2', 'o3'].map((u) => connect(server.url, u, ['side'])));
    await publish(prefix, 'srv-drain', {
      type: 'drain',
      id: 'c-d',
      redirect: 'ws://127.0.0.1:4001/',
      routes: [{ room: 'stage', redirect: 'ws://127.0.0.1:4002/' }],
      reason: 'scale-down',
    });
    for (const { client } of [...routed, ...rest]) expect(await client.closed).toBe(1001);
    const base = (c: { client: TestClient }) => {
      const url = new URL(c.client.all('redistribute')[0]!.redirect);
      return `${url.protocol}//${url.host}/`;
    };
    expect(routed.map(base)).toEqual(['ws://127.0.0.1:4002/', 'ws://127.0.0.1:4002/', 'ws://127.0.0.1:4002/']);
    expect(rest.map(base)).toEqual(['ws://127.0.0.1:4001/', 'ws://127.0.0.1:4001/', 'ws://127.0.0.1:4001/']);
    // 10/s per target: three redirects to one target take at least one full slot of 100 ms between first and last.
    for (const group of [routed, rest]) {
      const times = group.map((c) => c.redirectedAt()!).sort((a, b) => a - b);
      expect(times[2]! - times[0]!).toBeGreaterThanOrEqual(100);
    }
    // The drain was confirmed before it began, and the ack outlives the server's keys.
    await server.stop();
    expect(parseCommandAck(await admin.get(keys.commandAck('srv-drain', 'c-d')))).toMatchObject({
      ok: true,
      detail: 'draining 6 clients (1 rooms routed) at 10/s per target',
      moved: 6,
    });
  });
});
