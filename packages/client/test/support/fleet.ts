// Starts a real chatfleet for integration tests: a private redis-server and the balancer's main as a child process (which forks chat servers).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerInfo } from '@chatfleet/protocol';
import { freePort, startTestRedis, uniquePrefix, type TestRedis } from '../../../../test/support/redis-server.js';
import { waitFor } from '../../../../test/support/wait.js';

export const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
export const BALANCER_MAIN = `${REPO}apps/balancer/dist/main.js`;
export const CHAT_SERVER_MAIN = `${REPO}apps/chat-server/dist/main.js`;

export interface TestFleet {
  /** Balancer base URL. */
  url: string;
  adminToken: string;
  /** The Redis the fleet runs on: its own private one, or the one passed in `redisUrl` (undefined then). */
  redis: TestRedis | undefined;
  redisUrl: string;
  prefix: string;
  balancer: ChildProcess;
  /** `GET /servers`. */
  servers(): Promise<ServerInfo[]>;
  /** Waits until at least `n` servers are ready. */
  waitReady(n: number, timeoutMs?: number): Promise<ServerInfo[]>;
  /** An admin request (Bearer ADMIN_TOKEN). */
  admin(method: string, path: string, body?: unknown): Promise<Response>;
  /** The balancer's recent output, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

export const CLIENT_BUNDLE = `${REPO}packages/client/dist/chatfleet.js`;

/** Newest modification time of the files under `dir`. */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/**
 * Builds the client's bundle when it is missing or older than the client's or the protocol's
 * sources: Node outside vitest (the harness's process, a packed tarball) runs the bundle, and a
 * test run after `tsc -b` alone would otherwise use a stale one.
 */
export function ensureClientBundle(): void {
  const sources = Math.max(newest(`${REPO}packages/client/src`), newest(`${REPO}packages/protocol/src`));
  if (existsSync(CLIENT_BUNDLE) && statSync(CLIENT_BUNDLE).mtimeMs >= sources) return;
  const built = spawnSync(process.execPath, [`${REPO}packages/client/bundle.mjs`], { stdio: 'inherit' });
  if (built.status !== 0) throw new Error('could not build the client bundle (packages/client/bundle.mjs)');
}

/** True when both apps are built, so integration tests can run. */
export function fleetBuilt(): boolean {
  return existsSync(BALANCER_MAIN) && existsSync(CHAT_SERVER_MAIN);
}

/**
 * Starts redis + balancer (FLEET_MIN servers) and waits for the servers to be ready. With `redisUrl`
 * the fleet uses that Redis (a Sentinel group, a Cluster, a Redis the test restarts) and leaves it running.
 */
export async function startFleet(
  options: { fleetMin?: number; env?: Record<string, string>; redisUrl?: string } = {},
): Promise<TestFleet> {
  const fleetMin = options.fleetMin ?? 2;
  const redis = options.redisUrl === undefined ? await startTestRedis() : undefined;
  const redisUrl = options.redisUrl ?? redis!.url;
  const prefix = uniquePrefix('client');
  const adminToken = `admin-${Math.random().toString(36).slice(2)}`;
  const port = await freePort();
  const balancer = spawn(process.execPath, [BALANCER_MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      REDIS_URL: redisUrl,
      REDIS_PREFIX: prefix,
      FLEET_MIN: String(fleetMin),
      FLEET_MAX: String(Math.max(fleetMin, 4)),
      ADMIN_TOKEN: adminToken,
      AUTH_SECRET: `secret-${Math.random().toString(36).slice(2)}`,
      LOG_LEVEL: 'warn',
      HEARTBEAT_TIMEOUT_MS: '2000',
      // Test files run side by side on few cores: the host always looks busy, and host-aware spawns are tested on their own.
      SPAWN_MIN_SPARE_CORES: '0',
      REDIRECT_GRACE_MS: '1000',
      DRAIN_TIMEOUT_MS: '3000',
      STOP_TIMEOUT_MS: '5000',
      // Automatic rebalancing would move clients at random moments; tests trigger moves themselves.
      SPAWN_WRITES_PER_SEC: '1000000000',
      EVENT_LOOP_LAG_MS: '60000',
      HISTORY_LIMIT: '100000',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  balancer.stdout?.on('data', keep);
  balancer.stderr?.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const pids = new Set<number>();

  const servers = async (): Promise<ServerInfo[]> => {
    const response = await fetch(`${url}/servers`);
    const list = (await response.json()) as ServerInfo[];
    for (const s of list) if (s.pid !== null) pids.add(s.pid);
    return list;
  };

  let stopped: Promise<void> | undefined;
  const fleet: TestFleet = {
    url,
    adminToken,
    redis,
    redisUrl,
    prefix,
    balancer,
    servers,
    output: () => output,
    admin: (method, path, body) =>
      fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: body === undefined ? null : JSON.stringify(body),
      }),
    async waitReady(n, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (balancer.exitCode !== null) throw new Error(`balancer exited with ${balancer.exitCode}: ${output.slice(-2000)}`);
        try {
          const list = await servers();
          const ready = list.filter((s) => s.status === 'ready');
          if (ready.length >= n) return ready;
        } catch {
          // Not listening yet.
        }
        if (Date.now() > deadline) throw new Error(`fewer than ${n} servers ready in ${timeoutMs} ms: ${output.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    stop() {
      stopped ??= (async () => {
        if (balancer.exitCode === null && balancer.signalCode === null) {
          const exited = new Promise<void>((resolve) => balancer.once('exit', () => resolve()));
          balancer.kill('SIGTERM');
          const timer = setTimeout(() => balancer.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(timer);
        }
        // Children exit when their IPC channel closes; make sure none is left behind.
        for (const pid of pids) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // Already gone.
          }
        }
        await redis?.stop();
      })();
      return stopped;
    },
  };
  try {
    await fleet.waitReady(fleetMin);
  } catch (error) {
    await fleet.stop();
    throw error;
  }
  return fleet;
}

/** Polls `check` every 20 ms until it is true or the deadline passes. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  await waitFor(what, check, timeoutMs, 20);
}
