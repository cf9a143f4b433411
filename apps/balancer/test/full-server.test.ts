// A chat server at MAX_CONNECTIONS: provisioning skips it while it is full, the balancer spawns another, and its clients stay served.
import { readFileSync } from 'node:fs';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintTicket, withToken } from '@chatfleet/protocol/tickets';
import { upgradeStatus } from '../../chat-server/test/support.js';
import { AUTH_SECRET, http, startFixture, TestClient, waitFor, waitReady, type Fixture } from './support.js';

const CAP = 20;

describe('a full chat server', () => {
  let f: Fixture;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    f = await startFixture('full', { FLEET_MIN: '1', FLEET_MAX: '2', MAX_CONNECTIONS: String(CAP), METRICS_INTERVAL_MS: '250' });
    await waitReady(f.balancer.url, 1);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await f?.stop();
  });

  it('runs its chat servers with one malloc arena (CHAT_SERVER_PROCESS_ENV), as the idle-memory figures assume', async () => {
    const [server] = await waitReady(f.balancer.url, 1);
    const environ = readFileSync(`/proc/${server!.pid}/environ`, 'utf8').split('\0');
    expect(environ).toContain('MALLOC_ARENA_MAX=1');
  });

  it('is never provisioned while full, keeps its clients chatting and its heartbeat fresh, and a spawn takes the next clients', async () => {
    const [first] = await waitReady(f.balancer.url, 1);
    for (let i = 0; i < CAP; i++) {
      const res = await http(f.balancer.url, `/servers/provision?user=u${i}&room=lobby`);
      expect(res.status).toBe(200);
      expect(res.body.id).toBe(first!.id);
      clients.push(await TestClient.connect(res.body.url));
    }
    await Promise.all(clients.map((c) => c.register('lobby')));

    // The 21st websocket straight to it: 503.
    expect(await upgradeStatus(withToken(first!.url, mintTicket(AUTH_SECRET, 'extra', Date.now() + 60_000)))).toBe(503);

    // Once the balancer has read it full (its first provision that does not name it), provisions never
    // name it while it is full: 503 until the spawned server is ready, then the new one. (Within one
    // metrics interval of its filling up, a provision may still name it; that client gets 503 and asks again.)
    const provision = async () => {
      const res = await http(f.balancer.url, `/servers/provision?user=more&room=lobby`);
      return { status: res.status, id: res.body.id as string | undefined, body: res.body };
    };
    await waitFor('the balancer to see it full', async () => (await provision()).id !== first!.id, 10_000, 50);
    const answers: Array<{ status: number; id: string | undefined }> = [];
    const second = await waitFor(
      'a provision on another server',
      async () => {
        const res = await provision();
        answers.push({ status: res.status, id: res.id });
        return res.status === 200 ? res.body : undefined;
      },
      20_000,
      100,
    );
    expect(answers.filter((a) => a.id === first!.id)).toEqual([]);
    expect(second.id).not.toBe(first!.id);
    const events = (await http(f.balancer.url, '/stats')).body.events as Array<{ kind: string; detail: string }>;
    expect(events.some((e) => e.kind === 'spawn' && /full/.test(e.detail))).toBe(true);

    // The first server's clients still chat, and its heartbeat keeps coming.
    const reader = createClient({ url: f.redis.url });
    await reader.connect();
    try {
      const key = f.balancer.keys.server(first!.id);
      const before = Number(await reader.hGet(key, 'heartbeat'));
      clients[0]!.send('chat', { chatId: 'lobby', message: 'still served' });
      await Promise.all(
        clients.map((c) => waitFor('the chat', () => c.frames.some((fr) => fr.type === 'chat' && fr.payload.message === 'still served'), 5000, 20)),
      );
      await waitFor('a fresh heartbeat', async () => Number(await reader.hGet(key, 'heartbeat')) > before, 5000, 50);
      expect(await reader.hGet(key, 'full')).toBe('1');
      const listed = ((await http(f.balancer.url, '/servers')).body as Array<{ id: string; status: string }>).find((s) => s.id === first!.id);
      expect(listed?.status).toBe('ready');
    } finally {
      await reader.close();
    }
  });
});
