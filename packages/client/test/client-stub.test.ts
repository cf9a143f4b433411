// The client's reconnect, redirect, resume, dedupe and send rules, against a stub fleet on real sockets with exact control over failures.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChatClient, ChatClientError, connect, type ChatMessage, type ClientState } from '../src/index.js';
import { StubFleet } from './support/stub-fleet.js';
import { waitFor } from '../../../test/support/wait.js';

let fleet: StubFleet;
const clients: ChatClient[] = [];

beforeEach(async () => {
  fleet = new StubFleet();
  await fleet.start(2);
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await fleet.stop();
});

async function open(user: string, extra: Partial<ConstructorParameters<typeof ChatClient>[0]> = {}): Promise<ChatClient> {
  const client = await connect({ balancer: fleet.balancer, user, backoff: { baseMs: 20, maxMs: 200 }, ...extra });
  clients.push(client);
  return client;
}

function collect(client: ChatClient): ChatMessage[] {
  const seen: ChatMessage[] = [];
  client.on('message', (m) => seen.push(m));
  return seen;
}

async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  await waitFor(what, check, timeoutMs, 10);
}

describe('client against a stub fleet', () => {
  it('connects, joins, sends and gets its message back once, resolving with the acked id', async () => {
    const alice = await open('alice');
    const seen = collect(alice);
    const states: ClientState[] = [];
    alice.on('state', ({ state }) => states.push(state));
    await alice.join('lobby');
    const id = await alice.send('lobby', 'hello');
    await until(() => seen.length === 1, 'the echo');
    expect(seen[0]).toMatchObject({ id, chatId: 'lobby', from: 'alice', message: 'hello' });
    expect(alice.state).toBe('open');
    await alice.close();
    expect(states).toEqual(['closed']);
    expect(alice.state).toBe('closed');
  });

  it('reconnects after its server dies, through a new provision, and resumes with since without loss or duplicates', async () => {
    const alice = await open('alice');
    const bob = await open('bob');
    const seen = collect(bob);
    await alice.join('lobby');
    await bob.join('lobby');
    await alice.send('lobby', 'one');
    await until(() => seen.length === 1, 'first message');
    const dead = fleet.servers.find((s) => s.id === bob.serverId);
    expect(dead).toBeDefined();
    const provisionsBefore = fleet.provisions.length;
    await dead?.kill();
    // While bob is away, alice (on the other server, or back quickly) sends more.
    await until(() => alice.isLive('lobby'), 'alice live again');
    await alice.send('lobby', 'two');
    await alice.send('lobby', 'three');
    await until(() => bob.isLive('lobby') && seen.length === 3, 'bob back with everything');
    expect(seen.map((m) => m.message)).toEqual(['one', 'two', 'three']);
    expect(bob.serverId).not.toBe(dead?.id);
    expect(fleet.provisions.length).toBeGreaterThan(provisionsBefore);
    const resume = fleet.servers
      .find((s) => s.id === bob.serverId)
      ?.registers.filter((r) => r.user === 'bob')
      .at(-1);
    expect(resume?.since).toBe(seen[0]?.id);
    expect(bob.stats.reconnects).toBeGreaterThanOrEqual(1);
  });

  it('resumes from the join point when it saw nothing before the drop', async () => {
    const alice = await open('alice');
    const bob = await open('bob');
    const seen = collect(bob);
    await alice.join('quiet');
    await bob.join('quiet');
    await fleet.servers.find((s) => s.id === bob.serverId)?.kill();
    await until(() => alice.isLive('quiet'), 'alice live');
    await alice.send('quiet', 'while bob was away');
    await until(() => seen.length === 1, 'the message sent during the gap');
    expect(seen[0]?.message).toBe('while bob was away');
  });

  it('resumes from the lastId of its first registration when it saw nothing before the drop', async () => {
    const alice = await open('alice');
    await alice.join('quiet');
    const before = await alice.send('quiet', 'before bob joined');
    const bob = await open('bob');
    const seen = collect(bob);
    const registered = await bob.join('quiet');
    expect(registered.lastId).toBe(before);
    const first = fleet.servers.find((s) => s.id === bob.serverId);
    await first?.kill();
    await until(() => bob.serverId !== undefined && bob.serverId !== first?.id && bob.isLive('quiet'), 'bob back');
    const again = fleet.servers.flatMap((s) => s.registers).filter((r) => r.user === 'bob' && r.since !== undefined);
    expect(again.map((r) => r.since)).toEqual([before]);
    expect(seen).toEqual([]); // nothing older than its join is replayed
  });

  it('follows a redistribute to the named server and registers its rooms again with since', async () => {
    const bob = await open('bob');
    await bob.join('lobby');
    await bob.join('other');
    const from = fleet.servers.find((s) => s.id === bob.serverId);
    const to = fleet.servers.find((s) => s.id !== bob.serverId);
    const redirects: string[] = [];
    bob.on('redirect', ({ url }) => redirects.push(url));
    const provisionsBefore = fleet.provisions.length;
    from?.redistribute(`${to?.url}?token=bob`);
    await until(() => bob.serverId === to?.id && bob.isLive('lobby') && bob.isLive('other'), 'bob on the target');
    expect(redirects).toHaveLength(1);
    expect(fleet.provisions.length).toBe(provisionsBefore); // went straight to the named server
    expect(to?.registers.filter((r) => r.user === 'bob').map((r) => r.chatId)).toEqual(['lobby', 'other']);
    expect(bob.stats.redirects).toBe(1);
  });

  it('provisions again when a redistribute names no server', async () => {
    const bob = await open('bob');
    await bob.join('lobby');
    const provisionsBefore = fleet.provisions.length;
    fleet.servers.find((s) => s.id === bob.serverId)?.redistribute('');
    await until(() => fleet.provisions.length > provisionsBefore && bob.isLive('lobby'), 'a new provision');
  });

  it('does not go back to a redirect target that failed; it provisions instead', async () => {
    const bob = await open('bob');
    await bob.join('lobby');
    const provisionsBefore = fleet.provisions.length;
    fleet.servers.find((s) => s.id === bob.serverId)?.redistribute('ws://127.0.0.1:1/?token=bob');
    await until(() => fleet.provisions.length > provisionsBefore && bob.isLive('lobby'), 'recovery through provision');
  });

  it('drops duplicate frames by id', async () => {
    const alice = await open('alice');
    const seen = collect(alice);
    const dups: string[] = [];
    alice.on('duplicate', ({ id }) => dups.push(id));
    await alice.join('lobby');
    for (const s of fleet.servers) s.behaviour.doubleFrames = true;
    await alice.send('lobby', 'a');
    await alice.send('lobby', 'b');
    await until(() => dups.length === 2, 'both duplicates');
    expect(seen.map((m) => m.message)).toEqual(['a', 'b']);
    expect(alice.stats.duplicatesDropped).toBe(2);
  });

  it('settles an unacked send from its echo in the replay after a reconnect, without sending it again', async () => {
    const alice = await open('alice', { sendTimeoutMs: 5_000 });
    await alice.join('lobby');
    const server = fleet.servers.find((s) => s.id === alice.serverId);
    if (server === undefined) throw new Error('no server');
    server.behaviour.swallowAcks = true;
    // The echo of a live frame would settle it at once; stop live delivery to alice's server to force the replay path.
    server.deliver = () => undefined;
    const sent = alice.send('lobby', 'maybe');
    await until(() => fleet.history('lobby').length === 1, 'the message published');
    await server.kill();
    const id = await sent;
    expect(id).toBe(fleet.history('lobby')[0]?.id);
    expect(fleet.history('lobby')).toHaveLength(1); // not sent twice
  });

  it('rejects a send that was never published with send_timeout after the timeout', async () => {
    const alice = await open('alice', { sendTimeoutMs: 300 });
    await alice.join('lobby');
    for (const s of fleet.servers) s.behaviour.dropChats = true;
    const error = await alice.send('lobby', 'lost').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChatClientError);
    expect((error as ChatClientError).code).toBe('send_timeout');
  });

  it.each(['rate_limited', 'unavailable'])(
    'rejects a send at once with %s when the server refuses it by clientId, emits the error, and does not send it again',
    async (code) => {
      const alice = await open('alice', { sendTimeoutMs: 10_000 });
      await alice.join('lobby');
      for (const s of fleet.servers) s.behaviour.refuseSends = code;
      const errors: string[] = [];
      alice.on('error', (e) => errors.push(e.code));
      const started = Date.now();
      const error = await alice.send('lobby', 'refused', { clientId: 'mine-1' }).catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(error).toBeInstanceOf(ChatClientError);
      expect(error).toMatchObject({ code, message: 'stub refused it' });
      expect(errors).toEqual([code]);
      expect(alice.pendingSends).toBe(0);
      expect(fleet.history('lobby')).toHaveLength(0);
      // The refusal settled only its own send: the next one goes through.
      for (const s of fleet.servers) s.behaviour.refuseSends = undefined;
      const id = await alice.send('lobby', 'accepted', { clientId: 'mine-2' });
      expect(fleet.history('lobby').map((e) => [e.id, e.clientId])).toEqual([[id, 'mine-2']]);
    },
  );

  it('rejects a refused direct message at once and leaves other pending sends waiting', async () => {
    const alice = await open('alice', { sendTimeoutMs: 10_000 });
    await alice.join('lobby');
    const server = fleet.servers.find((s) => s.id === alice.serverId);
    if (server === undefined) throw new Error('no server');
    server.behaviour.swallowAcks = true;
    server.deliver = () => undefined;
    // Stays pending (no ack, no echo) until close() rejects it.
    void alice.send('lobby', 'waiting', { clientId: 'chat-1' }).catch(() => undefined);
    await until(() => fleet.history('lobby').length === 1, 'the chat published');
    server.behaviour.refuseSends = 'forbidden';
    const started = Date.now();
    await expect(alice.direct('bob', 'psst', { clientId: 'direct-1' })).rejects.toMatchObject({ code: 'forbidden' });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(alice.pendingSends).toBe(1);
  });

  it('refuses sends to rooms it has not joined, and bad texts', async () => {
    const alice = await open('alice');
    await expect(alice.send('nowhere', 'x')).rejects.toMatchObject({ code: 'not_joined' });
    await alice.join('lobby');
    await expect(alice.send('lobby', '')).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(alice.send('lobby', 'x'.repeat(4097))).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(alice.join('bad room')).rejects.toMatchObject({ code: 'invalid_argument' });
  });

  it('retries a 503 from provision and gives up at once on a 403', async () => {
    fleet.failNext.push(503, 503);
    const retried = await open('alice');
    expect(retried.state).toBe('open');
    fleet.failNext.push(403);
    const client = new ChatClient({ balancer: fleet.balancer, user: 'mallory', backoff: { baseMs: 20 } });
    const error = await client.start().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'provision_failed', status: 403, remoteCode: 'forbidden' });
    expect(client.state).toBe('closed');
  });

  it('keeps trying while the balancer is unreachable and rejects pending work on close', async () => {
    const client = new ChatClient({ balancer: 'http://127.0.0.1:1', user: 'x', backoff: { baseMs: 10, maxMs: 20 } });
    const errors: string[] = [];
    client.on('error', (e) => errors.push(e.code));
    const started = client.start().catch((e: unknown) => e);
    const joined = client.join('lobby').catch((e: unknown) => e);
    await until(() => errors.length >= 3, 'several attempts');
    expect(errors.every((code) => code === 'balancer_unreachable')).toBe(true);
    await client.close();
    expect(await started).toMatchObject({ code: 'closed' });
    expect(await joined).toMatchObject({ code: 'closed' });
  });
});
