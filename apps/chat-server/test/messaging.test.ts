// Room messaging across two servers: delivery, acks, ids, and the since-replay seam under concurrent sends.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareMessageIds, redisKeys } from '@chatfleet/protocol';
import { adminClient, startTestRedis, uniquePrefix, type TestRedis } from '../../../test/support/redis-server.js';
import type { ChatServer } from '../src/chat-server.js';
import { startServer, TestClient, waitUntil } from './support.js';

let redis: TestRedis;
let one: ChatServer;
let two: ChatServer;
const prefix = uniquePrefix('chat-msg');
const clients: TestClient[] = [];

async function connect(server: ChatServer, user: string): Promise<TestClient> {
  const client = await TestClient.connect(server.url, user);
  clients.push(client);
  return client;
}

beforeAll(async () => {
  redis = await startTestRedis();
  const common = { redisUrl: redis.url, redisPrefix: prefix, rateLimit: 2000 };
  one = await startServer({ ...common, serverId: 'srv-one' });
  two = await startServer({ ...common, serverId: 'srv-two' });
});

afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.all([one?.stop(), two?.stop()]);
  await redis?.stop();
});

describe('room messaging across servers', () => {
  it('delivers each message to members on both servers with from set by the server, increasing ids and an ack', async () => {
    const alice = await connect(one, 'alice');
    const bob = await connect(two, 'bob');
    await alice.register('lobby');
    const registered = await bob.register('lobby');
    expect(registered.members.sort()).toEqual(['alice', 'bob']);

    alice.send('chat', { chatId: 'lobby', message: 'hello from alice', clientId: 'a1' });
    bob.send('chat', { message: 'hello from bob', clientId: 'b1' });
    alice.send('chat', { message: 'again', clientId: 'a2' });

    const ack = await alice.next('ack', (a) => a.clientId === 'a1');
    expect(ack.id).toMatch(/^\d+-\d+$/);
    for (const client of [alice, bob]) {
      const chats = await client.count('chat', 3);
      expect(chats.map((c) => c.message)).toEqual(expect.arrayContaining(['hello from alice', 'hello from bob', 'again']));
      expect(chats.find((c) => c.clientId === 'b1')?.from).toBe('bob');
      expect(chats.find((c) => c.clientId === 'a1')?.from).toBe('alice');
      const ids = chats.map((c) => c.id);
      for (let i = 1; i < ids.length; i++) expect(compareMessageIds(ids[i - 1]!, ids[i]!)).toBeLessThan(0);
    }
    // Both see the same order.
    expect(alice.all('chat').map((c) => c.id)).toEqual(bob.all('chat').map((c) => c.id));
    expect((await bob.next('ack', (a) => a.clientId === 'b1')).id).toBe(alice.all('chat').find((c) => c.clientId === 'b1')?.id);
  });

  it('tells a new member the newest history id in registered, a marker id when the history is empty', async () => {
    const carol = await connect(one, 'carol');
    const empty = await carol.register('fresh-room');
    // An empty room's history starts with a marker entry: there is always a point to resume from.
    expect(empty.lastId).toMatch(/^\d+-\d+$/);
    expect(empty.recovered).toBeUndefined();
    carol.send('chat', { chatId: 'fresh-room', message: 'first', clientId: 'c1' });
    carol.send('chat', { chatId: 'fresh-room', message: 'second', clientId: 'c2' });
    const newest = await carol.next('ack', (a) => a.clientId === 'c2');
    const dave = await connect(two, 'dave');
    const registered = await dave.register('fresh-room');
    expect(registered.lastId).toBe(newest.id);
    carol.send('chat', { chatId: 'fresh-room', message: 'third', clientId: 'c3' });
    const third = await dave.next('chat', (m) => m.message === 'third');
    expect(compareMessageIds(third.id, newest.id)).toBeGreaterThan(0);
    expect(dave.all('chat').map((m) => m.message)).toEqual(['third']);
    // Resuming from the marker gives every message, and says nothing was lost.
    const nina = await connect(one, 'nina');
    const resumed = await nina.register('fresh-room', empty.lastId);
    expect(resumed.recovered).toBe(true);
    await nina.count('chat', 3);
    expect(nina.all('chat').map((m) => m.message)).toEqual(['first', 'second', 'third']);
    nina.close();
  });

  it('replays exactly the missed messages after since, then live ones, with no gap or duplicate at the seam', async () => {
    const room = 'seam';
    const sender = await connect(two, 'sender');
    await sender.register(room);
    let reader = await connect(one, 'reader');
    await reader.register(room);

    let sending = true;
    let sent = 0;
    const pump = (async () => {
      while (sending) {
        sender.send('chat', { message: `m${sent}`, clientId: `c${sent}` });
        sent += 1;
        if (sent % 5 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();

    const seen: string[] = [];
    for (let round = 0; round < 6; round++) {
      await waitUntil(() => reader.all('chat').length >= 5, 'a few live messages');
      const got = reader.all('chat').map((c) => c.id);
      seen.push(...got);
      const last = got[got.length - 1]!;
      reader.close();
      clients.splice(clients.indexOf(reader), 1);
      // Miss some while away.
      const missFrom = sent;
      await waitUntil(() => sent > missFrom + 20, 'messages sent while away');
      reader = await connect(round % 2 === 0 ? one : two, 'reader');
      await reader.register(room, last);
    }
    await waitUntil(() => reader.all('chat').length >= 5, 'live after the last resume');
    sending = false;
    await pump;
    const total = sent;
    await sender.count('ack', total, 10_000);
    const lastId = (await sender.next('ack', (a) => a.clientId === `c${total - 1}`)).id;
    await waitUntil(() => reader.all('chat').some((c) => c.id === lastId), 'the last message at the reader', 10_000);
    seen.push(...reader.all('chat').map((c) => c.id));

    const admin = await adminClient(redis);
    const history = (await admin.xRange(redisKeys(prefix).history(room), '-', '+')).map((e) => e.id);
    await admin.close();
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(history.slice(history.indexOf(seen[0]!)));
    expect(seen.length).toBe(total);
  });

  it('answers presence and delivers direct messages and watched status across servers', async () => {
    const carol = await connect(one, 'carol');
    const dave = await connect(two, 'dave');
    await carol.register('club');
    await dave.register('club');
    carol.send('presence', { chatId: 'club' });
    expect((await carol.next('presence')).users.sort()).toEqual(['carol', 'dave']);

    dave.send('direct', { to: 'carol', message: 'psst', clientId: 'd1' });
    const direct = await carol.next('direct');
    expect(direct).toMatchObject({ from: 'dave', to: 'carol', message: 'psst', clientId: 'd1' });
    expect((await dave.next('ack', (a) => a.clientId === 'd1')).id).toBe(direct.id);

    carol.send('watch', { users: ['erin', 'dave'] });
    await carol.next('status', (s) => s.userId === 'dave' && s.online);
    await carol.next('status', (s) => s.userId === 'erin' && !s.online);
    const erin = await connect(two, 'erin');
    await carol.next('status', (s) => s.userId === 'erin' && s.online);
    erin.close();
    await carol.next('status', (s) => s.userId === 'erin' && !s.online);
  });
});
