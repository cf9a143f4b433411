// A server at MAX_CONNECTIONS: new clients get 503, the ones it holds keep chatting, and its hash says full until one leaves; out of descriptors it keeps serving.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintTicket } from '@chatfleet/protocol/tickets';
import { redisKeys } from '@chatfleet/protocol';
import { startTestRedis, uniquePrefix, type TestRedis } from '../../../test/support/redis-server.js';
import type { ChatServer } from '../src/chat-server.js';
import { SECRET, startServer, TestClient, upgradeStatus, waitUntil } from './support.js';

const CAP = 20;

describe('a server at its connection cap', () => {
  let redis: TestRedis;
  let server: ChatServer;
  let reader: ReturnType<typeof createClient>;
  const prefix = uniquePrefix('chat-cap');
  const keys = redisKeys(prefix);

  beforeAll(async () => {
    redis = await startTestRedis();
    server = await startServer({ redisUrl: redis.url, redisPrefix: prefix, serverId: 'srv-cap', maxConnections: CAP, metricsIntervalMs: 200 });
    reader = createClient({ url: redis.url });
    await reader.connect();
  });
  afterAll(async () => {
    await reader?.close();
    await server?.stop();
    await redis?.stop();
  });

  const hash = () => reader.hGetAll(keys.server('srv-cap'));
  const ticketUrl = (user: string) => `${server.url}?token=${encodeURIComponent(mintTicket(SECRET, user, Date.now() + 60_000))}`;

  it('refuses the client past the cap with 503, keeps serving the others, and says full', async () => {
    const clients = await Promise.all(Array.from({ length: CAP }, (_, i) => TestClient.connect(server.url, `member-${i}`)));
    await Promise.all(clients.map((c) => c.register('full-room')));
    await waitUntil(async () => (await hash()).full === '1', 'the hash to say full');
    expect((await hash()).maxClients).toBe(String(CAP));

    expect(await upgradeStatus(ticketUrl('one-too-many'))).toBe(503);
    const sse = await fetch(`${server.url.replace('ws:', 'http:')}sse?token=${encodeURIComponent(mintTicket(SECRET, 'sse-too', Date.now() + 60_000))}`);
    expect(sse.status).toBe(503);
    await sse.body?.cancel();
    await waitUntil(async () => Number((await hash())['abuse.upgradesRefused.full']) >= 2, 'both refusals counted');

    // The ones it holds keep chatting, and its heartbeat keeps coming.
    const before = Number((await hash()).heartbeat);
    clients[0]!.send('chat', { chatId: 'full-room', message: 'still here', clientId: 'c0' });
    await Promise.all(clients.map((c) => c.next('chat', (m) => m.message === 'still here')));
    await waitUntil(async () => Number((await hash()).heartbeat) > before, 'a fresh heartbeat');
    expect((await hash()).full).toBe('1');

    // One leaves: room again, said at once, and the next client gets in.
    clients.pop()!.close();
    await waitUntil(async () => (await hash()).full === '0', 'the hash to say there is room');
    const late = await TestClient.connect(server.url, 'late');
    await waitUntil(async () => (await hash()).full === '1', 'full again');
    late.close();
    for (const c of clients) c.close();
  });
});

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

/** Tries a websocket; its HTTP status (101 when it opened), or 0 when the connection was cut. */
function attempt(url: string, keep: WebSocket[]): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => {
      keep.push(ws);
      resolve(101);
    });
    ws.on('error', () => resolve(0));
  });
}

describe('a server out of file descriptors', () => {
  let redis: TestRedis;
  let child: ChildProcess | undefined;
  const kept: WebSocket[] = [];

  beforeAll(async () => {
    redis = await startTestRedis();
  });
  afterAll(async () => {
    for (const ws of kept) ws.terminate();
    if (child !== undefined && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child!.once('exit', resolve));
    }
    await redis?.stop();
  });

  it.each([
    // A cap above what 256 files allow: accepts run out of descriptors (EMFILE) before the cap is reached.
    { name: 'keeps serving and writing its heartbeat when accept fails with EMFILE', cap: { MAX_CONNECTIONS: '1000' }, refusal: 0 },
    // The default cap (256 minus the reserve, 224) answers 503 before the descriptors run out.
    { name: 'stops at the default cap under its file limit with 503, never running out of descriptors', cap: {}, refusal: 503 },
  ])('$name', async ({ cap, refusal }) => {
    const prefix = uniquePrefix('chat-emfile');
    for (const ws of kept.splice(0)) ws.terminate();
    if (child !== undefined && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child!.once('exit', resolve));
    }
    child = spawn('/bin/sh', ['-c', 'ulimit -n 256 && exec "$0" "$@"', process.execPath, MAIN], {
      env: { PATH: process.env.PATH, REDIS_URL: redis.url, REDIS_PREFIX: prefix, SERVER_ID: 'srv-emfile', AUTH_SECRET: SECRET, ...cap, METRICS_INTERVAL_MS: '200', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child!.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const m = /"url":"(ws:[^"]+)"/.exec(out);
        if (m !== null) resolve(m[1]!);
      });
      child!.once('exit', (code) => reject(new Error(`chat server exited with ${code}`)));
    });
    const reader = createClient({ url: redis.url });
    await reader.connect();
    try {
      const key = redisKeys(prefix).server('srv-emfile');
      const statuses: number[] = [];
      for (let i = 0; i < 320; i++) statuses.push(await attempt(`${url}?token=${encodeURIComponent(mintTicket(SECRET, `fd-${i}`, Date.now() + 60_000))}`, kept));
      expect(statuses.filter((s) => s === 101).length).toBeGreaterThan(10);
      const refused = statuses.filter((s) => s !== 101);
      expect(refused.length).toBeGreaterThan(0);
      expect(new Set(refused)).toEqual(new Set([refusal]));
      // Still alive, its heartbeat still coming, and it still answers the clients it has.
      const before = Number(await reader.hGet(key, 'heartbeat'));
      await waitUntil(async () => Number(await reader.hGet(key, 'heartbeat')) > before, 'a fresh heartbeat');
      expect(child.exitCode).toBeNull();
      const answered = new Promise<string>((resolve) => kept[0]!.once('message', (data) => resolve(String(data))));
      kept[0]!.send(JSON.stringify({ type: 'register', payload: { chatId: 'fd-room' } }));
      expect(await answered).toMatch(/"type":"(welcome|registered)"/);
    } finally {
      await reader.close();
    }
  });
});
