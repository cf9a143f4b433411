// Bad input, authentication, flooding, oversized frames, slow consumers and dead peers: each handled while others are served.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { mintTicket } from '@chatfleet/protocol/tickets';
import { startTestRedis, uniquePrefix, type TestRedis } from '../../../test/support/redis-server.js';
import type { ChatServer } from '../src/chat-server.js';
import { SECRET, startServer, TestClient, upgradeStatus } from './support.js';

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
    } finally {
      await busyServer.stop();
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
});
