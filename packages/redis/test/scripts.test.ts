// Every Lua script on a real single Redis and on a real 3-master Cluster (which refuses any script that spans two slots).
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisCluster, type RedisClusterGroup } from '@chatfleet/redis-server/cluster';
import {
  ACQUIRE_LEASE_SCRIPT,
  CLAIM_SERVER_SCRIPT,
  leaseValue,
  parseLeaseValue,
  RELEASE_LEASE_SCRIPT,
  RENEW_LEASE_SCRIPT,
  compareMessageIds,
  COUNTER_DELTA_SCRIPT,
  counterDeltaArgs,
  DIRECTS_FROM_SCRIPT,
  encodeChatFrameTail,
  encodeDirectFrameTail,
  encodeServerFrame,
  HISTORY_AFTER_SCRIPT,
  ONLINE_DELTA_SCRIPT,
  onlineDeltaArgs,
  parseServerFrame,
  presenceField,
  PUBLISH_CHATS_SCRIPT,
  PUBLISH_DIRECT_SCRIPT,
  publishChatsArgs,
  publishDirectArgs,
  redisKeys,
  REGISTER_SCRIPT,
  registerArgs,
  REPLACE_HASH_SCRIPT,
  replaceCountsArgs,
  SYNC_ONLINE_SCRIPT,
  syncOnlineArgs,
  SYNC_PRESENCE_SCRIPT,
  syncPresenceArgs,
  type RedisKeys,
} from '@chatfleet/protocol';
import { Bus, RedisLink, RedisScript } from '../src/index.js';
import { startTestRedis, uniquePrefix, type TestRedis } from '../../../test/support/redis-server.js';
import { waitFor } from '../../../test/support/wait.js';
const scripts = {
  publishChats: new RedisScript(PUBLISH_CHATS_SCRIPT),
  register: new RedisScript(REGISTER_SCRIPT),
  historyAfter: new RedisScript(HISTORY_AFTER_SCRIPT),
  counterDelta: new RedisScript(COUNTER_DELTA_SCRIPT),
  onlineDelta: new RedisScript(ONLINE_DELTA_SCRIPT),
  publishDirect: new RedisScript(PUBLISH_DIRECT_SCRIPT),
  directsFrom: new RedisScript(DIRECTS_FROM_SCRIPT),
  syncPresence: new RedisScript(SYNC_PRESENCE_SCRIPT),
  syncOnline: new RedisScript(SYNC_ONLINE_SCRIPT),
  replaceHash: new RedisScript(REPLACE_HASH_SCRIPT),
  acquireLease: new RedisScript(ACQUIRE_LEASE_SCRIPT),
  renewLease: new RedisScript(RENEW_LEASE_SCRIPT),
  releaseLease: new RedisScript(RELEASE_LEASE_SCRIPT),
  claimServer: new RedisScript(CLAIM_SERVER_SCRIPT),
};

let single: TestRedis;
let cluster: RedisClusterGroup;

beforeAll(async () => {
  [single, cluster] = await Promise.all([startTestRedis(), startRedisCluster({ masters: 3, replicasPerMaster: 0 })]);
}, 60_000);

afterAll(async () => {
  await Promise.all([single?.stop(), cluster?.stop()]);
});

describe.each([
  ['one Redis', () => single.url],
  ['a Cluster', () => cluster.url],
])('Lua scripts on %s', (_name, url) => {
  let link: RedisLink;
  let bus: Bus;
  const heard: Array<{ channel: string; message: string }> = [];

  beforeAll(async () => {
    link = new RedisLink(url());
    link.on('error', () => undefined);
    await link.connect();
    bus = new Bus({ link, probeChannel: (tag) => `scripts-probe:{${tag || 'p'}}`, probeIntervalMs: 1000, probeTimeoutMs: 2000, connectTimeoutMs: 2000 });
    bus.on('error', () => undefined);
    bus.route('', (message, channel) => heard.push({ channel, message }));
    await bus.start();
  });
  afterAll(async () => {
    await bus?.close();
    await link?.close();
  });

  const run = (script: RedisScript, args: { keys: string[]; arguments: string[] }) => link.run(script, args.keys, args.arguments);
  const on = (channel: string) => heard.filter((h) => h.channel === channel).map((h) => h.message);
  const tail = (chatId: string, message: string) => encodeChatFrameTail({ chatId, from: 'alice', message, ts: 1 });

  it('publishes a batch of room messages in id order as one channel message, after a marker entry', async () => {
    const keys = redisKeys(uniquePrefix('publish'));
    await bus.subscribe(keys.room('r1'));
    const ids = (await run(scripts.publishChats, publishChatsArgs(keys, 'r1', ['a', 'b', 'c'].map((m) => tail('r1', m)), 1000, link.publishCommand))) as string[];
    expect(ids).toHaveLength(3);
    expect(compareMessageIds(ids[0]!, ids[1]!)).toBeLessThan(0);
    expect(compareMessageIds(ids[1]!, ids[2]!)).toBeLessThan(0);
    await waitFor('the batch', () => on(keys.room('r1')).length === 1);
    const frames = on(keys.room('r1'))[0]!.split('\n').map((f) => parseServerFrame(f));
    expect(frames.map((f) => (f.type === 'chat' ? [f.payload.id, f.payload.message] : []))).toEqual([
      [ids[0], 'a'],
      [ids[1], 'b'],
      [ids[2], 'c'],
    ]);
    const history = await link.commands.xRange(keys.history('r1'), '-', '+');
    expect(history).toHaveLength(4);
    expect(history[0]!.message).toEqual({ g: '1' });
    await bus.unsubscribe(keys.room('r1'));
  });

  it('registers: joins presence, names the last id (a marker in an empty room) and replays after since', async () => {
    const keys = redisKeys(uniquePrefix('register'));
    const first = (await run(scripts.register, registerArgs(keys, 's1', 'r', 'amy', undefined))) as unknown[];
    expect(first[0]).toEqual([presenceField('s1', 'amy')]);
    const marker = String(first[1]);
    expect(Number(first[2])).toBe(-1);
    const ids = (await run(scripts.publishChats, publishChatsArgs(keys, 'r', [tail('r', 'x'), tail('r', 'y')], 1000, link.publishCommand))) as string[];
    const resumed = (await run(scripts.register, registerArgs(keys, 's2', 'r', 'ben', marker))) as unknown[];
    expect(resumed[1]).toBe(ids[1]);
    expect(Number(resumed[2])).toBe(1);
    expect(resumed.slice(3).filter((_, i) => i % 2 === 0)).toEqual(ids);
    expect(await link.commands.hGetAll(keys.presence('r'))).toEqual({ [presenceField('s1', 'amy')]: '1', [presenceField('s2', 'ben')]: '1' });
  });

  it('says history cannot fill a gap when since was trimmed away or the history was lost', async () => {
    const keys = redisKeys(uniquePrefix('recovered'));
    const ids = (await run(scripts.publishChats, publishChatsArgs(keys, 'r', ['1', '2', '3', '4'].map((m) => tail('r', m)), 1000, link.publishCommand))) as string[];
    const after = async (since: string) => (await link.run(scripts.historyAfter, [keys.history('r')], [since])) as unknown[];
    expect(Number((await after(ids[1]!))[0])).toBe(1);
    await link.commands.xTrim(keys.history('r'), 'MAXLEN', 2);
    expect(Number((await after(ids[0]!))[0])).toBe(0);
    expect((await after(ids[0]!)).slice(2).filter((_, i) => i % 2 === 0)).toEqual([ids[2], ids[3]]);
    expect((await after(ids[0]!))[1]).toBe(ids[3]);
    expect(Number((await after(ids[2]!))[0])).toBe(1);
    // A Redis that came back empty: the stream starts again and never held ids[3].
    await link.commands.del(keys.history('r'));
    await run(scripts.publishChats, publishChatsArgs(keys, 'r', [tail('r', 'new')], 1000, link.publishCommand));
    const lost = (await run(scripts.register, registerArgs(keys, 's1', 'r', 'amy', ids[3]))) as unknown[];
    expect(Number(lost[2])).toBe(0);
    expect(lost.length).toBe(5);
  });

  it('counts online per server, publishes status on the first and last connection, and hands out the offline marker', async () => {
    const keys = redisKeys(uniquePrefix('online'));
    await bus.subscribe(keys.user('zoe'));
    const online = (server: string, delta: 1 | -1) => run(scripts.onlineDelta, onlineDeltaArgs(keys, server, 'zoe', delta, link.publishCommand)) as Promise<unknown[]>;
    const direct = (message: string) =>
      run(scripts.publishDirect, publishDirectArgs(keys, 'zoe', encodeDirectFrameTail({ from: 'amy', to: 'zoe', message, ts: 1 }), 1000, link.publishCommand)) as Promise<string>;
    const first = String(await direct('while offline'));
    const second = String(await direct('also offline'));
    expect(await online('s1', 1)).toEqual([1, first, second]);
    expect(await online('s2', 1)).toEqual([2, '', second]);
    await direct('while online');
    expect(await link.commands.exists(keys.directsOffline('zoe'))).toBe(0);
    expect(await online('s1', -1)).toEqual([1, '', '']);
    expect(await online('s2', -1)).toEqual([0, '', '']);
    await waitFor('the statuses', () => on(keys.user('zoe')).filter((m) => m.includes('"status"')).length === 2);
    expect(on(keys.user('zoe')).filter((m) => m.includes('"status"'))).toEqual([
      encodeServerFrame('status', { userId: 'zoe', online: true }),
      encodeServerFrame('status', { userId: 'zoe', online: false }),
    ]);
    expect(on(keys.user('zoe')).filter((m) => m.includes('"direct"'))).toHaveLength(3);
    const fromMarker = (await link.run(scripts.directsFrom, [keys.directs('zoe')], [first])) as string[];
    expect(fromMarker.filter((_, i) => i % 2 === 0)).toHaveLength(3);
    const afterSecond = (await link.run(scripts.directsFrom, [keys.directs('zoe')], [`(${second}`])) as string[];
    expect(afterSecond).toHaveLength(2);
    await bus.unsubscribe(keys.user('zoe'));
  });

  it("syncs one server's presence and online share, and counter deltas drop fields at zero", async () => {
    const keys = redisKeys(uniquePrefix('sync'));
    await run(scripts.counterDelta, counterDeltaArgs(keys.presence('r'), presenceField('s1', 'amy'), 1));
    await run(scripts.counterDelta, counterDeltaArgs(keys.presence('r'), presenceField('s2', 'amy'), 1));
    expect(await run(scripts.counterDelta, counterDeltaArgs(keys.presence('r'), presenceField('s1', 'amy'), -1))).toBe(0);
    expect(await link.commands.hKeys(keys.presence('r'))).toEqual([presenceField('s2', 'amy')]);
    await run(scripts.syncPresence, syncPresenceArgs(keys, 's1', 'r', new Map([['ben', 2]])));
    expect(await link.commands.hGetAll(keys.presence('r'))).toEqual({ [presenceField('s2', 'amy')]: '1', [presenceField('s1', 'ben')]: '2' });
    await run(scripts.syncPresence, syncPresenceArgs(keys, 's1', 'r', new Map()));
    expect(await link.commands.hGetAll(keys.presence('r'))).toEqual({ [presenceField('s2', 'amy')]: '1' });

    await bus.subscribe(keys.user('kai'));
    expect(await run(scripts.syncOnline, syncOnlineArgs(keys, 's1', 'kai', 2, link.publishCommand))).toBe(2);
    expect(await run(scripts.syncOnline, syncOnlineArgs(keys, 's1', 'kai', 0, link.publishCommand))).toBe(0);
    await waitFor('online then offline', () => on(keys.user('kai')).length === 2);
    await bus.unsubscribe(keys.user('kai'));

    await run(scripts.replaceHash, replaceCountsArgs(keys.serverRooms('s1'), new Map([['a', 1], ['b', 0], ['c', 3]])));
    expect(await link.commands.hGetAll(keys.serverRooms('s1'))).toEqual({ a: '1', c: '3' });
    await run(scripts.replaceHash, replaceCountsArgs(keys.serverRooms('s1'), new Map()));
    expect(await link.commands.exists(keys.serverRooms('s1'))).toBe(0);
  });

  it('hands the leader lease to one holder with a rising fencing token, renewed and released only by it', async () => {
    const keys = redisKeys(uniquePrefix('lease'));
    const lease = [keys.leaderLease, keys.leaderToken];
    const acquire = (holder: string, floor = 0) => run(scripts.acquireLease, { keys: lease, arguments: [holder, '5000', String(floor)] });
    expect(await acquire('b-1')).toBe(1);
    expect(await acquire('b-2')).toBe(0);
    expect(parseLeaseValue(await link.commands.get(keys.leaderLease))).toEqual({ token: 1, holder: 'b-1' });
    const renew = (token: number, holder: string) => run(scripts.renewLease, { keys: [keys.leaderLease], arguments: [leaseValue(token, holder), '5000'] });
    expect(await renew(1, 'b-2')).toBe(0);
    expect(await renew(7, 'b-1')).toBe(0);
    expect(await renew(1, 'b-1')).toBe(1);
    const release = (token: number, holder: string) => run(scripts.releaseLease, { keys: [keys.leaderLease], arguments: [leaseValue(token, holder)] });
    expect(await release(1, 'b-2')).toBe(0);
    expect(await release(1, 'b-1')).toBe(1);
    // The next holder gets a newer token; a floor (a token servers already obey) lifts it further.
    expect(await acquire('b-2')).toBe(2);
    await release(2, 'b-2');
    expect(await acquire('b-3', 40)).toBe(41);
    expect(await renew(2, 'b-2')).toBe(0);
  });

  it('lets one balancer claim a server whose owner it saw, never a second one', async () => {
    const keys = redisKeys(uniquePrefix('claim'));
    const claim = (expected: string, owner: string) => run(scripts.claimServer, { keys: [keys.server('s1')], arguments: [expected, owner] });
    expect(await claim('', 'b-1')).toBe(0); // no hash: nothing to claim
    await link.commands.hSet(keys.server('s1'), { id: 's1', owner: 'b-dead' });
    expect(await claim('b-dead', 'b-1')).toBe(1);
    expect(await claim('b-dead', 'b-2')).toBe(0);
    expect(await link.commands.hGet(keys.server('s1'), 'owner')).toBe('b-1');
  });
});

describe('the layout on a Cluster', () => {
  it('puts every key of a room, of a user and of a server in one slot', async () => {
    const client = createClient({ url: `redis://127.0.0.1:${cluster.nodes[0]!.port}` });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const keys: RedisKeys = redisKeys('fleet:');
      const slot = async (name: string) => Number(await client.sendCommand(['CLUSTER', 'KEYSLOT', name]));
      const same = async (names: string[]) => new Set(await Promise.all(names.map(slot))).size;
      expect(await same([keys.history('lobby'), keys.presence('lobby'), keys.room('lobby')])).toBe(1);
      expect(await same([keys.online('amy'), keys.directs('amy'), keys.directsOffline('amy'), keys.user('amy')])).toBe(1);
      expect(await same([keys.server('s1'), keys.serverRooms('s1'), keys.serverUsers('s1'), keys.serverCommands('s1')])).toBe(1);
      expect(await same([keys.balancer('b-1'), keys.balancerCommands('b-1')])).toBe(1);
      expect(await same([keys.leaderLease, keys.leaderToken, keys.balancers])).toBe(1);
    } finally {
      await client.close();
    }
  });
});
