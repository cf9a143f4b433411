// The dashboard in real headless Chromium against a real fleet: a balancer with its chat servers on a private Redis.
import { existsSync, mkdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { statsSnapshotSchema } from '@chatfleet/protocol';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBalancer, type Balancer } from '../../apps/balancer/dist/balancer.js';
import { parseBalancerConfig, type BalancerConfig } from '../../apps/balancer/dist/config.js';
import { startTestRedis, uniquePrefix, type TestRedis } from '../../test/support/redis-server.js';
import { waitFor } from '../../test/support/wait.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(`dashboard browser test skipped: ${CHROMIUM} is missing (install it with \`apt-get install -y chromium\`)`);
}

const dashboardDir = fileURLToPath(new URL('..', import.meta.url));
const distDir = fileURLToPath(new URL('../dist', import.meta.url));
const resultsDir = fileURLToPath(new URL('../../test-results', import.meta.url));
const ADMIN_TOKEN = 'dashboard-test-admin-token';


interface ServerJson {
  id: string;
  url: string;
  status: string;
}

/** Builds the dashboard when there is no build yet (`npm test` builds it first). */
async function ensureBuilt(): Promise<void> {
  if (existsSync(`${distDir}/index.html`)) return;
  const { build } = await import('vite');
  await build({ root: dashboardDir, logLevel: 'warn', configFile: `${dashboardDir}/vite.config.ts` });
}

/**
 * Opens a websocket to `url` by hand and then never reads from it: the server's close frame is
 * never answered, so a drain has to wait DRAIN_TIMEOUT_MS for this client, long enough for the
 * page to show the server as draining.
 */
function stalledClient(url: string): Promise<Socket> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(target.port), target.hostname, () => {
      socket.write(
        `GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
    });
    socket.once('error', reject);
    socket.once('data', (chunk) => {
      if (!chunk.toString().startsWith('HTTP/1.1 101')) {
        socket.destroy();
        reject(new Error(`upgrade refused: ${chunk.toString().split('\r\n')[0]}`));
        return;
      }
      socket.pause();
      resolve(socket);
    });
  });
}

/** A chatting websocket client, so rooms and writes/s have something to show. */
async function chatter(balancerUrl: string, user: string, room: string): Promise<WebSocket> {
  const res = await fetch(`${balancerUrl}/servers/provision?room=${room}&user=${user}`);
  const { url } = (await res.json()) as { url: string };
  const ws = new WebSocket(url);
  ws.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ type: 'register', payload: { chatId: room } }));
  return ws;
}

/** A balancer with the test's Redis; children's warnings and errors are shown, the rest is dropped. */
function start(config: BalancerConfig): Promise<Balancer> {
  return startBalancer(config, {
    redisUrl: config.REDIS_URL,
    baseEnv: { PATH: process.env.PATH },
    relay: (line) => {
      if (/"level":(4|5|6)\d/.test(line)) process.stdout.write(`${line}\n`);
    },
  });
}

describe.skipIf(!hasChromium)('dashboard in headless Chromium against a real fleet', () => {
  let redis: TestRedis;
  let balancer: Balancer;
  let config: BalancerConfig;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const cspViolations: string[] = [];
  const chatters: WebSocket[] = [];
  let chatTimer: ReturnType<typeof setInterval> | undefined;
  let stalled: Socket | undefined;

  const servers = async (): Promise<ServerJson[]> => (await (await fetch(`${balancer.url}/servers`)).json()) as ServerJson[];
  const rowStatus = (id: string) => page.locator(`tr[data-server-id="${id}"]`).getAttribute('data-status', { timeout: 1000 });

  beforeAll(async () => {
    await ensureBuilt();
    redis = await startTestRedis();
    config = parseBalancerConfig({
      PORT: '0',
      REDIS_URL: redis.url,
      REDIS_PREFIX: uniquePrefix('dashboard'),
      AUTH_SECRET: 'dashboard-test-auth-secret-0123456789',
      ADMIN_TOKEN,
      FLEET_MIN: '1',
      FLEET_MAX: '3',
      // No automatic scaling: a busy test machine lags past the default 15 ms, and the fleet must
      // only change when the test asks (FLEET_MAX 3 would otherwise refuse the spawn).
      EVENT_LOOP_LAG_MS: '60000',
      SPAWN_WRITES_PER_SEC: '1000000',
      SCALE_DOWN_AFTER_MS: '600000',
      DASHBOARD_DIR: distDir,
      READY_TIMEOUT_MS: '15000',
      STOP_TIMEOUT_MS: '3000',
      // Long enough that a drain held up by the stalled client is seen as draining.
      DRAIN_TIMEOUT_MS: '4000',
      REDIRECT_GRACE_MS: '500',
      GONE_RETENTION_MS: '3000',
      LOG_LEVEL: 'warn',
    });
    balancer = await start(config);
    await waitFor('a ready server', async () => (await servers()).some((s) => s.status === 'ready'));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // The balancer serves the dashboard with a Content-Security-Policy: Chromium reports what it blocks on the console.
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
  }, 60_000);

  afterAll(async () => {
    clearInterval(chatTimer);
    for (const ws of chatters) ws.terminate();
    stalled?.destroy();
    await browser?.close();
    await balancer?.stop();
    await redis?.stop();
  }, 60_000);

  it('serves a /stats snapshot that matches the protocol schema', async () => {
    const body: unknown = await (await fetch(`${balancer.url}/stats`)).json();
    const parsed = statsSnapshotSchema.safeParse(body);
    expect(parsed.success ? null : parsed.error.issues.slice(0, 3)).toBeNull();
  });

  it('loads at /dashboard/ and lists every ready server', async () => {
    const response = await page.goto(`${balancer.url}/dashboard/`);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    const ready = (await servers()).filter((s) => s.status === 'ready');
    expect(ready.length).toBeGreaterThanOrEqual(1);
    for (const s of ready) {
      await page.locator(`tr[data-server-id="${s.id}"][data-status="ready"]`).waitFor({ timeout: 5000 });
      await expect(page.locator(`tr[data-server-id="${s.id}"]`).textContent()).resolves.toContain(s.url);
    }
    await expect(page.getByTestId('stream-state').textContent()).resolves.toContain('live');
  });

  it('updates the charts in place within 3 s', async () => {
    const chart = page.locator('figure[data-chart="clients"]');
    await chart.waitFor({ timeout: 5000 });
    const before = await chart.getAttribute('data-last-ts');
    const canvases = await page.locator('figure[data-chart] canvas').count();
    await page.waitForFunction(
      (prev) => document.querySelector('figure[data-chart="clients"]')?.getAttribute('data-last-ts') !== prev,
      before,
      { timeout: 3000 },
    );
    // Updated, not rebuilt: still one canvas per chart.
    expect(await page.locator('figure[data-chart] canvas').count()).toBe(canvases);
  });

  it('asks for the admin token, reports a wrong one in words, and spawns a server with the right one', async () => {
    const before = new Set((await servers()).map((s) => s.id));
    await page.getByRole('button', { name: 'Spawn server' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor({ timeout: 5000 });
    await dialog.getByLabel('Token').fill('not-the-token');
    await dialog.getByRole('button', { name: 'Use token' }).click();
    await dialog.getByText('refused that token').waitFor({ timeout: 5000 });
    await dialog.getByLabel('Token').fill(ADMIN_TOKEN);
    await dialog.getByRole('button', { name: 'Use token' }).click();
    await page.getByText(/Spawned srv-/).waitFor({ timeout: 5000 });

    const spawnedId = await waitFor('the spawned server in /servers', async () => (await servers()).find((s) => !before.has(s.id))?.id);
    await page.locator(`tr[data-server-id="${spawnedId}"]`).waitFor({ timeout: 5000 });
    await waitFor('the spawned server shown as ready', async () => (await rowStatus(spawnedId)) === 'ready', 20_000);
    expect(await page.evaluate(() => sessionStorage.getItem('chatfleet.adminToken'))).toBe(ADMIN_TOKEN);
  });

  it('gives every listed server a colour of its own, the same in the table and the chart legend', async () => {
    const ids = (await servers()).filter((s) => s.status !== 'gone').map((s) => s.id);
    expect(ids.length).toBeGreaterThanOrEqual(2);
    const colors = await page.evaluate((list) => {
      const swatch = (id: string) => getComputedStyle(document.querySelector(`tr[data-server-id="${id}"] .swatch`)!).backgroundColor;
      return list.map(swatch);
    }, ids);
    expect(new Set(colors).size).toBe(ids.length);
  });

  it('shows rooms and takes a readable screenshot with traffic', async () => {
    for (let i = 0; i < 6; i++) chatters.push(await chatter(balancer.url, `user-${i}`, `chat-room-${(i % 3) + 1}`));
    let n = 0;
    chatTimer = setInterval(() => {
      const ws = chatters[n++ % chatters.length];
      if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'chat', payload: { message: `hello ${n}` } }));
    }, 100);
    for (const room of ['chat-room-1', 'chat-room-2', 'chat-room-3']) {
      await page.locator('table.rooms tbody th', { hasText: new RegExp(`^${room}$`) }).waitFor({ timeout: 10_000 });
    }
    // Let a few seconds of traffic reach the charts before the picture.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    mkdirSync(resultsDir, { recursive: true });
    await page.screenshot({ path: `${resultsDir}/dashboard-1280x800.png` });
    await page.screenshot({ path: `${resultsDir}/dashboard-1280-full.png`, fullPage: true });
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
    phone.on('pageerror', (error) => pageErrors.push(error.message));
    await phone.goto(`${balancer.url}/dashboard/`);
    await phone.locator('tr[data-status="ready"]').first().waitFor({ timeout: 5000 });
    await phone.screenshot({ path: `${resultsDir}/dashboard-phone-dark.png`, fullPage: true });
    await phone.close();
  }, 40_000);

  it('runs under its Content-Security-Policy without a violation', () => {
    expect(cspViolations).toEqual([]);
  });

  it('drains a server: draining first, then gone or out of the list', async () => {
    // Hold the drain open with a client that never answers the server's close frame.
    const target = (await (await fetch(`${balancer.url}/servers/provision`)).json()) as { id: string; url: string };
    stalled = await stalledClient(target.url);
    const row = page.locator(`tr[data-server-id="${target.id}"]`);
    await row.getByRole('button', { name: `Drain ${target.id}` }).click();
    await row.getByRole('button', { name: `Confirm drain of ${target.id}` }).click();
    await waitFor('the row to show draining', async () => (await rowStatus(target.id)) === 'draining', 5000);
    await waitFor(
      'the row to show gone or leave the list',
      async () => {
        if ((await row.count()) === 0) return true;
        return (await rowStatus(target.id)) === 'gone';
      },
      20_000,
    );
    await page.getByText(`${target.id} is draining`).waitFor({ timeout: 1000 });
    expect(pageErrors).toEqual([]);
  }, 40_000);

  it('says when the stream drops, keeps the last data, and follows a restarted balancer without a reload', async () => {
    await page.evaluate(() => Object.assign(window, { sameDocument: true }));
    const oldIds = new Set((await servers()).map((s) => s.id));
    await balancer.stop();
    await page.getByTestId('stream-down').waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('stream-state').textContent()).not.toContain('live');
    expect(await page.locator('tr[data-server-id]').count()).toBeGreaterThan(0);

    balancer = await start({ ...config, PORT: balancer.port });
    const fresh = await waitFor('a ready server of the new balancer', async () => (await servers()).find((s) => s.status === 'ready' && !oldIds.has(s.id)));
    await page.locator(`tr[data-server-id="${fresh.id}"][data-status="ready"]`).waitFor({ timeout: 20_000 });
    await page.getByTestId('stream-down').waitFor({ state: 'detached', timeout: 5000 });
    expect(await page.getByTestId('stream-state').textContent()).toContain('live');
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
