// Balancers as real processes for the high-availability tests: several on one Redis and prefix, each with its HOST_ID, killed and restarted at will.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BalancerInfo, FleetEvent, ServerInfo } from '@chatfleet/protocol';
import { freePort } from '../../../test/support/redis-server.js';
import { waitFor } from '../../../test/support/wait.js';
import { AUTH_SECRET } from './support.js';

export const BALANCER_MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
export const ADMIN_TOKEN = 'ha-admin-token';

export interface BalancerProcess {
  url: string;
  port: number;
  hostId: string;
  process: ChildProcess;
  output(): string;
  servers(): Promise<ServerInfo[]>;
  balancers(): Promise<BalancerInfo[]>;
  events(): Promise<FleetEvent[]>;
  admin(method: string, path: string, body?: unknown): Promise<Response>;
  /** kill -9: the balancer dies without a word; its children stay. */
  crash(): Promise<void>;
  /** SIGTERM and wait for the exit (a planned stop). */
  stop(): Promise<void>;
  readonly exited: boolean;
}

/** Settings every HA test shares: short timings, one Redis, one prefix. */
export function haEnv(redisUrl: string, prefix: string): Record<string, string> {
  return {
    REDIS_URL: redisUrl,
    REDIS_PREFIX: prefix,
    AUTH_SECRET,
    ADMIN_TOKEN,
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    HEARTBEAT_TIMEOUT_MS: '2000',
    LEASE_MS: '3000',
    // Test files run side by side on few cores: the host always looks busy, and host-aware spawns are tested on their own.
    SPAWN_MIN_SPARE_CORES: '0',
    ORPHAN_TIMEOUT_MS: '5000',
    READY_TIMEOUT_MS: '15000',
    REDIRECT_GRACE_MS: '1000',
    DRAIN_TIMEOUT_MS: '3000',
    STOP_TIMEOUT_MS: '5000',
    GONE_RETENTION_MS: '30000',
    HISTORY_LIMIT: '100000',
    RATE_LIMIT: '1000',
    SPAWN_WRITES_PER_SEC: '1000000000',
    EVENT_LOOP_LAG_MS: '60000',
  };
}

/** Starts the balancer's main as a process with `env` on top of `haEnv`; resolves once it answers /healthz. */
export async function startBalancerProcess(hostId: string, env: Record<string, string>, port?: number): Promise<BalancerProcess> {
  const p = port ?? (await freePort());
  const child = spawn(process.execPath, [BALANCER_MAIN], {
    env: { PATH: process.env.PATH ?? '', PORT: String(p), HOST: '127.0.0.1', HOST_ID: hostId, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-40_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => {
    exited = true;
    resolve();
  }));
  const url = `http://127.0.0.1:${p}`;
  const json = async <T>(path: string): Promise<T> => (await (await fetch(`${url}${path}`)).json()) as T;
  const balancer: BalancerProcess = {
    url,
    port: p,
    hostId,
    process: child,
    output: () => output,
    servers: () => json<ServerInfo[]>('/servers'),
    balancers: () => json<BalancerInfo[]>('/balancers'),
    events: async () => (await json<{ events: FleetEvent[] }>('/stats')).events,
    admin: (method, path, body) =>
      fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: body === undefined ? null : JSON.stringify(body),
      }),
    async crash() {
      if (!exited) child.kill('SIGKILL');
      await exit;
    },
    async stop() {
      if (!exited) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exit;
      clearTimeout(timer);
    },
    get exited() {
      return exited;
    },
  };
  await waitFor(`balancer ${hostId} answering`, async () => {
    if (exited) throw new Error(`balancer ${hostId} exited: ${output.slice(-2000)}`);
    return (await fetch(`${url}/healthz`).catch(() => undefined))?.ok === true;
  }, 20_000, 50);
  return balancer;
}

/** True while a process with this pid exists. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGKILLs whatever of `pids` still runs (clean-up after a test that left orphans on purpose). */
export function killAll(pids: Iterable<number>): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
