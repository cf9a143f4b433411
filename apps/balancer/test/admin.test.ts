// Admin routes against real chat servers: bearer token, spawning up to FLEET_MAX, draining, redistributing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient, alive, http, startFixture, waitFor, waitReady, type Fixture } from './support.js';

const ADMIN_TOKEN = 'admin-token-for-tests';

describe('admin routes', () => {
  let f: Fixture;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    f = await startFixture('admin', { FLEET_MIN: '1', FLEET_MAX: '2', ADMIN_TOKEN, SCALE_DOWN_AFTER_MS: '600000' });
    await waitReady(f.balancer.url, 1);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await f?.stop();
  });

  it.each([
    { method: 'POST', path: '/servers' },
    { method: 'DELETE', path: '/servers/srv-000000' },
    { method: 'POST', path: '/servers/srv-000000/redistribute' },
  ])('answers 401 unauthorized to $method $path without the bearer token', async ({ method, path }) => {
    const res = await http(f.balancer.url, path, { method, body: { count: 1 } });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('unauthorized');
    const wrong = await http(f.balancer.url, path, { method, body: { count: 1 }, token: 'wrong' });
    expect(wrong.status).toBe(401);
  });

  it('answers 409 no_target when asked to redistribute with no other ready server', async () => {
    const [only] = await waitReady(f.balancer.url, 1);
    const res = await http(f.balancer.url, `/servers/${only!.id}/redistribute`, { method: 'POST', body: { count: 1 }, token: ADMIN_TOKEN });
    expect(res.status).toBe(409);
    expect(res.body.error).toBe('no_target');
  });

  it('spawns a server with POST /servers and refuses one more at FLEET_MAX', async () => {
    const res = await http(f.balancer.url, '/servers', { method: 'POST', token: ADMIN_TOKEN });
    expect(res.status).toBe(201);
    expect(res.body.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/$/);
    const listed = (await http(f.balancer.url, '/servers')).body as any[];
    expect(listed.find((s) => s.id === res.body.id)?.status).toBe('ready');
    const full = await http(f.balancer.url, '/servers', { method: 'POST', token: ADMIN_TOKEN });
    expect(full.status).toBe(409);
    expect(full.body.error).toBe('fleet_full');
  });

  it.each([
    { body: {}, why: 'empty' },
    { body: { count: 0 }, why: 'count 0' },
    { body: { fraction: 1.5 }, why: 'fraction over 1' },
    { body: { count: 1, fraction: 0.5 }, why: 'both' },
  ])('answers 400 to a redistribute body that is $why', async ({ body }) => {
    const [server] = await waitReady(f.balancer.url, 1);
    const res = await http(f.balancer.url, `/servers/${server!.id}/redistribute`, { method: 'POST', body, token: ADMIN_TOKEN });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('bad_request');
  });

  it('answers 400 to a malformed JSON body', async () => {
    const [server] = await waitReady(f.balancer.url, 1);
    const res = await http(f.balancer.url, `/servers/${server!.id}/redistribute`, { method: 'POST', rawBody: '{"count":', token: ADMIN_TOKEN });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'bad_request', message: 'request body is not valid JSON' });
  });

  it('moves clients with POST /servers/:id/redistribute to the other ready server', async () => {
    const [a, b] = await waitReady(f.balancer.url, 2);
    for (let i = 0; i < 4; i++) clients.push(await TestClient.connectTo(a!.url, `mover-${i}`));
    const movers = clients.slice(-4);
    await waitFor('the clients to show in the metrics', async () => {
      const listed = (await http(f.balancer.url, '/servers')).body as any[];
      return listed.find((s) => s.id === a!.id)?.clients === 4;
    });
    const res = await http(f.balancer.url, `/servers/${a!.id}/redistribute`, { method: 'POST', body: { fraction: 0.5 }, token: ADMIN_TOKEN });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id: a!.id, n: 2, target: b!.id });
    const moved = await waitFor('two redistribute frames', () => {
      const frames = movers.flatMap((c) => c.frames.filter((fr) => fr.type === 'redistribute'));
      return frames.length === 2 ? frames : undefined;
    });
    for (const frame of moved) expect(frame.payload.redirect.startsWith(`${b!.url}?token=`)).toBe(true);
    const events = (await http(f.balancer.url, '/stats')).body.events as any[];
    expect(events.some((e) => e.kind === 'redistribute' && e.serverId === a!.id)).toBe(true);
  });

  it('answers 404 unknown_server and 400 for a bad id', async () => {
    const unknown = await http(f.balancer.url, '/servers/srv-ffffff', { method: 'DELETE', token: ADMIN_TOKEN });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe('unknown_server');
    const bad = await http(f.balancer.url, '/servers/bad$id', { method: 'DELETE', token: ADMIN_TOKEN });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('bad_request');
  });

  it('drains a server with DELETE: its clients are redirected, it goes draining then gone', async () => {
    const [victim, other] = await waitReady(f.balancer.url, 2);
    const client = await TestClient.connectTo(victim!.url, 'drained-user');
    clients.push(client);
    const res = await http(f.balancer.url, `/servers/${victim!.id}`, { method: 'DELETE', token: ADMIN_TOKEN });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ id: victim!.id, status: 'draining' });
    const listed = (await http(f.balancer.url, '/servers')).body as any[];
    expect(listed.find((s) => s.id === victim!.id)?.status).toBe('draining');
    const frame = await waitFor('a redistribute frame', () => client.frames.find((fr) => fr.type === 'redistribute'));
    expect(frame.payload.redirect.startsWith(`${other!.url}?token=`)).toBe(true);
    await waitFor('the drained server to be gone', async () => {
      const now = (await http(f.balancer.url, '/servers')).body as any[];
      return now.find((s) => s.id === victim!.id)?.status === 'gone';
    });
    expect(alive(victim!.pid)).toBe(false);
    const kinds = ((await http(f.balancer.url, '/stats')).body.events as any[]).filter((e) => e.serverId === victim!.id).map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['drain', 'exit']));
    expect(kinds).not.toContain('crash');
  });
});
