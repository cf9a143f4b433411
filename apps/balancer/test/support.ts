// Shared helpers for the balancer's integration tests: a balancer on a private Redis, polling, HTTP and websocket clients.
import { randomBytes } from 'node:crypto';
import { mintTicket, withToken } from '@chatfleet/protocol/tickets';
import WebSocket from 'ws';
import { startTestRedis, uniquePrefix, type TestRedis } from '../../../test/support/redis-server.js';
import { startBalancer, type Balancer } from '../src/balancer.js';
import { parseBalancerConfig, type BalancerConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { waitFor } from '../../../test/support/wait.js';

export { waitFor };

export const AUTH_SECRET = randomBytes(24).toString('hex');

export interface Fixture {
  redis: TestRedis;
  balancer: Balancer;
  config: BalancerConfig;
  /** Stops the balancer (and every child) and the Redis. */
  stop(): Promise<void>;
}

/** A balancer on its own Redis with settings shrunk for tests; `env` overrides them. */
export async function startFixture(label: string, env: Record<string, string> = {}, redis?: TestRedis): Promise<Fixture> {
  const ownRedis = redis === undefined;
  const testRedis = redis ?? (await startTestRedis());
  const config = parseBalancerConfig({
    PORT: '0',
    REDIS_URL: testRedis.url,
    REDIS_PREFIX: uniquePrefix(label),
    AUTH_SECRET,
    FLEET_MIN: '1',
    FLEET_MAX: '4',
    SPAWN_WRITES_PER_SEC: '1000000',
    EVENT_LOOP_LAG_MS: '60000',
    // Test files run side by side on few cores: the host always looks busy, and host-aware spawns are tested on their own.
    SPAWN_MIN_SPARE_CORES: '0',
    READY_TIMEOUT_MS: '15000',
    STOP_TIMEOUT_MS: '3000',
    DRAIN_TIMEOUT_MS: '1000',
    REDIRECT_GRACE_MS: '500',
    GONE_RETENTION_MS: '2000',
    HEARTBEAT_TIMEOUT_MS: '2500',
    RATE_LIMIT: '1000',
    LOG_LEVEL: 'warn',
    ...env,
  });
  const balancer = await startBalancer(config, {
    redisUrl: testRedis.url,
    log: createLogger(config.LOG_LEVEL),
    baseEnv: { PATH: process.env.PATH },
    relay: (line) => {
      // Children log at LOG_LEVEL too; show their warnings and errors only.
      if (/"level":(4|5|6)\d/.test(line)) process.stdout.write(`${line}\n`);
    },
  });
  return {
    redis: testRedis,
    balancer,
    config,
    async stop() {
      await balancer.stop();
      if (ownRedis) await testRedis.stop();
    },
  };
}


export interface JsonResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** One HTTP request with a JSON answer. */
export async function http<T = any>(
  base: string,
  path: string,
  init: { method?: string; body?: unknown; rawBody?: string; token?: string } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = {};
  if (init.body !== undefined || init.rawBody !== undefined) headers['content-type'] = 'application/json';
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  const res = await fetch(`${base}${path}`, {
    method: init.method ?? 'GET',
    headers,
    body: init.rawBody ?? (init.body === undefined ? undefined : JSON.stringify(init.body)),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (Prometheus text): keep the text
  }
  return { status: res.status, body: body as T, headers: res.headers };
}

/** Servers that are ready, from GET /servers. */
export async function readyServers(base: string): Promise<Array<{ id: string; url: string; pid: number; rooms: string[]; clients: number; writesPerSec: number }>> {
  const res = await http(base, '/servers');
  return (res.body as any[]).filter((s) => s.status === 'ready');
}

/** Waits until at least `n` servers are ready and returns them. */
export function waitReady(base: string, n: number, timeoutMs = 20_000) {
  return waitFor(`${n} ready servers`, async () => {
    const ready = await readyServers(base);
    return ready.length >= n ? ready : undefined;
  }, timeoutMs);
}

/** A websocket test client that keeps every frame it receives. */
export class TestClient {
  readonly frames: Array<{ type: string; payload: any }> = [];
  closeCode: number | undefined;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.frames.push(JSON.parse(String(data))));
    ws.on('close', (code) => {
      this.closeCode = code;
    });
    ws.on('error', () => undefined);
  }

  /** Connects to a complete websocket URL (with token) and waits for `welcome`. */
  static async connect(url: string): Promise<TestClient> {
    const ws = new WebSocket(url);
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    await waitFor('welcome', () => client.frames.some((f) => f.type === 'welcome'), 5000, 20);
    return client;
  }

  /** Connects to a server's base URL with a ticket for `user`. */
  static connectTo(baseUrl: string, user: string): Promise<TestClient> {
    return TestClient.connect(withToken(baseUrl, mintTicket(AUTH_SECRET, user, Date.now() + 60_000)));
  }

  send(type: string, payload: unknown): void {
    this.ws.send(JSON.stringify({ type, payload }));
  }

  async register(chatId: string): Promise<void> {
    this.send('register', { chatId });
    await waitFor(`registered in ${chatId}`, () => this.frames.some((f) => f.type === 'registered' && f.payload.chatId === chatId), 5000, 20);
  }

  close(): void {
    this.ws.terminate();
  }
}

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
