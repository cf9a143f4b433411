// Two servers drained at once under load: no client is sent to a server that is itself going away, and nothing is lost.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { report, runCli } from '../../../harness/test/support.js';
import { http, startFixture, TestClient, waitFor, waitReady, type Fixture } from './support.js';
import { BALANCER_MAIN } from './ha-support.js';

const built = existsSync(BALANCER_MAIN);

describe.skipIf(!built)('two drains at once', () => {
  let f: Fixture;

  beforeAll(async () => {
    f = await startFixture('drain-pair', { FLEET_MIN: '3', FLEET_MAX: '5', DRAIN_TIMEOUT_MS: '3000', REDIRECT_GRACE_MS: '1000' });
  }, 30_000);

  afterAll(async () => {
    await f?.stop();
  }, 30_000);

  it('redirects the clients of both to the server that stays, never to each other', async () => {
    const ready = await waitReady(f.balancer.url, 3);
    const [a, b, c] = ready.sort((x, y) => x.id.localeCompare(y.id)) as [(typeof ready)[0], (typeof ready)[0], (typeof ready)[0]];
    // Watchers of our own on the two servers that go: they record where they are sent.
    const watchers = await Promise.all(
      [a, b].flatMap((s) => Array.from({ length: 10 }, (_, i) => TestClient.connectTo(s.url, `w-${s.id}-${i}`))),
    );
    let drained = false;
    const run = await runCli(
      ['--url', f.balancer.url, '--users', '150', '--rooms', '3', '--interval', '300-600', '--stagger', '5', '--reconnect-delay', '100',
        '--settle', '15', '--room-prefix', 'pair-', '--json', '--duration', '8'],
      async (stderr) => {
        await waitFor('all users connected and sending', () => /users 150\/150 connected \| [1-9]/.test(stderr()), 20_000, 20);
        const [da, db] = await Promise.all([
          http(f.balancer.url, `/servers/${a.id}`, { method: 'DELETE' }),
          http(f.balancer.url, `/servers/${b.id}`, { method: 'DELETE' }),
        ]);
        expect([da.status, db.status]).toEqual([202, 202]);
        drained = true;
        await waitFor('every watcher redirected', () => watchers.every((w) => w.frames.some((fr) => fr.type === 'redistribute')), 10_000, 20);
      },
    );
    expect(run.duringError).toBeUndefined();
    expect(drained).toBe(true);
    const targets = watchers.map((w) => String(w.frames.find((fr) => fr.type === 'redistribute')?.payload.redirect ?? ''));
    for (const target of targets) {
      expect(target.startsWith(c.url)).toBe(true);
      expect(target.startsWith(a.url) || target.startsWith(b.url)).toBe(false);
    }
    for (const w of watchers) w.close();
    const r = report(run);
    expect(run.code, run.stderr.slice(-2000)).toBe(0);
    expect(r.redirects).toBeGreaterThan(0);
    expect(r.lost).toBe(0);
    expect(r.duplicated).toBe(0);
    // Both drained servers went (gone, or already out of the list after GONE_RETENTION_MS).
    await waitFor('both drained servers gone', async () => {
      const list = (await http(f.balancer.url, '/servers')).body as Array<{ id: string; status: string }>;
      return [a.id, b.id].every((id) => (list.find((s) => s.id === id)?.status ?? 'gone') === 'gone');
    }, 15_000);
  }, 60_000);
});
