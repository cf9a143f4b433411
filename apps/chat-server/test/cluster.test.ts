// The chat server's core behaviours on a real Redis Cluster (3 masters): rooms across servers, since, presence, directs, metrics, drain.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareMessageIds, presenceField, redisKeys } from '@chatfleet/protocol';
import { RedisLink } from '@chatfleet/redis';
import { startRedisCluster, type RedisClusterGroup } from '@chatfleet/redis-server/cluster';
import { uniquePrefix } from '../../../test/support/redis-server.js';
import type { ChatServer } from '../src/chat-server.js';
import { startServer, TestClient, waitUntil } from './support.js';

let cluster: RedisClusterGroup;
let link: RedisLink;
let one: ChatServer;
let two: ChatServer;
let prefix: string;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 0 });
  link = new RedisLink(cluster.url);
  link.on('error', () => undefined);
  await link.connect();
  prefix = uniquePrefix('cluster');
  one = await startServer({ redisUrl: cluster.url, redisPrefix: prefix, serverId: 'srv-c1', metricsIntervalMs: 100 });
  two = await startServer({ redisUrl: cluster.url, redisPrefix: prefix, serverId: 'srv-c2', metricsIntervalMs: 100 });
}, 60_000);

afterAll(async () => {
  await one?.stop();
  await two?.stop();
  await link?.close();
  await cluster?.stop();
}, 30_000);

const connect = (server: ChatServer, user: string) => TestClient.connect(server.url, user);

describe('chat servers on a Redis Cluster', () => {
  it('spreads rooms over every master and delivers each room across servers in id order', async () => {
    const rooms = Array.from({ length: 12 }, (_, i) => `spread-${i}`);
    const masters = new Set(rooms.map((room) => link.masterOf(redisKeys(prefix).history(room))));
    expect(masters.size).toBe(3);
    const alice = await connect(one, 'alice');
    const bob = await connect(two, 'bob');
    for (const room of rooms) {
      await alice.register(room);
      await bob.register(room);
    }
    for (const room of rooms) alice.send('chat', { chatId: room, message: `to ${room}`, clientId: room });
    await bob.count('chat', rooms.length);
    for (const room of rooms) expect(bob.all('chat').find((m) => m.chatId === room)?.message).toBe(`to ${room}`);
    bob.send('chat', { chatId: rooms[0], message: 'a' });
    bob.send('chat', { chatId: rooms[0], message: 'b' });
    await alice.count('chat', rooms.length + 2);
    const ids = alice.all('chat').filter((m) => m.chatId === rooms[0]).map((m) => m.id);
    expect(compareMessageIds(ids[1]!, ids[2]!)).toBeLessThan(0);
    alice.close();
    bob.close();
  });

  it('replays after since with recovered true, and answers presence across servers', async () => {
    const sender = await connect(one, 'sid');
    const reader = await connect(two, 'rae');
    const registered = await reader.register('resume');
    await sender.register('resume');
    reader.close();
    for (const n of [1, 2, 3]) sender.send('chat', { chatId: 'resume', message: `m${n}`, clientId: `m${n}` });
    await sender.count('ack', 3);
    const back = await connect(one, 'rae');
    const again = await back.register('resume', registered.lastId);
    expect(again.recovered).toBe(true);
    await back.count('chat', 3);
    expect(back.all('chat').map((m) => m.message)).toEqual(['m1', 'm2', 'm3']);
    back.send('presence', { chatId: 'resume' });
    expect((await back.next('presence')).users.sort()).toEqual(['rae', 'sid']);
    sender.close();
    back.close();
  });

  it('keeps direct messages for an offline user and tells watchers who comes and goes', async () => {
    const dan = await connect(one, 'dan');
    dan.send('direct', { to: 'eve', message: 'while away', clientId: 'w' });
    await dan.next('ack');
    dan.send('watch', { users: ['eve'] });
    await dan.next('status', (s) => s.userId === 'eve' && !s.online);
    const eve = await connect(two, 'eve');
    expect((await eve.next('direct')).message).toBe('while away');
    await dan.next('status', (s) => s.userId === 'eve' && s.online);
    eve.close();
    await waitUntil(() => dan.all('status').filter((x) => x.userId === 'eve').length >= 3, 'eve going offline');
    expect(dan.all('status').filter((x) => x.userId === 'eve').map((x) => x.online)).toEqual([false, true, false]);
    dan.close();
  });

  it('writes its metrics and shares, and a drain command moves clients to its peer and removes its keys', async () => {
    const keys = redisKeys(prefix);
    const leaving = await startServer({ redisUrl: cluster.url, redisPrefix: prefix, serverId: 'srv-c3', metricsIntervalMs: 100 });
    const client = await connect(leaving, 'mia');
    await client.register('drain-room');
    await waitUntil(async () => (await link.commands.hGet(keys.server('srv-c3'), 'clients')) === '1', 'the server hash');
    expect(await link.commands.hGetAll(keys.serverRooms('srv-c3'))).toEqual({ 'drain-room': '1' });
    expect(await link.commands.hGetAll(keys.presence('drain-room'))).toEqual({ [presenceField('srv-c3', 'mia')]: '1' });
    expect(await link.commands.zScore(keys.serversClients, 'srv-c3')).toBe(1);
    await link.publish(keys.serverCommands('srv-c3'), JSON.stringify({ type: 'drain' }));
    expect(await client.closed).toBe(1001);
    const redirect = client.all('redistribute')[0]?.redirect ?? '';
    expect(redirect.startsWith(one.url) || redirect.startsWith(two.url)).toBe(true);
    await waitUntil(async () => (await link.commands.exists(keys.server('srv-c3'))) === 0, 'its hash removed');
    expect(await link.commands.exists(keys.presence('drain-room'))).toBe(0);
    expect(await link.commands.zScore(keys.serversClients, 'srv-c3')).toBeNull();
    await leaving.stop();
  });
});
