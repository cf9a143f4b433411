// Direct messages kept per user: the offline ones delivered once on the next connection, resuming with sinceDirect, across servers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintTicket } from '@chatfleet/protocol/tickets';
import { compareMessageIds, redisKeys } from '@chatfleet/protocol';
import { adminClient, startTestRedis, uniquePrefix, type TestRedis } from '../../../test/support/redis-server.js';
import { SECRET, startServer, TestClient, waitUntil } from './support.js';
import type { ChatServer } from '../src/chat-server.js';

let redis: TestRedis;
let one: ChatServer;
let two: ChatServer;
let prefix: string;

beforeAll(async () => {
  redis = await startTestRedis();
  prefix = uniquePrefix('directs');
  one = await startServer({ redisUrl: redis.url, redisPrefix: prefix, serverId: 'srv-d1' });
  two = await startServer({ redisUrl: redis.url, redisPrefix: prefix, serverId: 'srv-d2' });
});

afterAll(async () => {
  await one?.stop();
  await two?.stop();
  await redis?.stop();
});

/** Connects `user` to `server`, resuming direct messages after `sinceDirect` when given. */
function connect(server: ChatServer, user: string, sinceDirect?: string): Promise<TestClient> {
  const token = mintTicket(SECRET, user, Date.now() + 60_000);
  const resume = sinceDirect === undefined ? '' : `&sinceDirect=${encodeURIComponent(sinceDirect)}`;
  return TestClient.open(`${server.url}?token=${encodeURIComponent(token)}${resume}`);
}

describe('direct messages', () => {
  it('delivers directs sent while the user was offline exactly once, on its next connection', async () => {
    const sender = await connect(one, 'dora');
    for (const n of [1, 2, 3]) sender.send('direct', { to: 'otto', message: `while away ${n}`, clientId: `w${n}` });
    const acks = await sender.count('ack', 3);
    const ids = acks.map((a) => a.id);
    for (let i = 1; i < ids.length; i++) expect(compareMessageIds(ids[i - 1]!, ids[i]!)).toBeLessThan(0);

    const otto = await connect(two, 'otto');
    const got = await otto.count('direct', 3);
    expect(got.map((d) => d.message)).toEqual(['while away 1', 'while away 2', 'while away 3']);
    expect(got.map((d) => d.id)).toEqual(ids);
    // A second connection of the same user (the first still open) gets none of them again.
    const again = await connect(one, 'otto');
    sender.send('direct', { to: 'otto', message: 'live', clientId: 'l1' });
    await otto.next('direct', (d) => d.message === 'live');
    await again.next('direct', (d) => d.message === 'live');
    expect(again.all('direct').map((d) => d.message)).toEqual(['live']);
    expect(otto.all('direct')).toHaveLength(4);
    for (const client of [sender, otto, again]) client.close();
  });

  it('gives a connection that resumes with sinceDirect exactly the directs after it, then live ones', async () => {
    const sender = await connect(one, 'sam');
    let reader = await connect(two, 'rita');
    sender.send('direct', { to: 'rita', message: 'seen', clientId: 's1' });
    const seen = await reader.next('direct');
    reader.close();
    await waitUntil(async () => {
      const admin = await adminClient(redis);
      const online = await admin.exists(redisKeys(prefix).online('rita'));
      await admin.close();
      return online === 0;
    }, 'rita offline');
    for (const n of [1, 2]) sender.send('direct', { to: 'rita', message: `missed ${n}`, clientId: `m${n}` });
    await sender.count('ack', 3);
    reader = await connect(one, 'rita', seen.id);
    await reader.count('direct', 2);
    sender.send('direct', { to: 'rita', message: 'live', clientId: 'l' });
    await reader.next('direct', (d) => d.message === 'live');
    expect(reader.all('direct').map((d) => d.message)).toEqual(['missed 1', 'missed 2', 'live']);
    for (const client of [sender, reader]) client.close();
  });

  it('reaches every connection of a user on every server, and the sender acks with the kept id', async () => {
    const sender = await connect(one, 'walt');
    const a = await connect(one, 'vera');
    const b = await connect(two, 'vera');
    sender.send('direct', { to: 'vera', message: 'both', clientId: 'b' });
    const ack = await sender.next('ack', (x) => x.clientId === 'b');
    expect((await a.next('direct')).id).toBe(ack.id);
    expect((await b.next('direct')).id).toBe(ack.id);
    for (const client of [sender, a, b]) client.close();
  });
});
