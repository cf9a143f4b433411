// Provisioning against real chat servers: least-loaded choice, room affinity, drained servers, user signatures.
import { userSignature } from '@chatfleet/protocol/tickets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient, http, startFixture, waitFor, waitReady, type Fixture } from './support.js';

describe('provision with two chat servers', () => {
  let f: Fixture;
  const clients: TestClient[] = [];
  let chatter: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    f = await startFixture('provision', { FLEET_MIN: '2', FLEET_MAX: '2' });
    await waitReady(f.balancer.url, 2);
  });

  afterAll(async () => {
    clearInterval(chatter);
    for (const c of clients) c.close();
    await f?.stop();
  });

  it('spreads a burst of provisions over equally idle servers instead of sending all to one', async () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 10; i++) {
      const res = await http(f.balancer.url, '/servers/provision');
      counts.set(res.body.id, (counts.get(res.body.id) ?? 0) + 1);
    }
    // Metrics arrive once a second; the clients provisioned meanwhile count as on their way.
    // A metrics read in the middle of the burst may tip one provision, hence the margin.
    expect(counts.size).toBe(2);
    const [a = 0, b = 0] = [...counts.values()];
    expect(Math.abs(a - b)).toBeLessThanOrEqual(2);
  });

  it('keeps a burst of new members of one room together, before any metrics show the room', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 6; i++) ids.add((await http(f.balancer.url, `/servers/provision?room=burst-room&user=b${i}`)).body.id);
    expect(ids.size).toBe(1);
  });

  it('answers a complete websocket URL carrying a ticket for a fresh anonymous user', async () => {
    const res = await http(f.balancer.url, '/servers/provision');
    expect(res.status).toBe(200);
    expect(res.body.url).toBe(`${(await http(f.balancer.url, '/servers')).body.find((s: any) => s.id === res.body.id).url}?token=${res.body.token}`);
    expect(res.body.expiresAt).toBeGreaterThan(Date.now());
    const client = await TestClient.connect(res.body.url);
    clients.push(client);
    const welcome = client.frames.find((frame) => frame.type === 'welcome');
    expect(welcome?.payload.userId).toMatch(/^anon-[0-9a-f]{10}$/);
    client.close();
  });

  it('sends a second member of a room to the server already hosting it', async () => {
    const first = await http(f.balancer.url, '/servers/provision?room=affinity-room&user=alice');
    const alice = await TestClient.connect(first.body.url);
    clients.push(alice);
    await alice.register('affinity-room');
    await waitFor('the room to show on its server', async () => {
      const servers = (await http(f.balancer.url, '/servers')).body as any[];
      return servers.find((s) => s.id === first.body.id)?.rooms.includes('affinity-room');
    });
    // Without the room, the other (emptier) server wins: the affinity is what keeps bob with alice.
    const withoutRoom = await http(f.balancer.url, '/servers/provision?user=bob');
    expect(withoutRoom.body.id).not.toBe(first.body.id);
    for (const user of ['bob', 'carol', 'dave']) {
      const res = await http(f.balancer.url, `/servers/provision?room=affinity-room&user=${user}`);
      expect(res.body.id).toBe(first.body.id);
    }
  });

  it('picks the least-loaded server when one is driven hot', async () => {
    const servers = (await http(f.balancer.url, '/servers')).body as any[];
    const hot = servers[0];
    const other = servers[1];
    // Ten members in one room on the hot server, each chatting: ~100 messages/s fanned out to 10 sockets.
    for (let i = 0; i < 10; i++) {
      const c = await TestClient.connectTo(hot.url, `hot-${i}`);
      await c.register('hot-room');
      clients.push(c);
    }
    const chatting = clients.slice(-10);
    chatter = setInterval(() => {
      for (const c of chatting) c.send('chat', { chatId: 'hot-room', message: 'load' });
    }, 100);
    await waitFor('the hot server to report writes for 3 s', async () => {
      const stats = (await http(f.balancer.url, '/stats')).body;
      const history: number[] = stats.servers.find((s: any) => s.id === hot.id).history.socketWrites;
      return history.length >= 3 && history.slice(-3).every((v) => v > 100);
    });
    for (let i = 0; i < 5; i++) {
      const res = await http(f.balancer.url, `/servers/provision?user=cool-${i}`);
      expect(res.body.id).toBe(other.id);
    }
    const room = (await http(f.balancer.url, '/stats')).body.rooms['hot-room'];
    expect(room.clients.at(-1)).toBe(10);
    expect(room.messages.at(-1)).toBeGreaterThan(0);
    expect(room.socketWrites.at(-1)).toBeGreaterThan(0);
    clearInterval(chatter);
  });

  it('never provisions a draining server', async () => {
    const servers = (await http(f.balancer.url, '/servers')).body as any[];
    const victim = servers.find((s) => s.status === 'ready');
    const res = await http(f.balancer.url, `/servers/${victim.id}`, { method: 'DELETE' });
    expect(res.status).toBe(202);
    for (let i = 0; i < 10; i++) {
      const p = await http(f.balancer.url, `/servers/provision?room=affinity-room&user=u${i}`);
      if (p.status === 200) expect(p.body.id).not.toBe(victim.id);
      else expect(p.body.error).toBe('no_ready_server');
    }
  });
});

describe('provision checks', () => {
  let f: Fixture;
  const userSecret = 'user-secret-for-tests';

  beforeAll(async () => {
    f = await startFixture('provision-checks', { USER_SECRET: userSecret });
    await waitReady(f.balancer.url, 1);
  });
  afterAll(async () => {
    await f?.stop();
  });

  it.each([
    { query: 'room=bad%20room', field: 'room' },
    { query: 'user=' + 'x'.repeat(65), field: 'user' },
    { query: 'user=a&sig=nothex', field: 'sig' },
    { query: 'room=a&room=b', field: 'room' },
  ])('answers 400 bad_request naming $field for ?$query', async ({ query, field }) => {
    const res = await http(f.balancer.url, `/servers/provision?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('bad_request');
    expect(res.body.message).toContain(field);
  });

  it('answers a provision with JSON, no-store and CORS for any origin (the fast path answers as the route did)', async () => {
    const res = await fetch(`${f.balancer.url}/servers/provision?room=lobby`, { headers: { origin: 'https://page.example' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const body = (await res.json()) as { id: string; url: string; token: string; expiresAt: number };
    expect(Object.keys(body).sort()).toEqual(['expiresAt', 'id', 'token', 'url']);
    expect(body.url).toContain(`token=${encodeURIComponent(body.token)}`);
    // A HEAD and a trailing slash still go to the route.
    expect((await fetch(`${f.balancer.url}/servers/provision`, { method: 'HEAD' })).status).toBe(200);
    expect((await fetch(`${f.balancer.url}/servers/provisions`)).status).toBe(404);
  });

  it('refuses a named user without a valid sig when USER_SECRET is set', async () => {
    const missing = await http(f.balancer.url, '/servers/provision?user=alice');
    expect(missing.status).toBe(403);
    expect(missing.body.error).toBe('forbidden');
    const wrong = await http(f.balancer.url, `/servers/provision?user=alice&sig=${userSignature(userSecret, 'mallory')}`);
    expect(wrong.status).toBe(403);
  });

  it('accepts a named user with a valid sig, and the ticket names that user', async () => {
    const res = await http(f.balancer.url, `/servers/provision?user=alice&sig=${userSignature(userSecret, 'alice')}`);
    expect(res.status).toBe(200);
    const client = await TestClient.connect(res.body.url);
    expect(client.frames.find((frame) => frame.type === 'welcome')?.payload.userId).toBe('alice');
    client.close();
  });

  it('still gives anonymous users a ticket without a sig', async () => {
    const res = await http(f.balancer.url, '/servers/provision?room=lobby');
    expect(res.status).toBe(200);
  });
});
