// Remote (unmanaged) chat servers: discovered through Redis, provisioned, dropped when they die, respected on stop.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_SECRET, http, startFixture, waitFor, waitReady, type Fixture } from './support.js';

const CHAT_SERVER = fileURLToPath(new URL('../../chat-server/dist/main.js', import.meta.url));

describe('remote servers', () => {
  let f: Fixture;
  const remotes: ChildProcess[] = [];

  function startRemote(id: string): ChildProcess {
    const child = spawn(process.execPath, [CHAT_SERVER], {
      env: {
        PATH: process.env.PATH,
        SERVER_ID: id,
        REDIS_URL: f.redis.url,
        REDIS_PREFIX: f.config.REDIS_PREFIX,
        AUTH_SECRET,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    remotes.push(child);
    return child;
  }

  beforeAll(async () => {
    f = await startFixture('remote', { FLEET_MIN: '1', HEARTBEAT_TIMEOUT_MS: '2000' });
    await waitReady(f.balancer.url, 1);
  });
  afterAll(async () => {
    for (const child of remotes) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await f?.stop();
  });

  it('discovers a server started by hand and provisions it', async () => {
    startRemote('remote-a');
    const remote = await waitFor('the remote server to be listed', async () =>
      ((await http(f.balancer.url, '/servers')).body as any[]).find((s) => s.id === 'remote-a' && s.status === 'ready'),
    );
    expect(remote.managed).toBe(false);
    const events = (await http(f.balancer.url, '/stats')).body.events as any[];
    expect(events.some((e) => e.kind === 'remote-join' && e.serverId === 'remote-a')).toBe(true);
    // Both are idle; provisions spread by client count, so the remote one gets some of them.
    const ids = new Set<string>();
    for (let i = 0; i < 6; i++) ids.add((await http(f.balancer.url, `/servers/provision?user=p${i}`)).body.id);
    expect([...ids]).toContain('remote-a');
  });

  it('marks a dead remote server gone and removes its keys', async () => {
    const child = startRemote('remote-b');
    await waitFor('remote-b ready', async () =>
      ((await http(f.balancer.url, '/servers')).body as any[]).some((s) => s.id === 'remote-b' && s.status === 'ready'),
    );
    child.kill('SIGKILL');
    await waitFor('remote-b gone', async () =>
      ((await http(f.balancer.url, '/servers')).body as any[]).some((s) => s.id === 'remote-b' && s.status === 'gone'),
    );
    const events = (await http(f.balancer.url, '/stats')).body.events as any[];
    expect(events.some((e) => e.kind === 'remote-gone' && e.serverId === 'remote-b')).toBe(true);
    const client = createClient({ url: f.redis.url });
    await client.connect();
    try {
      expect(await client.exists(f.balancer.keys.server('remote-b'))).toBe(0);
      expect(await client.zScore(f.balancer.keys.serversClients, 'remote-b')).toBeNull();
    } finally {
      await client.close();
    }
  });

  it('leaves the fleet keys in place on stop while a remote server still runs', async () => {
    await f.balancer.stop();
    const client = createClient({ url: f.redis.url });
    await client.connect();
    try {
      expect(await client.exists(f.balancer.keys.server('remote-a'))).toBe(1);
    } finally {
      await client.close();
    }
  });
});
