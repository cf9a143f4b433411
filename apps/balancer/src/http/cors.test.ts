// CORS per ALLOWED_ORIGINS: any origin on the public routes when it is unset, the listed origins on every route when it is set, never another origin on an admin route.
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cors, corsOrigin, isPublicRoute } from './cors.js';

describe('isPublicRoute', () => {
  it.each([
    ['GET', '/servers/provision', true],
    ['OPTIONS', '/servers/provision', true],
    ['GET', '/servers', true],
    ['GET', '/stats', true],
    ['GET', '/stats/stream', true],
    ['GET', '/balancers', true],
    ['GET', '/client/chatfleet.js', true],
    ['GET', '/client/chatfleet.d.ts', true],
    ['GET', '/client/other.js', false],
    ['POST', '/servers', false],
    ['DELETE', '/servers/srv-1', false],
    ['POST', '/servers/srv-1/redistribute', false],
    ['OPTIONS', '/servers/srv-1/redistribute', false],
    ['GET', '/metrics', false],
  ])('%s %s -> %s', (method, path, expected) => {
    expect(isPublicRoute(method, path)).toBe(expected);
  });
});

describe('corsOrigin', () => {
  const listed = ['https://a.example', 'https://b.example'];
  it.each([
    // ALLOWED_ORIGINS unset: any origin, public routes only.
    [undefined, 'https://any.example', 'GET', '/servers/provision', '*'],
    [undefined, 'https://any.example', 'GET', '/stats/stream', '*'],
    [undefined, 'https://any.example', 'GET', '/client/chatfleet.js', '*'],
    [undefined, 'https://any.example', 'POST', '/servers', undefined],
    [undefined, 'https://any.example', 'DELETE', '/servers/srv-1', undefined],
    [undefined, 'https://any.example', 'POST', '/servers/srv-1/redistribute', undefined],
    [undefined, 'https://any.example', 'GET', '/metrics', undefined],
    [undefined, 'https://any.example', 'GET', '/dashboard/', undefined],
    // Set: a listed origin on every route, admin ones included.
    [listed, 'https://b.example', 'GET', '/servers/provision', 'https://b.example'],
    [listed, 'https://b.example', 'POST', '/servers', 'https://b.example'],
    [listed, 'https://b.example', 'DELETE', '/servers/srv-1', 'https://b.example'],
    [listed, 'https://a.example', 'POST', '/servers/srv-1/redistribute', 'https://a.example'],
    // An origin not listed: nothing, not even on the public routes.
    [listed, 'https://evil.example', 'GET', '/servers/provision', undefined],
    [listed, 'https://evil.example', 'POST', '/servers', undefined],
    [listed, 'https://evil.example', 'DELETE', '/servers/srv-1', undefined],
    [listed, undefined, 'GET', '/servers', undefined],
  ])('with %j, origin %s, %s %s -> %s', (allowed, origin, method, path, expected) => {
    expect(corsOrigin(allowed, origin, method, path)).toBe(expected);
  });
});

describe('cors middleware', () => {
  const servers: Array<{ close(): void }> = [];
  const bases: Record<string, string> = {};

  async function serve(name: string, allowed: string | undefined): Promise<void> {
    const app = express();
    app.use(cors(allowed));
    app.all('/{*any}', (_req, res) => res.json({ ok: true }));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    servers.push(server);
    bases[name] = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  beforeAll(async () => {
    await serve('open', undefined);
    await serve('listed', 'https://a.example,https://b.example');
  });
  afterAll(() => {
    for (const server of servers) server.close();
  });

  const get = (base: string, path: string, origin: string, method = 'GET', headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { method, headers: { origin, ...headers } });

  it('answers * for any origin when ALLOWED_ORIGINS is unset', async () => {
    const res = await get(bases.open!, '/client/chatfleet.js', 'https://anywhere.example');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('echoes a listed origin and says nothing to another one', async () => {
    const listed = await get(bases.listed!, '/servers/provision', 'https://b.example');
    expect(listed.headers.get('access-control-allow-origin')).toBe('https://b.example');
    expect(listed.headers.get('vary')).toMatch(/origin/i);
    const other = await get(bases.listed!, '/servers/provision', 'https://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers a preflight with 204 on public routes, and never CORS on admin routes', async () => {
    const preflight = await get(bases.open!, '/servers/provision', 'https://x.example', 'OPTIONS');
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('GET');
    const admin = await get(bases.open!, '/servers/srv-1', 'https://x.example', 'DELETE');
    expect(admin.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers an admin preflight from an origin that is not listed without CORS, and from a listed one with it', async () => {
    const ask = { 'access-control-request-method': 'DELETE', 'access-control-request-headers': 'authorization' };
    const open = await get(bases.open!, '/servers/srv-1', 'https://x.example', 'OPTIONS', ask);
    expect(open.status).toBe(204);
    expect(open.headers.get('access-control-allow-origin')).toBeNull();
    const evil = await get(bases.listed!, '/servers/srv-1', 'https://evil.example', 'OPTIONS', ask);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    expect(evil.headers.get('access-control-allow-methods')).toBeNull();
    const listed = await get(bases.listed!, '/servers/srv-1', 'https://a.example', 'OPTIONS', ask);
    expect(listed.status).toBe(204);
    expect(listed.headers.get('access-control-allow-origin')).toBe('https://a.example');
    expect(listed.headers.get('access-control-allow-methods')).toContain('DELETE');
    expect(listed.headers.get('access-control-allow-headers')).toContain('authorization');
    const admin = await get(bases.listed!, '/servers', 'https://a.example', 'POST');
    expect(admin.headers.get('access-control-allow-origin')).toBe('https://a.example');
  });

  it('does not open a public route to a preflight asking for another method', async () => {
    const res = await get(bases.open!, '/servers', 'https://x.example', 'OPTIONS', { 'access-control-request-method': 'POST' });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});
