// The balancer's HTTP edge: body caps and JSON errors, the admin token, CORS per ALLOWED_ORIGINS, the dashboard's CSP, and chat servers' abuse in /metrics and /servers.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverInfoSchema } from '@chatfleet/protocol';
import { http, startFixture, TestClient, waitFor, waitReady, type Fixture } from './support.js';

const ADMIN_TOKEN = 'edge-admin-token-0123456789';
const OPS = 'https://ops.example';

describe('the balancer at the edge', () => {
  let f: Fixture;
  let base: string;
  const dashboardDir = mkdtempSync(join(tmpdir(), 'chatfleet-dashboard-'));

  beforeAll(async () => {
    writeFileSync(join(dashboardDir, 'index.html'), '<!doctype html><title>chatfleet</title>');
    f = await startFixture('http-edge', {
      ADMIN_TOKEN,
      ALLOWED_ORIGINS: OPS,
      DASHBOARD_DIR: dashboardDir,
      METRICS_INTERVAL_MS: '200',
    });
    base = f.balancer.url;
  });
  afterAll(async () => {
    await f?.stop();
    rmSync(dashboardDir, { recursive: true, force: true });
  });

  describe('bodies', () => {
    it('answers a body over 16 kB with 413 too_large, in the usual shape', async () => {
      const res = await http(base, '/servers/srv-x/redistribute', { method: 'POST', rawBody: JSON.stringify({ count: 1, pad: 'x'.repeat(20_000) }), token: ADMIN_TOKEN });
      expect(res.status).toBe(413);
      expect(res.body).toEqual({ error: 'too_large', message: expect.stringContaining('16kb') });
    });

    it('answers a body that is not JSON with 400 bad_request, in the usual shape', async () => {
      const res = await http(base, '/servers/srv-x/redistribute', { method: 'POST', rawBody: '{"count": 1', token: ADMIN_TOKEN });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'bad_request', message: 'request body is not valid JSON' });
    });
  });

  describe('the admin token', () => {
    const redistribute = (authorization: string | undefined) =>
      fetch(`${base}/servers/srv-x/redistribute`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization === undefined ? {} : { authorization }) },
        body: '{}',
      });

    it.each([
      ['no Authorization', undefined],
      ['a token of the same length', `Bearer ${ADMIN_TOKEN.replace(/.$/, 'X')}`],
      ['a shorter token', `Bearer ${ADMIN_TOKEN.slice(0, 5)}`],
      ['a longer token', `Bearer ${ADMIN_TOKEN}0`],
      ['another scheme', `Basic ${ADMIN_TOKEN}`],
    ])('refuses %s with 401 unauthorized', async (_name, authorization) => {
      const res = await redistribute(authorization);
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: 'unauthorized', message: expect.any(String) });
    });

    it('lets the right token through (the route then judges the body)', async () => {
      const res = await redistribute(`bearer ${ADMIN_TOKEN}`);
      expect(res.status).toBe(400);
    });
  });

  describe('CORS with ALLOWED_ORIGINS set', () => {
    it('answers a listed origin on public and admin routes, preflights included', async () => {
      const provision = await fetch(`${base}/servers`, { headers: { origin: OPS } });
      expect(provision.headers.get('access-control-allow-origin')).toBe(OPS);
      expect(provision.headers.get('vary')).toMatch(/origin/i);
      const preflight = await fetch(`${base}/servers/srv-x`, {
        method: 'OPTIONS',
        headers: { origin: OPS, 'access-control-request-method': 'DELETE', 'access-control-request-headers': 'authorization' },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe(OPS);
      expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization');
      // The 401 itself carries CORS, so the page can read why.
      const admin = await fetch(`${base}/servers/srv-x`, { method: 'DELETE', headers: { origin: OPS } });
      expect(admin.status).toBe(401);
      expect(admin.headers.get('access-control-allow-origin')).toBe(OPS);
    });

    it('answers no other origin, not on public routes and never on admin ones', async () => {
      const evil = 'https://evil.example';
      for (const [method, path] of [
        ['GET', '/servers/provision'],
        ['GET', '/stats'],
        ['DELETE', '/servers/srv-x'],
        ['POST', '/servers'],
        ['OPTIONS', '/servers/srv-x/redistribute'],
      ] as const) {
        const res = await fetch(`${base}${path}`, { method, headers: { origin: evil, 'access-control-request-method': 'POST' } });
        expect(res.headers.get('access-control-allow-origin'), `${method} ${path}`).toBeNull();
        await res.body?.cancel();
      }
    });
  });

  it('serves the dashboard with a Content-Security-Policy, on its client-side routes too', async () => {
    for (const path of ['/dashboard/', '/dashboard/servers/srv-1']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status).toBe(200);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      await res.body?.cancel();
    }
  });

  it("shows a chat server's refusals, abuse closes and refused upgrades in /metrics and /servers", async () => {
    const [server] = await waitReady(base, 1);
    const id = server!.id;
    const httpUrl = server!.url.replace('ws://', 'http://');
    // Three upgrades without a ticket (401), two plain HTTP requests (426).
    for (let i = 0; i < 3; i++) {
      const ws = new WebSocket(server!.url);
      await new Promise<void>((resolve) => {
        ws.on('unexpected-response', () => resolve());
        ws.on('error', () => resolve());
      });
      ws.terminate();
    }
    for (let i = 0; i < 2; i++) await (await fetch(httpUrl)).body?.cancel();
    // A bad frame, then a message over MAX_PAYLOAD (1009).
    const client = await TestClient.connectTo(server!.url, 'abuser');
    client.ws.send('{nope');
    await waitFor('bad_frame', () => client.frames.some((f) => f.type === 'error' && f.payload.code === 'bad_frame'), 5000, 20);
    client.ws.send('x'.repeat(70_000));
    await waitFor('the 1009 close', () => client.closeCode === 1009, 5000, 20);

    const metrics = await waitFor(
      'abuse in /metrics',
      async () => {
        const text = (await http(base, '/metrics')).body as string;
        return text.includes(`chatfleet_server_upgrades_refused_total{server="${id}",reason="unauthorized",status="401"} 3`) &&
          text.includes(`chatfleet_server_abuse_closes_total{server="${id}",code="1009"} 1`)
          ? text
          : undefined;
      },
      10_000,
      100,
    );
    expect(metrics).toContain(`chatfleet_server_upgrades_refused_total{server="${id}",reason="plain_http",status="426"} 2`);
    expect(metrics).toContain(`chatfleet_server_refusals_total{server="${id}",reason="bad_frame"} 1`);
    expect(metrics).toContain(`chatfleet_server_refusals_total{server="${id}",reason="rate_limited"} 0`);
    expect(metrics).toMatch(new RegExp(`chatfleet_server_abuse_per_second\\{server="${id}"\\} \\d+`));

    const listed = serverInfoSchema.parse(((await http(base, '/servers')).body as unknown[]).find((s) => (s as { id: string }).id === id));
    expect(listed.abuse?.refused['bad_frame']).toBe(1);
    expect(listed.abuse?.closed['1009']).toBe(1);
    expect(listed.abuse?.upgradesRefused['unauthorized']).toBe(3);
    expect(listed.abuse?.upgradesRefused['plain_http']).toBe(2);
    client.close();
  });
});
