// The observability and plumbing routes: /stats, /stats/stream, /metrics, /healthz, /readyz, 404s, the dashboard.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { statsSnapshotSchema } from '@chatfleet/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, startFixture, waitFor, waitReady, type Fixture } from './support.js';

describe('observability routes', () => {
  let f: Fixture;
  const dashboardDir = mkdtempSync(join(tmpdir(), 'chatfleet-dashboard-'));

  beforeAll(async () => {
    writeFileSync(join(dashboardDir, 'index.html'), '<!doctype html><title>chatfleet</title>');
    f = await startFixture('http-api', { DASHBOARD_DIR: dashboardDir });
  });
  afterAll(async () => {
    await f?.stop();
    rmSync(dashboardDir, { recursive: true, force: true });
  });

  it('answers /healthz at once, and /readyz 200 only once a server is ready', async () => {
    expect((await http(f.balancer.url, '/healthz')).body).toEqual({ status: 'ok' });
    await waitReady(f.balancer.url, 1);
    const ready = await http(f.balancer.url, '/readyz');
    expect(ready.status).toBe(200);
  });

  it('serves /stats in the shape of statsSnapshotSchema with per-second histories', async () => {
    await http(f.balancer.url, '/servers/provision');
    const stats = await waitFor('histories', async () => {
      const body = (await http(f.balancer.url, '/stats')).body;
      return body.servers[0]?.history.socketWrites.length >= 2 ? body : undefined;
    });
    const parsed = statsSnapshotSchema.parse(stats);
    expect(parsed.servers[0]?.status).toBe('ready');
    expect(parsed.events.map((e) => e.kind)).toEqual(expect.arrayContaining(['spawn', 'ready']));
    expect(parsed.provisionsPerSec.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1);
    expect(parsed.config).toEqual({ fleetMin: 1, fleetMax: 4, spawnWritesPerSec: 1_000_000 });
  });

  it('streams snapshots as server-sent events', async () => {
    const controller = new AbortController();
    const res = await fetch(`${f.balancer.url}/stats/stream`, { signal: controller.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    while ((text.match(/\n\n/g) ?? []).length < 2) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    const events = text.split('\n\n').filter((chunk) => chunk.startsWith('data: '));
    expect(events.length).toBeGreaterThanOrEqual(2);
    for (const event of events) statsSnapshotSchema.parse(JSON.parse(event.slice('data: '.length)));
  });

  it('exposes Prometheus metrics named chatfleet_', async () => {
    const res = await http<string>(f.balancer.url, '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    for (const name of [
      'chatfleet_fleet_servers{status="ready"} 1',
      'chatfleet_clients',
      'chatfleet_server_socket_writes_per_second{server="',
      'chatfleet_provisions_total',
      'chatfleet_spawns_total 1',
      'chatfleet_crashes_total 0',
      'chatfleet_balancer_process_cpu_seconds_total',
    ]) {
      expect(res.body).toContain(name);
    }
    const names = res.body.split('\n').filter((line) => line !== '' && !line.startsWith('#')).map((line) => line.split(/[{ ]/)[0]);
    for (const name of names) expect(name).toMatch(/^chatfleet_/);
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await http(f.balancer.url, '/nope');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: 'not_found', message: 'no route for GET /nope' });
  });

  it('serves the dashboard at /dashboard/, falling back to its index page', async () => {
    const index = await fetch(`${f.balancer.url}/dashboard/`);
    expect(index.status).toBe(200);
    expect(await index.text()).toContain('<title>chatfleet</title>');
    const deep = await fetch(`${f.balancer.url}/dashboard/servers/srv-1`);
    expect(await deep.text()).toContain('<title>chatfleet</title>');
  });
});

describe('without a built dashboard', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startFixture('no-dashboard', { DASHBOARD_DIR: join(tmpdir(), 'chatfleet-no-such-dir'), FLEET_MIN: '0' });
  });
  afterAll(async () => {
    await f?.stop();
  });

  it('says so in a JSON 404 at /dashboard/', async () => {
    const res = await http(f.balancer.url, '/dashboard/');
    expect(res.status).toBe(404);
    expect(res.body.error).toBe('not_found');
    expect(res.body.message).toContain('dashboard is not built');
  });

  it('answers /readyz 503 with no ready server', async () => {
    const res = await http(f.balancer.url, '/readyz');
    expect(res.status).toBe(503);
    expect(res.body.error).toBe('no_ready_server');
  });
});
