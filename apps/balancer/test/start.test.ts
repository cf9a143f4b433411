// The balancer as a command (what `npm start` runs): start, Ctrl-C to the process group, exit codes for bad setups.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startTestRedis, uniquePrefix, type TestRedis } from '../../../test/support/redis-server.js';
import { alive, http, waitFor } from './support.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

const runs: Run[] = [];
const extraPids: number[] = [];

const REPO = fileURLToPath(new URL('../../..', import.meta.url));

/** Runs the balancer command, or with `npm: true` the real `npm start` from the repository root. */
function run(env: Record<string, string>, options: { npm?: boolean } = {}): Run {
  // detached: its own process group, so the test can send SIGINT to the whole group as a terminal's Ctrl-C does.
  const [command, args] = options.npm === true ? ['npm', ['start', '--silent']] : [process.execPath, [MAIN]];
  const child = spawn(command, args, {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'info', ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const r = { child, stdout: () => out, stderr: () => err, exited };
  runs.push(r);
  return r;
}

/** The pid of the private redis-server `r` logged it started; it is killed after the test if still alive. */
function privateRedisPid(r: Run): number {
  const started = r
    .stdout()
    .split('\n')
    .filter((line) => line.includes('started a private redis-server'))
    .map((line) => JSON.parse(line) as { pid: number })[0];
  expect(started?.pid).toBeGreaterThan(0);
  extraPids.push(started!.pid);
  return started!.pid;
}

let redis: TestRedis;
beforeAll(async () => {
  redis = await startTestRedis();
});
afterEach(() => {
  for (const r of runs.splice(0)) {
    if (r.child.exitCode === null && r.child.signalCode === null) process.kill(-r.child.pid!, 'SIGKILL');
  }
  for (const pid of extraPids.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
});
afterAll(async () => {
  await redis?.stop();
});

async function keysWithPrefix(url: string, prefix: string): Promise<string[]> {
  const client = createClient({ url });
  await client.connect();
  try {
    return await client.keys(`${prefix}*`);
  } finally {
    await client.close();
  }
}

describe('balancer command', () => {
  it('starts the fleet, and on Ctrl-C stops every child, removes the fleet keys and exits 0', async () => {
    const port = await freePort();
    const prefix = uniquePrefix('start');
    const r = run({ PORT: String(port), REDIS_URL: redis.url, REDIS_PREFIX: prefix, FLEET_MIN: '2', STOP_TIMEOUT_MS: '5000', DRAIN_TIMEOUT_MS: '500' });
    const base = `http://127.0.0.1:${port}`;
    await waitFor('/readyz 200', async () => (await http(base, '/readyz')).status === 200, 20_000);
    const servers = await waitFor('two ready servers', async () => {
      const list = (await http(base, '/servers')).body as any[];
      return list.filter((s) => s.status === 'ready').length === 2 ? list : undefined;
    });
    expect(r.stdout()).toContain(`http://localhost:${port}/dashboard/`);
    expect((await keysWithPrefix(redis.url, prefix)).length).toBeGreaterThan(0);

    process.kill(-r.child.pid!, 'SIGINT');
    expect(await r.exited).toBe(0);
    for (const s of servers) expect(alive(s.pid)).toBe(false);
    expect(await keysWithPrefix(redis.url, prefix)).toEqual([]);
  });

  it('starts a private redis-server when none is reachable and stops it on Ctrl-C', async () => {
    const port = await freePort();
    const dead = await freePort();
    const r = run({ PORT: String(port), REDIS_PROBE_URL: `redis://127.0.0.1:${dead}`, FLEET_MIN: '1' });
    const base = `http://127.0.0.1:${port}`;
    await waitFor('/readyz 200', async () => (await http(base, '/readyz')).status === 200, 20_000);
    const privatePid = privateRedisPid(r);
    const [server] = (await http(base, '/servers')).body as any[];
    process.kill(-r.child.pid!, 'SIGINT');
    expect(await r.exited).toBe(0);
    expect(alive(server.pid)).toBe(false);
    await waitFor('the private redis-server to exit', () => !alive(privatePid), 5000);
  });

  it('exits 2 naming the variable on a bad setting', async () => {
    const r = run({ FLEET_MIN: 'abc', REDIS_URL: redis.url });
    expect(await r.exited).toBe(2);
    expect(r.stderr()).toContain('FLEET_MIN');
  });

  it('exits 2 with install help when redis-server is missing and no Redis answers', async () => {
    const dead = await freePort();
    const r = run({ PATH: '/nonexistent', REDIS_PROBE_URL: `redis://127.0.0.1:${dead}` });
    expect(await r.exited).toBe(2);
    const message = r.stderr();
    expect(message).toContain('apt-get install redis-server');
    expect(message).toContain('brew install redis');
    expect(message).toContain('REDIS_URL');
    expect(message.trim().split('\n')).toHaveLength(1);
  });

  it('exits 2 with one sentence when its port is taken', async () => {
    const taken = createNetServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const r = run({ PORT: String(port), REDIS_URL: redis.url, REDIS_PREFIX: uniquePrefix('taken') });
      expect(await r.exited).toBe(2);
      const lines = r.stderr().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`port ${port} on 127.0.0.1 is already in use`);
      expect(lines[0]).toContain(`PORT=${port + 1} npm start`);
    } finally {
      taken.close();
    }
  });

  it('exits 2 with one sentence when the chat server is not built', async () => {
    const r = run({ REDIS_URL: redis.url, CHAT_SERVER_ENTRY: '/nonexistent/chat-server/main.js' });
    expect(await r.exited).toBe(2);
    const lines = r.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('the chat server is not built');
    expect(lines[0]).toContain('npm run build');
  });

  it('exits 2 when REDIS_URL does not answer', async () => {
    const dead = await freePort();
    const r = run({ REDIS_URL: `redis://127.0.0.1:${dead}`, REDIS_CONNECT_TIMEOUT_MS: '500' });
    expect(await r.exited).toBe(2);
    expect(r.stderr()).toContain('REDIS_URL');
  });
});

describe('npm start', () => {
  /** Starts `npm start` on a test Redis and waits until it provisions; returns its servers. */
  async function startFleet(label: string) {
    const port = await freePort();
    const prefix = uniquePrefix(label);
    const r = run({ PORT: String(port), REDIS_URL: redis.url, REDIS_PREFIX: prefix, FLEET_MIN: '1', DRAIN_TIMEOUT_MS: '500' }, { npm: true });
    const base = `http://127.0.0.1:${port}`;
    // The first start may have to build; later ones find everything up to date.
    await waitFor('/readyz 200', async () => (await http(base, '/readyz')).status === 200, 60_000);
    const servers = (await http(base, '/servers')).body as any[];
    return { r, prefix, servers };
  }

  it('stops everything on Ctrl-C, which signals npm and the balancer together', async () => {
    const { r, prefix, servers } = await startFleet('npm-ctrl-c');
    process.kill(-r.child.pid!, 'SIGINT');
    // npm itself leaves by the signal, as command-line tools do on Ctrl-C; what matters is what it leaves behind.
    await r.exited;
    await waitFor('no process of the group to be left', () => !groupAlive(r.child.pid!), 15_000);
    for (const s of servers) expect(alive(s.pid)).toBe(false);
    expect(await keysWithPrefix(redis.url, prefix)).toEqual([]);
    // The echo of the signal that npm forwards is not taken for an impatient second Ctrl-C.
    expect(r.stdout()).not.toContain('second signal');
  }, 90_000);

  it('stops everything on SIGHUP, as when its terminal is closed: no process, no key left', async () => {
    const { r, prefix, servers } = await startFleet('npm-sighup');
    // A closing terminal hangs up its whole foreground process group.
    process.kill(-r.child.pid!, 'SIGHUP');
    await r.exited;
    await waitFor('no process of the group to be left', () => !groupAlive(r.child.pid!), 15_000);
    for (const s of servers) expect(alive(s.pid)).toBe(false);
    expect(await keysWithPrefix(redis.url, prefix)).toEqual([]);
  }, 90_000);

  it('stops its private redis-server on SIGHUP rather than leave it orphaned', async () => {
    const port = await freePort();
    const dead = await freePort();
    const r = run({ PORT: String(port), REDIS_PROBE_URL: `redis://127.0.0.1:${dead}`, FLEET_MIN: '1', DRAIN_TIMEOUT_MS: '500' }, { npm: true });
    const base = `http://127.0.0.1:${port}`;
    await waitFor('/readyz 200', async () => (await http(base, '/readyz')).status === 200, 60_000);
    const privatePid = privateRedisPid(r);
    const servers = (await http(base, '/servers')).body as any[];
    process.kill(-r.child.pid!, 'SIGHUP');
    await r.exited;
    await waitFor('no process of the group to be left', () => !groupAlive(r.child.pid!), 15_000);
    for (const s of servers) expect(alive(s.pid)).toBe(false);
    await waitFor('the private redis-server to exit', () => !alive(privatePid), 10_000);
  }, 90_000);

  it('stops everything when only npm is sent SIGTERM, as a process manager does', async () => {
    const { r, prefix, servers } = await startFleet('npm-sigterm');
    process.kill(r.child.pid!, 'SIGTERM');
    await r.exited;
    await waitFor('the chat servers to exit', () => servers.every((s) => !alive(s.pid)), 15_000);
    await waitFor('the fleet keys to go', async () => (await keysWithPrefix(redis.url, prefix)).length === 0, 15_000);
    await waitFor('no process of the group to be left', () => !groupAlive(r.child.pid!), 15_000);
  }, 90_000);
});

/** True while any process of the group led by `pgid` is alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}
