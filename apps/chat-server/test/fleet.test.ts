// The server in its fleet: metrics in Redis, commands over Redis, draining, key removal, and the real process on SIGTERM.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  childMessageSchema,
  counterDeltaArgs,
  COUNTER_DELTA_SCRIPT,
  encodeServerFrame,
  onlineDeltaArgs,
  ONLINE_DELTA_SCRIPT,
  presenceField,
  redisKeys,
  type ChildMessage,
} from '@chatfleet/protocol';
import { RedisLink, removeServer } from '@chatfleet/redis';
import { mintTicket, verifyTicket } from '@chatfleet/protocol/tickets';
import { adminClient, startTestRedis, uniquePrefix, type AdminClient, type TestRedis } from '../../../test/support/redis-server.js';
import { SECRET, startServer, TestClient, upgradeStatus, waitUntil } from './support.js';

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

/** Every key of this prefix that names `serverId`, plus its members of the servers:* sets. */
async function traces(prefix: string, serverId: string): Promise<string[]> {
  const keys = redisKeys(prefix);
  const found = (await admin.keys(`${prefix}server:{${serverId}}*`)).map((k) => `key ${k}`);
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

    // The room share rises as members join; the next metrics write carries both clients.
    await waitUntil(async () => (await admin.hGet(keys.serverRooms('srv-metrics'), 'metrics-room')) === '2', 'the room share');
    await waitUntil(async () => (await admin.hGet(keys.server('srv-metrics'), 'clients')) === '2', 'a metrics write with both');
    const hash = await admin.hGetAll(keys.server('srv-metrics'));
    expect(hash).toMatchObject({ id: 'srv-metrics', url: server.url, status: 'ready', managed: '0', pid: String(process.pid) });
    expect(Date.now() - Number(hash['heartbeat'])).toBeLessThan(2000);
    expect(Number(hash['rssBytes'])).toBeGreaterThan(0);
    expect(await admin.zScore(keys.serversClients, 'srv-metrics')).toBe(2);
    await waitUntil(async () => ((await admin.zScore(keys.serversCumulativeSocketWrites, 'srv-metrics')) ?? 0) >= 6, 'socket writes');
    expect(await admin.zScore(keys.serversEventLoop, 'srv-metrics')).not.toBeNull();
    expect(await admin.zScore(keys.serversFanout, 'srv-metrics')).not.toBeNull();
    expect(await admin.hGetAll(keys.serverRooms('srv-metrics'))).toEqual({ 'metrics-room': '2' });
    await waitUntil(async () => (await admin.zScore(keys.roomsCumulativeSocketWrites, 'metrics-room')) === 2, 'room writes');
    expect(await admin.zScore(keys.roomsCumulativeMessages, 'metrics-room')).toBe(1);
    expect((await admin.hKeys(keys.presence('metrics-room'))).sort()).toEqual([
      presenceField('srv-metrics', 'amy'),
      presenceField('srv-metrics', 'ben'),
    ]);
    expect(await admin.hGetAll(keys.online('amy'))).toEqual({ 'srv-metrics': '1' });
    expect(await admin.hGetAll(keys.serverUsers('srv-metrics'))).toEqual({ amy: '1', ben: '1' });
    expect(hash).toMatchObject({ busHealthy: '1', busRepairs: '0' });

    // A member leaving lowers the server's room share at once.
    b.send('leave', { chatId: 'metrics-room' });
    await waitUntil(async () => (await admin.hGet(keys.serverRooms('srv-metrics'), 'metrics-room')) === '1', 'room share 1');
    expect(await admin.hKeys(keys.presence('metrics-room'))).toEqual([presenceField('srv-metrics', 'amy')]);

    await server.stop();
    expect(await a.closed).toBe(1001);
    expect(await traces(prefix, 'srv-metrics')).toEqual([]);
    expect(await admin.exists(keys.presence('metrics-room'))).toBe(0);
    expect(await admin.exists([keys.online('amy'), keys.online('ben')])).toBe(0);
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
  it('ignores a command whose fencing token is older than the newest it obeyed', async () => {
    const prefix = uniquePrefix('chat-fence');
    const keys = redisKeys(prefix);
    const server = await startServer({ redisUrl: redis.url, redisPrefix: prefix, serverId: 'srv-fence', redirectGraceMs: 5000 });
    try {
      const clients = await Promise.all(['f1', 'f2', 'f3', 'f4'].map((u) => TestClient.connect(server.url, u)));
      const moved = () => clients.filter((c) => c.all('redistribute').length > 0).length;
      const send = (token: number | undefined, reason: string) =>
        admin.publish(keys.serverCommands('srv-fence'), JSON.stringify({ type: 'redistribute', n: 1, redirect: 'ws://127.0.0.1:4999/', reason, token }));
      await send(5, 'leader 5');
      await waitUntil(() => moved() === 1, 'the new leader obeyed');
      await waitUntil(async () => (await admin.hGet(keys.server('srv-fence'), 'fence')) === '5', 'the fence in its hash');
      // A stale leader (token 3) speaks after the newer one: ignored.
      await send(3, 'stale leader 3');
      // The same leader again, and a command without a token (an operator's tool): both obeyed, in order.
      await send(5, 'leader 5 again');
      await waitUntil(() => moved() === 2, 'the leader obeyed again');
      await send(undefined, 'operator');
      await waitUntil(() => moved() === 3, 'the tokenless command obeyed');
      const reasons = clients.flatMap((c) => c.all('redistribute').map((r) => r.reason));
      expect(reasons).not.toContain('stale leader 3');
      expect(reasons.sort()).toEqual(['leader 5', 'leader 5 again', 'operator']);
      for (const client of clients) client.close();
    } finally {
      await server.stop();
    }
  });

  it("never writes 'ready' over a 'draining' that a balancer marked in its hash", async () => {
    const prefix = uniquePrefix('chat-mark');
    const keys = redisKeys(prefix);
    const server = await startServer({ redisUrl: redis.url, redisPrefix: prefix, serverId: 'srv-mark', metricsIntervalMs: 50 });
    try {
      await admin.hSet(keys.server('srv-mark'), 'status', 'draining');
      const before = Number(await admin.hGet(keys.server('srv-mark'), 'heartbeat'));
      await waitUntil(async () => Number(await admin.hGet(keys.server('srv-mark'), 'heartbeat')) > before + 100, 'two more metrics writes');
      expect(await admin.hGet(keys.server('srv-mark'), 'status')).toBe('draining');
    } finally {
      await server.stop();
    }
  });
});

describe('removeServer', () => {
  it("undoes exactly one server's share of presence and users online, and says who went offline", async () => {
    const prefix = uniquePrefix('chat-remove');
    const keys = redisKeys(prefix);
    const link = new RedisLink(redis.url);
    link.on('error', () => undefined);
    await link.connect();
    const run = (script: string, args: { keys: string[]; arguments: string[] }) => admin.eval(script, args);
    const statuses: string[] = [];
    const listener = admin.duplicate();
    listener.on('error', () => undefined);
    await listener.connect();
    await listener.subscribe([keys.user('xia'), keys.user('zed')], (message) => statuses.push(message));
    try {
      // srv-a: zed in r1 twice and r2; srv-b: zed and yan in r1; xia online on srv-a only.
      for (const [server, room, user] of [
        ['srv-a', 'r1', 'zed'],
        ['srv-a', 'r1', 'zed'],
        ['srv-a', 'r2', 'zed'],
        ['srv-b', 'r1', 'zed'],
        ['srv-b', 'r1', 'yan'],
      ] as const) {
        await run(COUNTER_DELTA_SCRIPT, counterDeltaArgs(keys.serverRooms(server), room, 1));
        await run(COUNTER_DELTA_SCRIPT, counterDeltaArgs(keys.presence(room), presenceField(server, user), 1));
        await run(COUNTER_DELTA_SCRIPT, counterDeltaArgs(keys.serverUsers(server), user, 1));
        await run(ONLINE_DELTA_SCRIPT, onlineDeltaArgs(keys, server, user, 1, 'PUBLISH'));
      }
      await run(COUNTER_DELTA_SCRIPT, counterDeltaArgs(keys.serverUsers('srv-a'), 'xia', 1));
      await run(ONLINE_DELTA_SCRIPT, onlineDeltaArgs(keys, 'srv-a', 'xia', 1, 'PUBLISH'));
      await admin.hSet(keys.server('srv-a'), { id: 'srv-a' });
      await admin.zAdd(keys.serversClients, { score: 4, value: 'srv-a' });
      statuses.length = 0;

      expect(await removeServer(link, keys, 'srv-a')).toEqual({ rooms: 2, users: 2 });
      expect(await admin.hGetAll(keys.presence('r1'))).toEqual({ [presenceField('srv-b', 'zed')]: '1', [presenceField('srv-b', 'yan')]: '1' });
      expect(await admin.exists(keys.presence('r2'))).toBe(0);
      expect(await admin.hGetAll(keys.online('zed'))).toEqual({ 'srv-b': '1' });
      expect(await admin.exists(keys.online('xia'))).toBe(0);
      await waitUntil(() => statuses.length === 1, 'the offline status of xia');
      expect(statuses).toEqual([encodeServerFrame('status', { userId: 'xia', online: false })]);
      expect(await traces(prefix, 'srv-a')).toEqual([]);
      expect(await admin.hGetAll(keys.serverRooms('srv-b'))).toEqual({ r1: '2' });
      // A second clean-up finds nothing left to do.
      expect(await removeServer(link, keys, 'srv-a')).toEqual({ rooms: 0, users: 0 });
    } finally {
      await listener.close();
      await link.close();
    }
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

  it('outlives its balancer: when the IPC channel closes it keeps serving, logs to a file, and drains after ORPHAN_TIMEOUT_MS with nobody adopting it', async () => {
    const prefix = uniquePrefix('chat-ipc');
    const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
    const serverId = `srv-ipc-${process.pid}`;
    const logFile = join(tmpdir(), `chatfleet-${serverId}.log`);
    rmSync(logFile, { force: true });
    const child = fork(main, [], {
      env: {
        ...process.env,
        REDIS_URL: redis.url,
        REDIS_PREFIX: prefix,
        AUTH_SECRET: SECRET,
        SERVER_ID: serverId,
        BALANCER_ID: 'b-gone',
        // debug: the ignored SIGINT below writes a line while stdout has no reader.
        LOG_LEVEL: 'debug',
        LOG_FORMAT: 'json',
        METRICS_INTERVAL_MS: '200',
        ORPHAN_TIMEOUT_MS: '1500',
      },
      // stdout is a pipe whose reader goes away with the "balancer", as after a kill -9.
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    const messages: ChildMessage[] = [];
    child.on('message', (m) => messages.push(childMessageSchema.parse(m)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const ready = await waitUntil(() => messages.find((m) => m.type === 'ready'), 'the ready message', 10_000);
      if (ready.type !== 'ready') throw new Error('unreachable');
      const client = await TestClient.connect(ready.url, 'o1');
      await client.register('orphan-room');
      // The balancer dies: first the reading end of its stdout goes, and a log line written
      // then (the ignored SIGINT) meets EPIPE; then its end of the IPC channel closes.
      child.stdout?.destroy();
      child.kill('SIGINT');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(child.exitCode).toBeNull();
      child.disconnect();
      const disconnectedAt = Date.now();
      await waitUntil(() => existsSync(logFile) && readFileSync(logFile, 'utf8').includes('balancer disconnected'), 'the log in its file');
      // Still serving: the client's messages go round, and metrics are still written.
      client.send('chat', { message: 'still here' });
      await client.next('chat', (m) => m.message === 'still here');
      const before = Number(await admin.hGet(redisKeys(prefix).server(serverId), 'heartbeat'));
      await waitUntil(async () => Number(await admin.hGet(redisKeys(prefix).server(serverId), 'heartbeat')) > before, 'a newer heartbeat');
      expect(client.closeCode).toBeUndefined();
      // Nobody adopts it: it drains (the client is told to go) and exits 0 after the orphan timeout.
      expect(await client.closed).toBe(1001);
      expect(client.all('redistribute')).toHaveLength(1);
      expect(Date.now() - disconnectedAt).toBeGreaterThanOrEqual(1500);
      expect(await exited).toBe(0);
      expect(await traces(prefix, serverId)).toEqual([]);
      expect(readFileSync(logFile, 'utf8')).toContain('no balancer adopted this server in time');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(logFile, { force: true });
    }
  });

  it('stays while a live balancer owns it, even without the IPC channel', async () => {
    const prefix = uniquePrefix('chat-owned');
    const keys = redisKeys(prefix);
    const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
    const serverId = `srv-owned-${process.pid}`;
    const child = fork(main, [], {
      env: { ...process.env, REDIS_URL: redis.url, REDIS_PREFIX: prefix, AUTH_SECRET: SECRET, SERVER_ID: serverId, BALANCER_ID: 'b-old', LOG_LEVEL: 'warn', METRICS_INTERVAL_MS: '200', ORPHAN_TIMEOUT_MS: '800' },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const messages: ChildMessage[] = [];
    child.on('message', (m) => messages.push(childMessageSchema.parse(m)));
    const beat = setInterval(() => {
      admin.hSet(keys.balancer('b-new'), 'heartbeat', String(Date.now())).catch(() => undefined);
    }, 100);
    try {
      await waitUntil(() => messages.find((m) => m.type === 'ready'), 'the ready message', 10_000);
      // A balancer of its host claims it, as adoption does, and keeps its heartbeat fresh.
      await admin.hSet(keys.server(serverId), 'owner', 'b-new');
      child.disconnect();
      // Three orphan timeouts with a live owner: it must still run (a fixed wait proves nothing happens).
      await new Promise((resolve) => setTimeout(resolve, 2400));
      expect(child.exitCode).toBeNull();
      expect(await admin.hGet(keys.server(serverId), 'status')).toBe('ready');
    } finally {
      clearInterval(beat);
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
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
