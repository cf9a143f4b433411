// Bad input, authentication, flooding, oversized frames, slow consumers and dead peers: each handled while others are served.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { mintTicket } from '@chatfleet/protocol/tickets';
import { startTestRedis, uniquePrefix, type TestRedis } from '../../../test/support/redis-server.js';
import type { ChatServer } from '../src/chat-server.js';
import { SECRET, startServer, TestClient, upgradeStatus, waitUntil } from './support.js';

let redis: TestRedis;
let server: ChatServer;
const clients: TestClient[] = [];

async function connect(user: string, url = server.url, options: { autoPong?: boolean } = {}): Promise<TestClient> {
  const client = await TestClient.connect(url, user, options);
  clients.push(client);
  return client;
}

/** A bystander in `room` that must keep getting messages while bad input is handled. */
async function bystanderCheck(bystander: TestClient, sender: TestClient, room: string, tag: string): Promise<void> {
  sender.send('chat', { chatId: room, message: tag });
  await bystander.next('chat', (c) => c.message === tag);
}

beforeAll(async () => {
  redis = await startTestRedis();
  server = await startServer({ redisUrl: redis.url, redisPrefix: uniquePrefix('chat-bad'), rateLimit: 5, serverId: 'srv-bad' });
});

afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

afterAll(async () => {
  await server?.stop();
  await redis?.stop();
});

describe('bad frames are answered with error and the connection stays open', () => {
  const cases: Array<[string, string, string]> = [
    ['not JSON', '{nope', 'bad_frame'],
    ['JSON that is not an object', '[1,2]', 'bad_frame'],
    ['a JSON string', '"register"', 'bad_frame'],
    ['no type', '{"payload":{}}', 'bad_frame'],
    ['an unknown type', '{"type":"shout","payload":{}}', 'unknown_type'],
    ['a missing payload', '{"type":"register"}', 'bad_frame'],
    ['a register without chatId', '{"type":"register","payload":{}}', 'bad_frame'],
    ['a chatId with bad characters', '{"type":"register","payload":{"chatId":"a b"}}', 'bad_frame'],
    ['a malformed since', '{"type":"register","payload":{"chatId":"r","since":"yesterday"}}', 'bad_frame'],
    ['an empty message', '{"type":"chat","payload":{"chatId":"r","message":""}}', 'bad_frame'],
    ['a message that is a number', '{"type":"chat","payload":{"chatId":"r","message":5}}', 'bad_frame'],
    ['a text over 4096 characters', JSON.stringify({ type: 'chat', payload: { message: 'x'.repeat(4097) } }), 'too_large'],
    ['a direct text over 4096 characters', JSON.stringify({ type: 'direct', payload: { to: 'u', message: 'y'.repeat(5000) } }), 'too_large'],
    ['a watch of more than 100 users', JSON.stringify({ type: 'watch', payload: { users: Array.from({ length: 101 }, (_, i) => `u${i}`) } }), 'too_many'],
    ['a chat to a room not joined', '{"type":"chat","payload":{"chatId":"elsewhere","message":"hi"}}', 'not_registered'],
    ['a chat without chatId and no room', '{"type":"chat","payload":{"message":"hi"}}', 'not_registered'],
    ['a leave of a room not joined', '{"type":"leave","payload":{"chatId":"nowhere"}}', 'not_registered'],
  ];

  it.each(cases)('answers %s with its error code', async (_name, text, code) => {
    const bystander = await connect('by');
    const sender = await connect('sender');
    await bystander.register('calm');
    await sender.register('calm');
    const bad = await connect('bad');
    bad.ws.send(text);
    const error = await bad.next('error');
    expect(error.code).toBe(code);
    expect(error.message.length).toBeGreaterThan(0);
    await bystanderCheck(bystander, sender, 'calm', `after ${code}`);
    // The bad client is still served.
    await bad.register('calm');
    expect(bad.ws.readyState).toBe(WebSocket.OPEN);
  });

  const refusedSends: Array<[string, unknown, string]> = [
    ['a chat to a room not joined', { type: 'chat', payload: { chatId: 'elsewhere', message: 'hi', clientId: 'nr-1' } }, 'not_registered'],
    ['a chat without chatId and no room', { type: 'chat', payload: { message: 'hi', clientId: 'nr-2' } }, 'not_registered'],
    ['a chat over 4096 characters', { type: 'chat', payload: { chatId: 'calm', message: 'x'.repeat(4097), clientId: 'tl-1' } }, 'too_large'],
    ['a direct over 4096 characters', { type: 'direct', payload: { to: 'u', message: 'y'.repeat(5000), clientId: 'tl-2' } }, 'too_large'],
    ['a chat with a bad chatId', { type: 'chat', payload: { chatId: 'a b', message: 'hi', clientId: 'bf-1' } }, 'bad_frame'],
    ['a direct without to', { type: 'direct', payload: { message: 'hi', clientId: 'bf-2' } }, 'bad_frame'],
  ];

  it.each(refusedSends)('names the clientId of %s in its error', async (_name, frame, code) => {
    const bad = await connect('refused');
    bad.ws.send(JSON.stringify(frame));
    const error = await bad.next('error');
    expect(error.code).toBe(code);
    expect(error.clientId).toBe((frame as { payload: { clientId: string } }).payload.clientId);
  });

  it('names the clientId of a chat without chatId from a connection in several rooms', async () => {
    const multi = await connect('multi');
    await multi.register('one');
    await multi.register('two');
    multi.send('chat', { message: 'which room?', clientId: 'ambiguous' });
    expect(await multi.next('error')).toMatchObject({ code: 'bad_frame', clientId: 'ambiguous' });
  });

  it('names no clientId when the frame is not a chat or direct, or its clientId is unreadable', async () => {
    const bad = await connect('plain');
    bad.send('leave', { chatId: 'nowhere' });
    bad.send('chat', { message: '', clientId: 'k'.repeat(65) });
    const errors = await bad.count('error', 2);
    expect(errors.map((e) => e.code)).toEqual(['not_registered', 'bad_frame']);
    expect(errors.map((e) => e.clientId)).toEqual([undefined, undefined]);
  });

  it('answers a binary frame with bad_frame', async () => {
    const bad = await connect('bin');
    bad.ws.send(Buffer.from([1, 2, 3]));
    expect((await bad.next('error')).code).toBe('bad_frame');
    expect(bad.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('refuses joining more than 100 rooms with too_many', async () => {
    const busy = await connect('busy');
    // Rate limit is 5/s with a burst of 10 on this server, so use a server without that limit.
    const roomy = await startServer({ redisUrl: redis.url, redisPrefix: uniquePrefix('chat-rooms'), rateLimit: 1000, serverId: 'srv-roomy' });
    try {
      const member = await connect('member', roomy.url);
      for (let i = 0; i < 100; i++) member.send('register', { chatId: `room-${i}` });
      await member.count('registered', 100);
      member.send('register', { chatId: 'room-100' });
      expect((await member.next('error')).code).toBe('too_many');
      // Registering again in a joined room is fine.
      await member.register('room-7');
      member.send('chat', { chatId: 'room-99', message: 'still here' });
      await member.next('chat', (c) => c.message === 'still here');
    } finally {
      await roomy.stop();
    }
    expect(busy.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('closes a frame over MAX_PAYLOAD with 1009', async () => {
    const bystander = await connect('by2');
    const sender = await connect('sender2');
    await bystander.register('calm2');
    await sender.register('calm2');
    const big = await connect('big');
    big.ws.send(JSON.stringify({ type: 'chat', payload: { message: 'z'.repeat(70_000) } }));
    expect(await big.closed).toBe(1009);
    await bystanderCheck(bystander, sender, 'calm2', 'after 1009');
  });

  it('refuses frames past the rate limit with rate_limited and closes a client that keeps going with 1008', async () => {
    const bystander = await connect('by3');
    const sender = await connect('sender3');
    await bystander.register('calm3');
    await sender.register('calm3');
    const flood = await connect('flood');
    // `leave` of a room not joined is answered at once (not_registered), so every answer is visible before the close.
    for (let i = 0; i < 60; i++) flood.ws.send(JSON.stringify({ type: 'leave', payload: { chatId: 'calm3' } }));
    const code = await flood.closed;
    expect(code).toBe(1008);
    const codes = flood.all('error').map((e) => e.code);
    // The burst (2 x RATE_LIMIT) was served, then frames were refused until more than 2 x RATE_LIMIT were refused.
    expect(codes.slice(0, 10)).toEqual(new Array(10).fill('not_registered'));
    expect(codes.slice(10)).toEqual(new Array(11).fill('rate_limited'));
    await bystanderCheck(bystander, sender, 'calm3', 'after flood');
  });
});

describe('authentication', () => {
  it('answers 401 to missing, forged, expired and malformed tickets and opens no socket', async () => {
    const base = server.url;
    expect(await upgradeStatus(base)).toBe(401);
    expect(await upgradeStatus(`${base}?token=`)).toBe(401);
    expect(await upgradeStatus(`${base}?token=${mintTicket('wrong-secret', 'mallory', Date.now() + 60_000)}`)).toBe(401);
    expect(await upgradeStatus(`${base}?token=${mintTicket(SECRET, 'late', Date.now() - 1)}`)).toBe(401);
    expect(await upgradeStatus(`${base}?token=garbage`)).toBe(401);
    expect(await upgradeStatus(`${base}?token=${mintTicket(SECRET, 'ok', Date.now() + 60_000)}`)).toBe(101);
  });

  it('answers 403 to an Origin not in ALLOWED_ORIGINS', async () => {
    const strict = await startServer({
      redisUrl: redis.url,
      redisPrefix: uniquePrefix('chat-origin'),
      serverId: 'srv-origin',
      allowedOrigins: ['https://chat.example'],
    });
    try {
      const url = `${strict.url}?token=${mintTicket(SECRET, 'o', Date.now() + 60_000)}`;
      expect(await upgradeStatus(url, { origin: 'https://evil.example' })).toBe(403);
      expect(await upgradeStatus(url, { origin: 'https://chat.example' })).toBe(101);
    } finally {
      await strict.stop();
    }
  });

  it('answers plain HTTP with 426 and /healthz with 200', async () => {
    const http = server.url.replace('ws://', 'http://');
    expect((await fetch(http)).status).toBe(426);
    const health = await fetch(`${http}healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
  });
});

describe('slow and dead clients', () => {
  it('closes a client that stops reading with 4000 while other members keep receiving', async () => {
    const slowServer = await startServer({
      redisUrl: redis.url,
      redisPrefix: uniquePrefix('chat-slow'),
      serverId: 'srv-slow',
      rateLimit: 100_000,
      slowConsumerBytes: 64 * 1024,
      redirectGraceMs: 20_000,
      // The burst below is far over the default publish queue limit; this test is about the reader.
      publishQueueLimit: 10_000,
    });
    try {
      const slow = await connect('slow', slowServer.url);
      const fast = await connect('fast', slowServer.url);
      const sender = await connect('sender4', slowServer.url);
      for (const c of [slow, fast, sender]) await c.register('firehose');
      slow.ws.pause();
      const text = 'w'.repeat(4000);
      const total = 3000; // ~12 MB: more than the loopback socket buffers can hide
      for (let i = 0; i < total; i++) sender.send('chat', { message: text, clientId: String(i) });
      await fast.next('chat', (c) => c.clientId === String(total - 1), 20_000);
      expect(fast.all('chat').length).toBe(total);
      slow.ws.resume();
      expect(await slow.closed).toBe(4000);
      expect(slow.all('chat').length).toBeLessThan(total);
    } finally {
      await slowServer.stop();
    }
  }, 40_000);

  it('refuses chats with rate_limited while its Redis publish queue is full, and serves the next ones', async () => {
    const busyServer = await startServer({
      redisUrl: redis.url,
      redisPrefix: uniquePrefix('chat-busy'),
      serverId: 'srv-busy',
      rateLimit: 100_000,
      publishQueueLimit: 1,
    });
    try {
      const sender = await connect('busy-sender', busyServer.url);
      await sender.register('busy');
      for (let i = 0; i < 50; i++) sender.send('chat', { message: 'burst', clientId: `b${i}` });
      const refused = await sender.next('error', (e) => e.code === 'rate_limited');
      expect(refused.message).toMatch(/busy/);
      await sender.next('ack', (a) => a.clientId === 'b0');
      sender.send('chat', { message: 'after', clientId: 'after' });
      await sender.next('ack', (a) => a.clientId === 'after');
      expect(sender.all('ack').length + sender.all('error').length).toBe(51);
      // Every refusal names its send, so acks and refusals together account for each clientId exactly once.
      const answered = [...sender.all('ack'), ...sender.all('error')].map((f) => f.clientId ?? '?').sort();
      expect(answered).toEqual([...Array.from({ length: 50 }, (_, i) => `b${i}`), 'after'].sort());
    } finally {
      await busyServer.stop();
    }
  });

  it('refuses chats and directs with unavailable naming their clientId while Redis is down', async () => {
    const doomed = await startTestRedis();
    const lonely = await startServer({
      redisUrl: doomed.url,
      redisPrefix: uniquePrefix('chat-down'),
      serverId: 'srv-down',
      redisConnectTimeoutMs: 300,
      drainTimeoutMs: 500,
    });
    try {
      const sender = await connect('down-sender', lonely.url);
      await sender.register('down');
      await doomed.stop();
      sender.send('chat', { chatId: 'down', message: 'lost', clientId: 'down-chat' });
      sender.send('direct', { to: 'someone', message: 'lost too', clientId: 'down-direct' });
      const errors = await sender.count('error', 2);
      expect(errors.map((e) => [e.code, e.clientId]).sort()).toEqual([
        ['unavailable', 'down-chat'],
        ['unavailable', 'down-direct'],
      ]);
    } finally {
      await lonely.stop();
      await doomed.stop();
    }
  });

  it('terminates a client that does not answer pings', async () => {
    const pingy = await startServer({
      redisUrl: redis.url,
      redisPrefix: uniquePrefix('chat-ping'),
      serverId: 'srv-ping',
      pingIntervalMs: 100,
    });
    try {
      const deaf = await connect('deaf', pingy.url, { autoPong: false });
      const polite = await connect('polite', pingy.url);
      const code = await deaf.closed;
      expect(code).toBe(1006);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(polite.ws.readyState).toBe(WebSocket.OPEN);
    } finally {
      await pingy.stop();
    }
  });

  it('spreads pings over the interval and still cuts a client that never answers within three intervals', async () => {
    const intervalMs = 400;
    const pingy = await startServer({
      redisUrl: redis.url,
      redisPrefix: uniquePrefix('chat-wheel'),
      serverId: 'srv-wheel',
      pingIntervalMs: intervalMs,
    });
    try {
      const polite = await Promise.all(Array.from({ length: 40 }, (_, i) => connect(`polite-${i}`, pingy.url)));
      const pingedAt: number[] = [];
      for (const client of polite) client.ws.once('ping', () => pingedAt.push(Date.now()));
      const deaf = await connect('deaf-late', pingy.url, { autoPong: false });
      const since = Date.now();
      const code = await deaf.closed;
      expect(code).toBe(1006);
      // First pinged in the round after the one it joined in (at most two intervals), cut a round after
      // that ping: three intervals, and one more of slack for a busy machine.
      expect(Date.now() - since).toBeLessThan(4 * intervalMs);
      await waitUntil(() => pingedAt.length === polite.length, 'every polite client pinged');
      // Not in one burst: the pings of one round fall on several ticks.
      expect(new Set(pingedAt).size).toBeGreaterThan(1);
      expect(polite.every((c) => c.ws.readyState === WebSocket.OPEN)).toBe(true);
    } finally {
      await pingy.stop();
    }
  });
});
