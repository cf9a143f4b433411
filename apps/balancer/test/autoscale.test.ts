// The scaling policy against real servers: a hot fleet gets a new server and sheds clients to it; shutdown refuses provisions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient, http, startFixture, waitFor, waitReady, type Fixture } from './support.js';

describe('autoscaling', () => {
  let f: Fixture;
  const clients: TestClient[] = [];
  let chatter: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    f = await startFixture('autoscale', { FLEET_MIN: '1', FLEET_MAX: '2', SPAWN_WRITES_PER_SEC: '200', REBALANCE_COOLDOWN_MS: '60000', SCALE_DOWN_AFTER_MS: '600000' });
    await waitReady(f.balancer.url, 1);
  });
  afterAll(async () => {
    clearInterval(chatter);
    for (const c of clients) c.close();
    await f?.stop();
  });

  it('spawns a server when every ready server is hot and moves REDISTRIBUTE_FRACTION of clients to it', async () => {
    const [hot] = await waitReady(f.balancer.url, 1);
    for (let i = 0; i < 10; i++) {
      const c = await TestClient.connectTo(hot!.url, `busy-${i}`);
      await c.register('busy-room');
      clients.push(c);
    }
    chatter = setInterval(() => {
      for (const c of clients) if (c.closeCode === undefined) c.send('chat', { chatId: 'busy-room', message: 'load' });
    }, 100);
    const added = await waitFor('a second, spawned server', async () =>
      ((await http(f.balancer.url, '/servers')).body as any[]).find((s) => s.id !== hot!.id && s.status === 'ready'),
    20_000);
    const moved = await waitFor('one client told to move', () => clients.find((c) => c.frames.some((fr) => fr.type === 'redistribute')), 10_000);
    const frame = moved.frames.find((fr) => fr.type === 'redistribute')!;
    expect(frame.payload.redirect.startsWith(`${added.url}?token=`)).toBe(true);
    const events = (await http(f.balancer.url, '/stats')).body.events as any[];
    expect(events.find((e) => e.kind === 'spawn' && e.serverId === added.id)?.detail).toContain('hot');
    expect(events.find((e) => e.kind === 'redistribute' && e.serverId === hot!.id)?.detail).toMatch(/^1 clients to /);
    clearInterval(chatter);
  });

  it('answers provisions with 503 shutting_down once stop() began', async () => {
    const stopping = f.balancer.stop();
    const res = await http(f.balancer.url, '/servers/provision');
    expect(res.status).toBe(503);
    expect(res.body.error).toBe('shutting_down');
    await stopping;
  });
});
