// The demo page and the browser client in real headless Chromium against a real fleet: websocket, forced and automatic SSE fallback, another origin.
import { existsSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBalancer, type Balancer } from '../dist/balancer.js';
import { parseBalancerConfig } from '../dist/config.js';
import { startTestRedis, uniquePrefix, type TestRedis } from '../../../test/support/redis-server.js';
import { waitFor } from '../../../test/support/wait.js';
import { ensureClientBundle } from '../../../packages/client/test/support/fleet.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`chat page browser test skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);

/**
 * A forward HTTP proxy like a corporate one that blocks websockets: plain
 * requests (the page, provision, the fallback's stream and POSTs) go
 * through, every websocket (a CONNECT tunnel or an Upgrade) is refused 403.
 */
async function websocketBlockingProxy(): Promise<{ server: Server; url: string; refused: () => number }> {
  let refused = 0;
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const target = new URL(req.url ?? '/');
    const upstream = request(target, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  const refuse = (_req: unknown, socket: Socket): void => {
    refused += 1;
    socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  };
  server.on('connect', refuse);
  server.on('upgrade', refuse);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = server.close.bind(server);
  server.close = ((cb?: (err?: Error) => void) => {
    for (const socket of sockets) socket.destroy();
    return close(cb);
  }) as typeof server.close;
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, refused: () => refused };
}

/** A page on another origin that imports the client from the balancer and chats with it. */
async function otherOriginSite(balancerUrl: string): Promise<Server> {
  const html = `<!doctype html><meta charset="utf-8"><title>elsewhere</title><body>elsewhere
<script type="module">
  import { connect } from '${balancerUrl}/client/chatfleet.js';
  try {
    const client = await connect({ balancer: '${balancerUrl}', user: 'xo-page' });
    await client.join('xo-room');
    const id = await client.send('xo-room', 'from another origin');
    window.result = { id, serverId: client.serverId, transport: client.transport };
  } catch (error) {
    window.result = { error: String(error.code) + ': ' + error.message };
  }
</script>`;
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

describe.skipIf(!hasChromium)('demo chat page in headless Chromium against a real fleet', () => {
  let redis: TestRedis;
  let balancer: Balancer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];
  const servers: Server[] = [];

  beforeAll(async () => {
    ensureClientBundle();
    redis = await startTestRedis();
    const config = parseBalancerConfig({
      PORT: '0',
      REDIS_URL: redis.url,
      REDIS_PREFIX: uniquePrefix('chat-page'),
      AUTH_SECRET: 'chat-page-test-secret-0123456789abcdef',
      // Two servers, so the two pages of a test may well chat across servers.
      FLEET_MIN: '2',
      FLEET_MAX: '2',
      EVENT_LOOP_LAG_MS: '60000',
      SPAWN_WRITES_PER_SEC: '1000000',
      SCALE_DOWN_AFTER_MS: '600000',
      STOP_TIMEOUT_MS: '3000',
      DRAIN_TIMEOUT_MS: '1000',
      LOG_LEVEL: 'warn',
    });
    balancer = await startBalancer(config, {
      redisUrl: config.REDIS_URL,
      baseEnv: { PATH: process.env.PATH },
      relay: (line) => {
        if (/"level":(4|5|6)\d/.test(line)) process.stdout.write(`${line}\n`);
      },
    });
    await waitFor('two ready servers', async () => {
      const list = (await (await fetch(`${balancer.url}/servers`)).json()) as Array<{ status: string }>;
      return list.filter((s) => s.status === 'ready').length === 2;
    }, 20_000);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-sync'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    for (const server of servers) server.close();
    await balancer?.stop();
    await redis?.stop();
  }, 60_000);

  /** A page in its own context (its own storage, like a second person), joined to `room` as `user`. */
  async function joined(user: string, room: string, options: { transport?: string; context?: BrowserContext } = {}): Promise<Page> {
    const context = options.context ?? (await browser.newContext({ viewport: { width: 1280, height: 800 } }));
    if (options.context === undefined) contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(`${user}: ${error.message}`));
    await page.goto(`${balancer.url}/chat/${options.transport === undefined ? '' : `?transport=${options.transport}`}`);
    await page.getByRole('textbox', { name: 'Name' }).fill(user);
    await page.getByRole('textbox', { name: 'Room' }).fill(room);
    await page.getByRole('button', { name: 'Join' }).click();
    await page.locator('#status[data-state="open"]').waitFor({ timeout: 15_000 }).catch(async (error: unknown) => {
      const shown = await page.locator('#join-error, #messages').allTextContents();
      throw new Error(`${user} did not connect: ${shown.join(' | ')} (${String(error)})`);
    });
    return page;
  }

  async function say(page: Page, text: string): Promise<void> {
    await page.getByRole('textbox', { name: 'message' }).fill(text);
    await page.getByRole('button', { name: 'Send' }).click();
  }

  const message = (page: Page, from: string, text: string) =>
    page.locator(`#messages li[data-from="${from}"]`, { hasText: text }).first().waitFor({ timeout: 10_000 });
  const here = (page: Page, user: string) => page.locator(`#here li[data-user="${user}"]`).waitFor({ timeout: 10_000 });
  const onlineAs = (page: Page, user: string, online: boolean) =>
    page.locator(`#online li[data-user="${user}"][data-online="${online}"]`).waitFor({ timeout: 10_000 });

  /** Both pages chat both ways, see each other here and online, and exchange a direct message. */
  async function chatBothWays(a: Page, aName: string, b: Page, bName: string): Promise<void> {
    await say(a, `hello ${bName}`);
    await message(b, aName, `hello ${bName}`);
    await message(a, aName, `hello ${bName}`);
    await say(b, `hi ${aName}`);
    await message(a, bName, `hi ${aName}`);
    await here(a, bName);
    await here(b, aName);
    await onlineAs(a, bName, true);
    await onlineAs(b, aName, true);
    await a.locator(`#here li[data-user="${bName}"] button`).click();
    await say(a, 'a secret');
    await b.locator('#messages li.direct', { hasText: 'a secret' }).waitFor({ timeout: 10_000 });
  }

  it('lets two pages chat over websockets: messages, who is here, who is online, direct messages', async () => {
    const alice = await joined('alice', 'lobby');
    const bob = await joined('bob', 'lobby');
    expect(await alice.locator('#status').textContent()).toContain('websocket');
    await chatBothWays(alice, 'alice', bob, 'bob');
    // Bob leaves: alice sees him go offline and leave the room.
    await bob.getByRole('button', { name: 'Leave' }).click();
    await onlineAs(alice, 'bob', false);
    await alice.locator('#here li[data-user="bob"]').waitFor({ state: 'detached', timeout: 10_000 });
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('works the same over the SSE fallback when the page asks for it', async () => {
    const carol = await joined('carol', 'fallback-room', { transport: 'sse' });
    const dave = await joined('dave', 'fallback-room', { transport: 'sse' });
    expect(await carol.locator('#status').textContent()).toContain('SSE');
    expect(await dave.locator('#status').textContent()).toContain('SSE');
    await chatBothWays(carol, 'carol', dave, 'dave');
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('falls back to SSE by itself behind a proxy that refuses websockets, and chats with a websocket page', async () => {
    const proxy = await websocketBlockingProxy();
    servers.push(proxy.server);
    // `<-loopback>`: Chromium would otherwise go around the proxy for 127.0.0.1.
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, proxy: { server: proxy.url, bypass: '<-loopback>' } });
    contexts.push(context);
    const erin = await joined('erin', 'proxy-room', { context });
    const frank = await joined('frank', 'proxy-room');
    expect(proxy.refused()).toBeGreaterThanOrEqual(1);
    expect(await erin.locator('#status').textContent()).toContain('SSE');
    expect(await frank.locator('#status').textContent()).toContain('websocket');
    await chatBothWays(erin, 'erin', frank, 'frank');
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('lets a page on another origin import /client/chatfleet.js and provision through CORS', async () => {
    const site = await otherOriginSite(balancer.url);
    servers.push(site);
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    const consoleErrors: string[] = [];
    page.on('console', (entry) => {
      if (entry.type() === 'error') consoleErrors.push(entry.text());
    });
    await page.goto(`http://127.0.0.1:${(site.address() as AddressInfo).port}/`);
    const result = (await page.waitForFunction(() => (window as unknown as { result?: unknown }).result, undefined, { timeout: 20_000 })).jsonValue();
    expect(await result).toMatchObject({ id: expect.stringMatching(/^\d+-\d+$/), transport: 'websocket' });
    expect(consoleErrors).toEqual([]);
  }, 60_000);
});
