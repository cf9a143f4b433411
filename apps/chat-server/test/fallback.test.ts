// The SSE + POST fallback on a chat server's port: same ticket, same frames, same rooms, limits, redirects and closes as a websocket.
import { createParser } from 'eventsource-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseServerFrame, type ServerFrame, type ServerFrameType, type ServerPayload } from '@chatfleet/protocol';
import { mintTicket } from '@chatfleet/protocol/tickets';
import { startTestRedis, uniquePrefix, type TestRedis } from '../../../test/support/redis-server.js';
import type { ChatServer } from '../src/chat-server.js';
import { SECRET, startServer, TestClient, waitUntil } from './support.js';

/** A fallback client by hand: reads the event stream with fetch, posts frames, keeps every frame and the close event. */
class SseClient {
  readonly frames: ServerFrame[] = [];
  close: { code: number; reason: string } | undefined;
  ended = false;
  post = '';
  private readonly abort = new AbortController();

  private constructor(readonly base: string) {}

  /** Opens a stream as `user` on the server at `wsUrl` and waits for `welcome`. */
  static async connect(wsUrl: string, user: string, headers: Record<string, string> = {}, sinceDirect?: string): Promise<SseClient> {
    const client = new SseClient(httpBase(wsUrl));
    const status = await client.open(mintTicket(SECRET, user, Date.now() + 60_000), headers, sinceDirect);
    expect(status).toBe(200);
    await client.next('welcome');
    return client;
  }

  /** Starts reading the stream; resolves with the HTTP status. */
  async open(token: string, headers: Record<string, string> = {}, sinceDirect?: string): Promise<number> {
    const resume = sinceDirect === undefined ? '' : `&sinceDirect=${encodeURIComponent(sinceDirect)}`;
    const response = await fetch(`${this.base}/sse?token=${encodeURIComponent(token)}${resume}`, { headers, signal: this.abort.signal });
    if (response.status !== 200 || response.body === null) {
      await response.body?.cancel();
      return response.status;
    }
    const parser = createParser({
      onEvent: (event) => {
        if (event.event === 'session') this.post = (JSON.parse(event.data) as { post: string }).post;
        else if (event.event === 'close') this.close = JSON.parse(event.data) as { code: number; reason: string };
        else this.frames.push(parseServerFrame(event.data));
      },
    });
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    void (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          parser.feed(decoder.decode(value, { stream: true }));
        }
      } catch {
        // aborted by stop()
      }
      this.ended = true;
    })();
    return 200;
  }

  /** POSTs frames, one per line; resolves with the status. */
  async send(...frames: Array<{ type: string; payload: unknown }>): Promise<number> {
    return this.postRaw(frames.map((f) => JSON.stringify(f)).join('\n'));
  }

  async postRaw(body: string, path = this.post): Promise<number> {
    const response = await fetch(`${this.base}${path}`, { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
    await response.body?.cancel();
    return response.status;
  }

  all<T extends ServerFrameType>(type: T): ServerPayload<T>[] {
    return this.frames.filter((f) => f.type === type).map((f) => f.payload as ServerPayload<T>);
  }

  async next<T extends ServerFrameType>(type: T, match: (p: ServerPayload<T>) => boolean = () => true): Promise<ServerPayload<T>> {
    return waitUntil(() => this.all(type).find(match), `a "${type}" frame over the fallback`);
  }

  stop(): void {
    this.abort.abort();
  }
}

function httpBase(wsUrl: string): string {
  const url = new URL(wsUrl);
  return `http://${url.host}`;
}

let redis: TestRedis;
let one: ChatServer;
let two: ChatServer;
let guarded: ChatServer;
const prefix = uniquePrefix('chat-fallback');
const sse: SseClient[] = [];
const ws: TestClient[] = [];

async function sseClient(server: ChatServer, user: string): Promise<SseClient> {
  const client = await SseClient.connect(server.url, user);
  sse.push(client);
  return client;
}

async function wsClient(server: ChatServer, user: string): Promise<TestClient> {
  const client = await TestClient.connect(server.url, user);
  ws.push(client);
  return client;
}

beforeAll(async () => {
  redis = await startTestRedis();
  const common = { redisUrl: redis.url, redisPrefix: prefix, redirectGraceMs: 500, drainTimeoutMs: 1000 };
  one = await startServer({ ...common, serverId: 'srv-fb-one', rateLimit: 5 });
  two = await startServer({ ...common, serverId: 'srv-fb-two', rateLimit: 1000 });
  guarded = await startServer({ ...common, serverId: 'srv-fb-guard', allowedOrigins: ['https://chat.example'], maxPayload: 1024 });
});

afterAll(async () => {
  for (const client of sse) client.stop();
  for (const client of ws) client.close();
  await Promise.all([one?.stop(), two?.stop(), guarded?.stop()]);
  await redis?.stop();
});

describe('fallback transport', () => {
  it('chats with websocket members of the room on another server: acks, echoes, presence, direct and watch', async () => {
    const alice = await sseClient(two, 'fb-alice');
    const bob = await wsClient(one, 'fb-bob');
    expect(alice.all('welcome')[0]).toMatchObject({ serverId: 'srv-fb-two', userId: 'fb-alice' });
    expect(await alice.send({ type: 'register', payload: { chatId: 'fb-lobby' } })).toBe(204);
    await alice.next('registered');
    await bob.register('fb-lobby');

    await alice.send({ type: 'chat', payload: { chatId: 'fb-lobby', message: 'from the fallback', clientId: 'a1' } });
    const ack = await alice.next('ack', (a) => a.clientId === 'a1');
    const got = await bob.next('chat', (m) => m.clientId === 'a1');
    expect(got).toMatchObject({ id: ack.id, from: 'fb-alice', message: 'from the fallback' });
    await alice.next('chat', (m) => m.id === ack.id);

    bob.send('chat', { chatId: 'fb-lobby', message: 'from a websocket', clientId: 'b1' });
    expect(await alice.next('chat', (m) => m.clientId === 'b1')).toMatchObject({ from: 'fb-bob' });

    await alice.send({ type: 'presence', payload: { chatId: 'fb-lobby' } }, { type: 'watch', payload: { users: ['fb-bob', 'fb-nobody'] } });
    expect((await alice.next('presence')).users.sort()).toEqual(['fb-alice', 'fb-bob']);
    await alice.next('status', (s) => s.userId === 'fb-bob' && s.online);
    await alice.next('status', (s) => s.userId === 'fb-nobody' && !s.online);

    bob.send('direct', { to: 'fb-alice', message: 'psst', clientId: 'd1' });
    expect(await alice.next('direct', (d) => d.clientId === 'd1')).toMatchObject({ from: 'fb-bob', to: 'fb-alice', message: 'psst' });
  });

  it('replays what a fallback client missed after since, in order, none twice', async () => {
    const writer = await wsClient(one, 'fb-writer');
    await writer.register('fb-replay');
    for (let i = 0; i < 3; i++) writer.send('chat', { chatId: 'fb-replay', message: `m${i}`, clientId: `w${i}` });
    const acks = await writer.count('ack', 3);
    const reader = await sseClient(two, 'fb-reader');
    await reader.send({ type: 'register', payload: { chatId: 'fb-replay', since: acks[0]!.id } });
    await waitUntil(() => reader.all('chat').length === 2, 'two replayed messages');
    expect(reader.all('chat').map((m) => m.message)).toEqual(['m1', 'm2']);
  });

  it('resumes direct messages after sinceDirect, as a websocket connect URL does', async () => {
    const sender = await wsClient(one, 'fb-sender');
    for (let i = 0; i < 3; i++) sender.send('direct', { to: 'fb-away', message: `d${i}`, clientId: `fd${i}` });
    const acks = await sender.count('ack', 3);
    const first = acks.find((a) => a.clientId === 'fd0')!.id;
    const away = await SseClient.connect(two.url, 'fb-away', {}, first);
    sse.push(away);
    await waitUntil(() => away.all('direct').length >= 2, 'the two directs after sinceDirect');
    expect(away.all('direct').map((d) => d.message)).toEqual(['d1', 'd2']);
  });

  it('refuses a bad ticket with 401, an unknown session with 404, and answers bad frames with error frames', async () => {
    const stranger = new SseClient(httpBase(two.url));
    expect(await stranger.open('not-a-ticket')).toBe(401);
    expect(await stranger.postRaw('{}', '/sse/AAAAAAAAAAAAAAAAAAAAAAAA')).toBe(404);
    const carol = await sseClient(two, 'fb-carol');
    expect(await carol.postRaw('not json')).toBe(204);
    expect((await carol.next('error')).code).toBe('bad_frame');
  });

  it('applies the rate limit per connection and closes a flooder with 1008', async () => {
    const flooder = await sseClient(one, 'fb-flooder');
    const frame = { type: 'presence', payload: { chatId: 'fb-flood' } };
    // RATE_LIMIT 5: a burst of 10, then refusals; more than 10 refusals within 5 s close the connection.
    expect(await flooder.send(...Array.from({ length: 30 }, () => frame))).toBe(204);
    await waitUntil(() => flooder.close, 'the close event');
    expect(flooder.close?.code).toBe(1008);
    expect(flooder.all('error').some((e) => e.code === 'rate_limited')).toBe(true);
    await waitUntil(() => flooder.ended, 'the stream to end');
  });

  it('answers CORS for allowed origins only, and closes with 1009 on a frame over MAX_PAYLOAD', async () => {
    const base = httpBase(guarded.url);
    const token = mintTicket(SECRET, 'fb-origin', Date.now() + 60_000);
    const refused = await fetch(`${base}/sse?token=${token}`, { headers: { origin: 'https://evil.example' } });
    expect(refused.status).toBe(403);
    await refused.body?.cancel();
    const preflight = await fetch(`${base}/sse/x`, { method: 'OPTIONS', headers: { origin: 'https://chat.example' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://chat.example');

    const dave = await SseClient.connect(guarded.url, 'fb-dave', { origin: 'https://chat.example' });
    sse.push(dave);
    expect(await dave.postRaw(JSON.stringify({ type: 'chat', payload: { message: 'x'.repeat(2000) } }))).toBe(413);
    await waitUntil(() => dave.close, 'the close event');
    expect(dave.close?.code).toBe(1009);
  });

  it('sends redistribute and then close 1001 when its server drains', async () => {
    const redis2 = { redisUrl: redis.url, redisPrefix: prefix, redirectGraceMs: 500, drainTimeoutMs: 1000 };
    const leaving = await startServer({ ...redis2, serverId: 'srv-fb-leaving' });
    const erin = await sseClient(leaving, 'fb-erin');
    await leaving.stop('test drain');
    const moved = await erin.next('redistribute');
    expect(typeof moved.redirect).toBe('string');
    await waitUntil(() => erin.close, 'the close event');
    expect(erin.close?.code).toBe(1001);
  });
});
