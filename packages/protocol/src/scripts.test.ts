import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedis, uniquePrefix, type TestRedis } from '../../../test/support/redis-server.js';
import { redisKeys } from './keys.js';
import {
  ONLINE_DELTA_SCRIPT,
  PRESENCE_DELTA_SCRIPT,
  PUBLISH_CHAT_SCRIPT,
  REMOVE_SERVER_SCRIPT,
  ROOM_SHARES_SCRIPT,
  SYNC_SHARES_SCRIPT,
  onlineDeltaArgs,
  presenceDeltaArgs,
  publishChatArgs,
  removeServerArgs,
  roomSharesArgs,
  syncSharesArgs,
} from './scripts.js';
import { chatFrameId, encodeChatFrameTail, joinChatFrame, parseServerFrame } from './server-frames.js';

describe('Lua scripts on a real Redis', () => {
  let redis: TestRedis;
  let client: ReturnType<typeof createClient>;

  beforeAll(async () => {
    redis = await startTestRedis();
    client = createClient({ url: redis.url });
    client.on('error', () => {});
    await client.connect();
  });
  afterAll(async () => {
    await client?.close();
    await redis?.stop();
  });

  it('publishes each chat message as its complete frame, in history order, and counts it', async () => {
    const keys = redisKeys(uniquePrefix('publish'));
    const subscriber = client.duplicate();
    subscriber.on('error', () => {});
    await subscriber.connect();
    const received: string[] = [];
    await subscriber.subscribe(keys.room('r1'), (message) => received.push(message));

    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const tail = encodeChatFrameTail({ chatId: 'r1', from: 'alice', message: `m${i}`, ts: i });
      ids.push(String(await client.eval(PUBLISH_CHAT_SCRIPT, publishChatArgs(keys, 'r1', tail, 1000))));
    }
    await expect.poll(() => received.length).toBe(5);
    await subscriber.close();

    expect(received.map((frame) => chatFrameId(frame))).toEqual(ids);
    expect(received.map((frame) => parseServerFrame(frame))).toEqual(
      ids.map((id, i) => ({ type: 'chat', payload: { id, chatId: 'r1', from: 'alice', message: `m${i}`, ts: i } })),
    );
    const history = await client.xRange(keys.history('r1'), '-', '+');
    expect(history.map((entry) => joinChatFrame(entry.id, String(entry.message.t)))).toEqual(received);
    expect(await client.zScore(keys.roomsCumulativeMessages, 'r1')).toBe(5);
  });

  it('takes a removed server share of rooms, presence and online users back out', async () => {
    const keys = redisKeys(uniquePrefix('remove'));
    const run = (script: string, args: { keys: string[]; arguments: string[] }) => client.eval(script, args);
    // Two servers host bob in room r; only s1 hosts alice.
    await run(PRESENCE_DELTA_SCRIPT, presenceDeltaArgs(keys, 's1', 'r', 'alice', 1));
    await run(PRESENCE_DELTA_SCRIPT, presenceDeltaArgs(keys, 's1', 'r', 'bob', 1));
    await run(PRESENCE_DELTA_SCRIPT, presenceDeltaArgs(keys, 's2', 'r', 'bob', 1));
    await run(ONLINE_DELTA_SCRIPT, onlineDeltaArgs(keys, 's1', 'alice', 1));
    await run(ONLINE_DELTA_SCRIPT, onlineDeltaArgs(keys, 's1', 'bob', 1));
    await run(ONLINE_DELTA_SCRIPT, onlineDeltaArgs(keys, 's2', 'bob', 1));
    await client.hSet(keys.serverRooms('s1'), 'r', '2');
    await client.hSet(keys.serverRooms('s2'), 'r', '1');
    await client.zAdd(keys.roomsClients, { score: 3, value: 'r' });
    await client.hSet(keys.server('s1'), { id: 's1', heartbeat: '1' });
    await client.zAdd(keys.serversClients, [
      { score: 2, value: 's1' },
      { score: 1, value: 's2' },
    ]);

    const offline = await run(REMOVE_SERVER_SCRIPT, removeServerArgs(keys, 's1'));

    expect(offline).toEqual(['alice']);
    expect(await client.hGetAll(keys.presence('r'))).toEqual({ bob: '1' });
    expect(await client.hGetAll(keys.usersOnline)).toEqual({ bob: '1' });
    expect(await client.zScore(keys.roomsClients, 'r')).toBe(1);
    expect(await client.zRange(keys.serversClients, 0, -1)).toEqual(['s2']);
    expect(await client.exists([keys.server('s1'), keys.serverRooms('s1'), keys.serverPresence('s1'), keys.serverUsers('s1')])).toBe(0);
  });

  it('drops presence fields that reach zero', async () => {
    const keys = redisKeys(uniquePrefix('presence'));
    const args = (delta: 1 | -1) => presenceDeltaArgs(keys, 's1', 'r', 'carol', delta);
    expect(await client.eval(PRESENCE_DELTA_SCRIPT, args(1))).toBe(1);
    expect(await client.eval(PRESENCE_DELTA_SCRIPT, args(1))).toBe(2);
    expect(await client.eval(PRESENCE_DELTA_SCRIPT, args(-1))).toBe(1);
    expect(await client.eval(PRESENCE_DELTA_SCRIPT, args(-1))).toBe(0);
    expect(await client.exists([keys.presence('r'), keys.serverPresence('s1')])).toBe(0);
  });

  it('moves chat-rooms:clients by the change of a server room share, and heals after Redis lost it', async () => {
    const keys = redisKeys(uniquePrefix('shares'));
    const write = (server: string, counts: Record<string, number>) =>
      client.eval(ROOM_SHARES_SCRIPT, roomSharesArgs(keys, server, new Map(Object.entries(counts))));
    await write('s1', { a: 2, b: 1 });
    await write('s2', { a: 1 });
    await write('s1', { a: 3 });
    expect(await client.zRangeWithScores(keys.roomsClients, 0, -1)).toEqual([{ value: 'a', score: 4 }]);
    expect(await client.hGetAll(keys.serverRooms('s1'))).toEqual({ a: '3' });
    // Redis comes back empty: the next writes put the full shares back, not deltas.
    await client.del([keys.roomsClients, keys.serverRooms('s1'), keys.serverRooms('s2')]);
    await write('s1', { a: 3 });
    await write('s2', { a: 1 });
    await write('s2', { a: 1 });
    expect(await client.zScore(keys.roomsClients, 'a')).toBe(4);
    await write('s1', {});
    await write('s2', {});
    expect(await client.exists([keys.roomsClients, keys.serverRooms('s1'), keys.serverRooms('s2')])).toBe(0);
  });

  it('resets a server share of presence and users online to its local state and reports who came and went', async () => {
    const keys = redisKeys(uniquePrefix('sync'));
    const sync = (server: string, presence: Record<string, number>, users: Record<string, number>) =>
      client.eval(SYNC_SHARES_SCRIPT, syncSharesArgs(keys, server, new Map(Object.entries(presence)), new Map(Object.entries(users))));
    // s2 already counts bob in r; s1 syncs into an otherwise empty Redis.
    await client.eval(PRESENCE_DELTA_SCRIPT, presenceDeltaArgs(keys, 's2', 'r', 'bob', 1));
    await client.eval(ONLINE_DELTA_SCRIPT, onlineDeltaArgs(keys, 's2', 'bob', 1));
    expect(await sync('s1', { 'r alice': 1, 'r bob': 1 }, { alice: 1, bob: 1 })).toEqual([['alice'], []]);
    expect(await client.hGetAll(keys.presence('r'))).toEqual({ alice: '1', bob: '2' });
    expect(await client.hGetAll(keys.usersOnline)).toEqual({ alice: '1', bob: '2' });
    // The same state again changes nothing; then alice is gone locally.
    expect(await sync('s1', { 'r alice': 1, 'r bob': 1 }, { alice: 1, bob: 1 })).toEqual([[], []]);
    expect(await sync('s1', { 'r bob': 1 }, { bob: 1 })).toEqual([[], ['alice']]);
    expect(await client.hGetAll(keys.presence('r'))).toEqual({ bob: '2' });
    expect(await client.hGetAll(keys.usersOnline)).toEqual({ bob: '2' });
    expect(await client.hGetAll(keys.serverPresence('s1'))).toEqual({ 'r bob': '1' });
    expect(await client.hGetAll(keys.serverUsers('s1'))).toEqual({ bob: '1' });
  });
});
