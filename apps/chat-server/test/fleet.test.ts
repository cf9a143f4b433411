// The server in its fleet: metrics in Redis, commands over Redis, draining, key removal, and the real process on SIGTERM.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'redis';
import {
  childMessageSchema,
  onlineDeltaArgs,
  ONLINE_DELTA_SCRIPT,
  presenceDeltaArgs,
  PRESENCE_DELTA_SCRIPT,
  redisKeys,
  removeServerArgs,
  REMOVE_SERVER_SCRIPT,
  type ChildMessage,
} from '@chatfleet/protocol';
import { mintTicket, verifyTicket } from '@chatfleet/protocol/tickets';
import { startTestRedis, uniquePrefix, type TestRedis } from '../../../test/support/redis-server.js';
import { SECRET, startServer, TestClient, upgradeStatus, waitUntil } from './support.js';

let redis: TestRedis;
let admin: ReturnType<typeof createClient>;

beforeAll(async () => {
  redis = await startTestRedis();
  admin = createClient({ url: redis.url });
  admin.on('error', () => undefined);
  await admin.connect();
});

afterAll(async () => {
  await admin?.close();
  await redis?.stop();
});

/** Every key of this prefix that names `serverId`, plus its members of the servers:* sets. */
async function traces(prefix: string, serverId: string): Promise<string[]> {
  const keys = redisKeys(prefix);
  const found = (await admin.keys(`${prefix}server:${serverId}*`)).map((k) => `key ${k}`);
  for (const set of [keys.serversClients, keys.serversCumulativeSocketWrites, keys.serversEventLoop, keys.serversFanout]) {
    if ((await admin.zScore(set, serverId)) !== null) found.push(`member of ${set}`);
  }
  return found;
}

describe('metrics and stop', () => {
  it('writes its hash, sorted-set scores and room shares, and stop() removes all of them', async () => {
    const prefix = uniquePrefix('chat-metrics');
    const keys = redisKeys(prefix);
    const server = await startServer({ redisUrl: redis.url, redisPrefix: prefix, serverId: 'srv-metrics', metricsIntervalMs: 50 });
    const a = await TestClient.connect(server.url, 'amy');
    const b = await TestClient.connect(server.url, 'ben');
    await a.register('metrics-room');
    await b.register('metrics-room');
    a.send('chat', { message: 'counted' });
    await b.next('chat');

    // A write after both joined the room: the rooms hash and the server hash go in one MULTI.
    await waitUntil(async () => (await admin.hGet(keys.serverRooms('srv-metrics'), 'metrics-room')) === '2', 'the room share');
    const hash = await admin.hGetAll(keys.server('srv-metrics'));
    expect(hash['clients']).toBe('2');
    expect(hash).toMatchObject({ id: 'srv-metrics', url: server.url, status: 'ready', managed: '0', pid: String(process.pid) });
    expect(Date.now() - Number(hash['heartbeat'])).toBeLessThan(2000);
    expect(Number(hash['rssBytes'])).toBeGreaterThan(0);
    expect(await admin.zScore(keys.serversClients, 'srv-metrics')).toBe(2);
    await waitUntil(async () => ((await admin.zScore(keys.serversCumulativeSocketWrites, 'srv-metrics')) ?? 0) >= 6, 'socket writes');
    expect(await admin.zScore(keys.serversEventLoop, 'srv-metrics')).not.toBeNull();
    expect(await admin.zScore(keys.serversFanout, 'srv-metrics')).not.toBeNull();
    expect(await admin.hGetAll(keys.serverRooms('srv-metrics'))).toEqual({ 'metrics-room': '2' });
    expect(await admin.zScore(keys.roomsClients, 'metrics-room')).toBe(2);
    await waitUntil(async () => (await admin.zScore(keys.roomsCumulativeSocketWrites, 'metrics-room')) === 2, 'room writes');
    expect(await admin.zScore(keys.roomsCumulativeMessages, 'metrics-room')).toBe(1);
    expect((await admin.hKeys(keys.presence('metrics-room'))).sort()).toEqual(['amy', 'ben']);

    // A member leaving moves the room count by its delta.
    b.send('leave', { chatId: 'metrics-room' });
    await waitUntil(async () => (await admin.zScore(keys.roomsClients, 'metrics-room')) === 1, 'room count 1');

    await server.stop();
    expect(await a.closed).toBe(1001);
    expect(await traces(prefix, 'srv-metrics')).toEqual([]);
    expect(await admin.zScore(keys.roomsClients, 'metrics-room')).toBeNull();
    expect(await admin.exists(keys.presence('metrics-room'))).toBe(0);
    expect(await admin.exists(keys.usersOnline)).toBe(0);
    await server.stop(); // idempotent
  });
});

describe('start-up', () => {
  it('fails within the deadline when Redis cannot be reached', async () => {
    const started = Date.now();
    await expect(
      startServer({ redisUrl: 'redis://127.0.0.1:1', redisConnectTimeoutMs: 300, serverId: 'srv-noredis' }),
    ).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe('draining', () => {
  it('answers new upgrades with 503 while it waits for clients to leave, then gives up at DRAIN_TIMEOUT_MS', async () => {
    const server = await startServer({ redisUrl: redis.url, redisPrefix: uniquePrefix('chat-503'), serverId: 'srv-503', drainTimeoutMs: 800 });
    const stuck = await TestClient.connect(server.url, 'stuck');
    stuck.ws.pause(); // never reads its close frame, so the server has to wait
    const started = Date.now();
    const stopping = server.stop();
    const token = mintTicket(SECRET, 'late', Date.now() + 60_000);
    expect(await upgradeStatus(`${server.url}?token=${token}`)).toBe(503);
    await stopping;
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
    stuck.close();
  });
});

describe('commands over Redis', () => {
  it('moves n clients with a redirect whose token verifies for their user, then closes them with 1001', async () => {
    const prefix = uniquePrefix('chat-redis');
    const keys = redisKeys(prefix);
    const server = await startServer({ redisUrl: redis.url, redisPrefix: prefix, serverId: 'srv-hot', redirectGraceMs: 200 });
    try {
      const users = ['u1', 'u2', 'u3', 'u4', 'u5'];
      const clients = await Promise.all(users.map((u) => TestClient.connect(server.url, u)));
      const target = 'ws://127.0.0.1:4999/';
      await admin.publish(keys.serverCommands('srv-hot'), JSON.stringify({ type: 'redistribute', n: 3, redirect: target, reason: 'hot' }));
      await waitUntil(() => clients.filter((c) => c.all('redistribute').length > 0).length === 3, 'three redirects');
      await new Promise((resolve) => setTimeout(resolve, 100));
      const moved = clients.filter((c) => c.all('redistribute').length > 0);
      expect(moved).toHaveLength(3);
      for (const client of moved) {
        const frame = client.all('redistribute')[0]!;
        expect(frame.reason).toBe('hot');
        const url = new URL(frame.redirect);
        expect(`${url.protocol}//${url.host}/`).toBe(target);
        const check = verifyTicket(SECRET, url.searchParams.get('token'), Date.now());
        const user = users[clients.indexOf(client)];
        expect(check).toMatchObject({ ok: true, ticket: { userId: user } });
        expect(await client.closed).toBe(1001);
      }
      for (const client of clients.filter((c) => !moved.includes(c))) expect(client.closeCode).toBeUndefined();
      for (const client of clients) client.close();
    } finally {
      await server.stop();
    }
  });

  it('drains on a drain command: clients go to a ready peer, then the server stops and removes its keys', async () => {
    const prefix = uniquePrefix('chat-drain');
    const keys = redisKeys(prefix);
    const peer = await startServer({ redisUrl: redis.url, redisPrefix: prefix, serverId: 'srv-peer' });
    const draining = await startServer({ redisUrl: redis.url, redisPrefix: prefix, serverId: 'srv-leaving' });
    try {
      const clients = await Promise.all(['d1', 'd2'].map((u) => TestClient.connect(draining.url, u)));
      await admin.publish(keys.serverCommands('srv-leaving'), JSON.stringify({ type: 'drain' }));
      for (const client of clients) {
        expect(await client.closed).toBe(1001);
        const redirect = client.all('redistribute')[0]?.redirect ?? '';
        expect(redirect.startsWith(peer.url)).toBe(true);
        const moved = await TestClient.open(redirect);
        moved.close();
      }
      await waitUntil(async () => (await traces(prefix, 'srv-leaving')).length === 0, 'keys of the drained server gone');
    } finally {
      await draining.stop();
      await peer.stop();
    }
  });
});

describe('REMOVE_SERVER_SCRIPT', () => {
  it("undoes exactly one server's share of room counts, presence and users online", async () => {
    const prefix = uniquePrefix('chat-remove');
    const keys = redisKeys(prefix);
    const run = (script: string, args: { keys: string[]; arguments: string[] }) => admin.eval(script, args);
    // srv-a: zed in r1 twice and r2; srv-b: zed and yan in r1.
    for (const [server, room, user] of [
      ['srv-a', 'r1', 'zed'],
      ['srv-a', 'r1', 'zed'],
      ['srv-a', 'r2', 'zed'],
      ['srv-b', 'r1', 'zed'],
      ['srv-b', 'r1', 'yan'],
    ] as const) {
      await run(PRESENCE_DELTA_SCRIPT, presenceDeltaArgs(keys, server, room, user, 1));
      await run(ONLINE_DELTA_SCRIPT, onlineDeltaArgs(keys, server, user, 1));
    }
    await run(ONLINE_DELTA_SCRIPT, onlineDeltaArgs(keys, 'srv-a', 'xia', 1));
    await admin.hSet(keys.serverRooms('srv-a'), { r1: '2', r2: '1' });
    await admin.hSet(keys.serverRooms('srv-b'), { r1: '2' });
    await admin.zAdd(keys.roomsClients, [
      { score: 4, value: 'r1' },
      { score: 1, value: 'r2' },
    ]);
    await admin.hSet(keys.server('srv-a'), { id: 'srv-a' });
    await admin.zAdd(keys.serversClients, { score: 4, value: 'srv-a' });

    const offline = (await run(REMOVE_SERVER_SCRIPT, removeServerArgs(keys, 'srv-a'))) as string[];
    expect(offline).toEqual(['xia']);
    expect(await admin.zRangeWithScores(keys.roomsClients, 0, -1)).toEqual([{ value: 'r1', score: 2 }]);
    expect(await admin.hGetAll(keys.presence('r1'))).toEqual({ zed: '1', yan: '1' });
    expect(await admin.exists(keys.presence('r2'))).toBe(0);
    // zed was counted online once per row above: three times on srv-a, once on srv-b.
    expect(await admin.hGetAll(keys.usersOnline)).toEqual({ zed: '1', yan: '1' });
    expect(await traces(prefix, 'srv-a')).toEqual([]);
    expect(await admin.hGetAll(keys.serverRooms('srv-b'))).toEqual({ r1: '2' });
  });
});

describe('the real process', () => {
  it('on SIGTERM tells clients to go, closes them with 1001, exits 0 and leaves no keys', async () => {
    const prefix = uniquePrefix('chat-proc');
    const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
    const started = Date.now();
    const child: ChildProcess = fork(main, [], {
      env: {
        ...process.env,
        REDIS_URL: redis.url,
        REDIS_PREFIX: prefix,
        AUTH_SECRET: SECRET,
        SERVER_ID: 'srv-proc',
        PORT: '0',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const messages: ChildMessage[] = [];
    child.on('message', (m) => messages.push(childMessageSchema.parse(m)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const ready = await waitUntil(() => messages.find((m) => m.type === 'ready'), 'the ready message', 10_000);
      expect(ready).toMatchObject({ id: 'srv-proc', pid: child.pid });
      const spawnToReadyMs = Date.now() - started;
      expect(spawnToReadyMs).toBeLessThan(10_000);
      if (ready.type !== 'ready') throw new Error('unreachable');
      const clients = await Promise.all(['p1', 'p2', 'p3'].map((u) => TestClient.connect(ready.url, u)));
      await clients[0]!.register('proc-room');
      child.kill('SIGTERM');
      for (const client of clients) {
        expect(await client.closed).toBe(1001);
        expect(client.all('redistribute')).toHaveLength(1);
      }
      expect(await exited).toBe(0);
      expect(messages.some((m) => m.type === 'draining')).toBe(true);
      expect(await traces(prefix, 'srv-proc')).toEqual([]);
      expect(await admin.exists(redisKeys(prefix).presence('proc-room'))).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('ignores SIGINT under a balancer and drains and exits 0 when the IPC channel disconnects', async () => {
    const prefix = uniquePrefix('chat-ipc');
    const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
    const child = fork(main, [], {
      env: { ...process.env, REDIS_URL: redis.url, REDIS_PREFIX: prefix, AUTH_SECRET: SECRET, SERVER_ID: 'srv-ipc', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const messages: ChildMessage[] = [];
    child.on('message', (m) => messages.push(childMessageSchema.parse(m)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const ready = await waitUntil(() => messages.find((m) => m.type === 'ready'), 'the ready message', 10_000);
      if (ready.type !== 'ready') throw new Error('unreachable');
      child.kill('SIGINT');
      await new Promise((resolve) => setTimeout(resolve, 200));
      const health = await fetch(`${ready.url.replace('ws://', 'http://')}healthz`);
      expect(health.status).toBe(200);
      child.disconnect();
      expect(await exited).toBe(0);
      expect(await traces(prefix, 'srv-ipc')).toEqual([]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('exits with code 2 and names the variable on a bad setting', async () => {
    const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
    const child = fork(main, [], { env: { ...process.env, RATE_LIMIT: 'lots' }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code).toBe(2);
    expect(stderr).toContain('RATE_LIMIT');
  });
});
