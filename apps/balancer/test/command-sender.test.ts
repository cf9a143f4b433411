// The command sender against a real chat server process and a real Redis: confirmed, resent after a lost publish, given up visibly.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childMessageSchema, redisKeys, type ChildMessage } from '@chatfleet/protocol';
import { RedisLink } from '@chatfleet/redis';
import { adminClient, startTestRedis, uniquePrefix, type AdminClient, type TestRedis } from '../../../test/support/redis-server.js';
import { CommandSender, redisCommandTransport, type CommandOutcome } from '../src/commands/command-sender.js';
import { AUTH_SECRET, TestClient, waitFor } from './support.js';

const SERVER_ID = 'srv-cmd';
const TARGET = 'ws://127.0.0.1:4999/';

let redis: TestRedis;
let admin: AdminClient;
let link: RedisLink;
let child: ChildProcess;
let serverUrl: string;
const prefix = uniquePrefix('sender');
const keys = redisKeys(prefix);

beforeAll(async () => {
  redis = await startTestRedis();
  admin = await adminClient(redis);
  link = new RedisLink(redis.url);
  link.on('error', () => undefined);
  await link.connect();
  child = fork(fileURLToPath(new URL('../../chat-server/dist/main.js', import.meta.url)), [], {
    env: {
      PATH: process.env.PATH,
      REDIS_URL: redis.url,
      REDIS_PREFIX: prefix,
      AUTH_SECRET,
      SERVER_ID,
      PORT: '0',
      LOG_LEVEL: 'error', // the killed subscriber's reconnect warnings are expected here
      REDIRECT_GRACE_MS: '60000',
      // The subscriber retries its connection quickly; the probes notice a deaf one soon.
      BUS_PROBE_INTERVAL_MS: '200',
      BUS_PROBE_TIMEOUT_MS: '400',
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const messages: ChildMessage[] = [];
  child.on('message', (m) => messages.push(childMessageSchema.parse(m)));
  const ready = await waitFor('the chat server to be ready', () => messages.find((m) => m.type === 'ready'), 15_000, 20);
  if (ready.type !== 'ready') throw new Error('unreachable');
  serverUrl = ready.url;
});

afterAll(async () => {
  if (child !== undefined && child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  await link?.close();
  await admin?.close();
  await redis?.stop();
});

/** Clients of room `room` that record the redirects they get. */
async function members(room: string, users: string[]): Promise<TestClient[]> {
  const clients = await Promise.all(users.map((u) => TestClient.connectTo(serverUrl, u)));
  for (const c of clients) await c.register(room);
  return clients;
}

const redirected = (clients: TestClient[]) => clients.filter((c) => c.frames.some((f) => f.type === 'redistribute'));

describe('CommandSender', () => {
  it('sends a command with an id and resolves once the server confirms it', async () => {
    const clients = await members('lobby', ['l1', 'l2', 'l3']);
    const sender = new CommandSender({ transport: redisCommandTransport(link, keys), resendMs: 500, maxTries: 5, idPrefix: 'c-ok-' });
    sender.start();
    try {
      const outcome = await sender.send(SERVER_ID, { type: 'redistribute', n: 2, redirect: TARGET, moves: [{ room: 'lobby', n: 2 }] });
      expect(outcome).toMatchObject({ ok: true, id: 'c-ok-1', serverId: SERVER_ID, tries: 1, ack: { ok: true, moved: 2 } });
      await waitFor('two redirects', () => redirected(clients).length === 2, 5000, 20);
      expect(sender.pending).toBe(0);
    } finally {
      await sender.stop();
      for (const c of clients) c.close();
    }
  });

  it("resends a command published while the server's subscriber is down, and the server carries it out once", async () => {
    const clients = await members('hall', ['h1', 'h2', 'h3']);
    const sends: Array<{ attempt: number; receivers: number | undefined }> = [];
    const outcomes: CommandOutcome[] = [];
    const sender = new CommandSender({
      transport: redisCommandTransport(link, keys),
      resendMs: 300,
      maxTries: 40,
      idPrefix: 'c-lost-',
      onSend: (s) => sends.push(s),
      onOutcome: (o) => outcomes.push(o),
    });
    sender.start();
    let capped = false;
    try {
      // Kill the server's subscriber and keep it from coming back: no new connection while maxclients
      // equals the connections left (this test's and the server's command connection).
      const before = String(await admin.sendCommand(['CLIENT', 'LIST'])).trim().split('\n').length;
      await admin.configSet('maxclients', String(before - 1));
      capped = true;
      await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
      await waitFor('the subscriber gone', async () => (await admin.pubSubNumSub(keys.serverCommands(SERVER_ID)))[keys.serverCommands(SERVER_ID)] === 0, 5000, 20);

      const outcome = sender.send(SERVER_ID, { type: 'redistribute', n: 1, redirect: TARGET, moves: [{ room: 'hall', n: 1 }], reason: 'lost once' });
      await waitFor('a publish nobody heard', () => sends.some((s) => s.receivers === 0), 5000, 20);
      expect(redirected(clients)).toHaveLength(0);

      // Let the subscriber back: a resend reaches it.
      await admin.configSet('maxclients', '10000');
      capped = false;
      const done = await outcome;
      expect(done).toMatchObject({ ok: true, serverId: SERVER_ID, ack: { ok: true, moved: 1 } });
      expect(done.ok && done.tries).toBeGreaterThanOrEqual(2);
      expect(sends[0]).toEqual({ id: 'c-lost-1', serverId: SERVER_ID, attempt: 1, receivers: 0 });
      expect(outcomes).toEqual([done]);
      await waitFor('the redirect', () => redirected(clients).length === 1, 5000, 20);
      // Carried out once, however many copies reached the server: the next command moves exactly one more member.
      const settledAt = sends.length;
      await sender.send(SERVER_ID, { type: 'redistribute', n: 1, redirect: TARGET, moves: [{ room: 'hall', n: 1 }] });
      await waitFor('the next redirect', () => redirected(clients).length === 2, 5000, 20);
      expect(sends.length).toBeGreaterThan(settledAt);
      expect(redirected(clients)).toHaveLength(2);
    } finally {
      if (capped) await admin.configSet('maxclients', '10000');
      await sender.stop();
      for (const c of clients) c.close();
    }
  });

  it('gives up after COMMAND_MAX_TRIES sends nobody confirms, with the reason', async () => {
    const outcomes: CommandOutcome[] = [];
    const sender = new CommandSender({ transport: redisCommandTransport(link, keys), resendMs: 100, maxTries: 3, idPrefix: 'c-void-', onOutcome: (o) => outcomes.push(o) });
    sender.start();
    try {
      const outcome = await sender.send('srv-nobody', { type: 'drain', reason: 'test' });
      expect(outcome.ok).toBe(false);
      expect(outcome.ok === false && outcome.reason).toMatch(
        /^no confirmation of drain c-void-1 from srv-nobody after 3 tries over 0\.\d s; the last publish reached no subscriber$/,
      );
      expect(outcomes).toEqual([outcome]);
    } finally {
      await sender.stop();
    }
  });

  it('drops the commands of a server known to be gone, and settles what is pending on stop', async () => {
    const gone = new Set<string>();
    const sender = new CommandSender({ transport: redisCommandTransport(link, keys), resendMs: 60_000, maxTries: 3, idPrefix: 'c-gone-', isGone: (id) => gone.has(id) });
    sender.start();
    const first = sender.send('srv-gone', { type: 'drain' });
    gone.add('srv-gone');
    await sender.tick();
    expect(await first).toMatchObject({ ok: false, reason: 'drain c-gone-1 to srv-gone dropped: the server is gone' });
    const second = sender.send('srv-other', { type: 'drain' });
    await sender.stop();
    expect(await second).toMatchObject({ ok: false, reason: 'drain c-gone-2 to srv-other not confirmed: the balancer stopped' });
  });
});
