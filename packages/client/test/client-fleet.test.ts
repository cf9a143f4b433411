// The client against a real fleet (redis-server, balancer process, forked chat servers): reconnect, redirect, drain, resume, dedupe.
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ChatClient, connect, type ChatMessage, type SocketLike } from '../src/index.js';
import { fleetBuilt, startFleet, until, type TestFleet } from './support/fleet.js';

const built = fleetBuilt();
let fleet: TestFleet;
const clients: ChatClient[] = [];

beforeAll(async () => {
  if (built) fleet = await startFleet({ fleetMin: 2 });
}, 60_000);

// Each test starts from an empty fleet, so a redistribute can only move that test's users.
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await fleet?.stop();
}, 30_000);

interface Handle {
  client: ChatClient;
  seen: ChatMessage[];
  /** The sockets the client opened, newest last. */
  sockets: WebSocket[];
}

async function user(name: string): Promise<Handle> {
  const sockets: WebSocket[] = [];
  const client = await connect({
    balancer: fleet.url,
    user: name,
    backoff: { baseMs: 50, maxMs: 500 },
    socketFactory: (url) => {
      const socket = new WebSocket(url, { perMessageDeflate: false });
      sockets.push(socket);
      return socket as unknown as SocketLike;
    },
  });
  clients.push(client);
  const seen: ChatMessage[] = [];
  client.on('message', (m) => seen.push(m));
  return { client, seen, sockets };
}

/** A user on the SSE fallback (transport: 'sse'). */
async function sseUser(name: string): Promise<Handle> {
  const client = await connect({ balancer: fleet.url, user: name, transport: 'sse', backoff: { baseMs: 50, maxMs: 500 } });
  clients.push(client);
  const seen: ChatMessage[] = [];
  client.on('message', (m) => seen.push(m));
  return { client, seen, sockets: [] };
}

/** Puts two users in `room` on different servers (moving one if the balancer put them together). */
async function pairOnTwoServers(room: string, a: string, b: string, bOverSse = false): Promise<[Handle, Handle]> {
  await fleet.waitReady(2, 20_000);
  const first = await user(a);
  const second = bOverSse ? await sseUser(b) : await user(b);
  await first.client.join(room);
  await second.client.join(room);
  if (first.client.serverId === second.client.serverId) {
    const response = await fleet.admin('POST', `/servers/${second.client.serverId}/redistribute`, { count: 1 });
    expect(response.status).toBe(202);
    await until(() => first.client.serverId !== second.client.serverId, 'the two users on different servers');
  }
  await until(() => first.client.isLive(room) && second.client.isLive(room), 'both live');
  return [first, second];
}

describe.skipIf(!built)('client against a real fleet', () => {
  it('comes back after its server is killed, re-registers with since and misses nothing', async () => {
    const [alice, bob] = await pairOnTwoServers('kill-room', 'alice-k', 'bob-k');
    await alice.client.send('kill-room', 'before');
    await until(() => bob.seen.length === 1, 'bob got the first message');
    const servers = await fleet.servers();
    const victim = servers.find((s) => s.id === bob.client.serverId);
    expect(victim?.pid).toBeTypeOf('number');
    process.kill(victim?.pid as number, 'SIGKILL');
    await until(() => bob.client.state !== 'open', 'bob noticing the drop');
    // Alice is on the surviving server and keeps talking while bob is away.
    await alice.client.send('kill-room', 'during 1');
    await alice.client.send('kill-room', 'during 2');
    await until(() => bob.client.isLive('kill-room'), 'bob back in the room', 20_000);
    await alice.client.send('kill-room', 'after');
    await until(() => bob.seen.length >= 4, 'bob has all four');
    expect(bob.seen.map((m) => m.message)).toEqual(['before', 'during 1', 'during 2', 'after']);
    expect(bob.client.serverId).not.toBe(victim?.id);
    expect(bob.client.stats.reconnects).toBeGreaterThanOrEqual(1);
    expect(bob.client.stats.duplicatesDropped).toBe(0);
  }, 40_000);

  it('follows a redistribute to another server and keeps receiving in order', async () => {
    const [alice, bob] = await pairOnTwoServers('move-room', 'alice-m', 'bob-m');
    const from = bob.client.serverId;
    await alice.client.send('move-room', 'm1');
    // Bob is alone on his server. (A `fraction` is applied to the balancer's last per-second client count,
    // which may not include users who connected less than a second ago.)
    const response = await fleet.admin('POST', `/servers/${from}/redistribute`, { count: 1 });
    expect(response.status).toBe(202);
    // Keep sending while bob moves.
    for (let i = 2; i <= 6; i++) {
      await alice.client.send('move-room', `m${i}`).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 30));
    }
    // Make before break: bob stays live on the old server until the new one has registered him.
    await until(() => bob.client.serverId !== from && bob.client.isLive('move-room'), 'bob moved and live', 20_000);
    await until(() => alice.client.isLive('move-room'), 'alice live');
    await alice.client.send('move-room', 'm7');
    const sentByAlice = alice.seen.map((m) => m.message);
    await until(() => bob.seen.length >= sentByAlice.length + 1 || bob.seen.at(-1)?.message === 'm7', 'bob has m7');
    expect(bob.client.serverId).not.toBe(from);
    const ids = bob.seen.map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(bob.seen.map((m) => m.message)).toEqual(alice.seen.map((m) => m.message));
  }, 40_000);

  it('makes the new connection before it breaks the old one: deliveries go on during the move', async () => {
    const [alice, bob] = await pairOnTwoServers('mbb-room', 'alice-mbb', 'bob-mbb');
    const from = bob.client.serverId;
    const events: string[] = [];
    bob.client.on('redirect', () => events.push('redirect'));
    let oldOpenAtMove: boolean | undefined;
    bob.client.on('moved', () => {
      events.push('moved');
      oldOpenAtMove = bob.sockets[socketsBefore - 1]?.readyState === WebSocket.OPEN;
    });
    bob.client.on('message', (m) => events.push(`message ${m.message}`));
    let sending = true;
    let n = 0;
    const pump = (async () => {
      while (sending) {
        await alice.client.send('mbb-room', `p${n++}`).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await until(() => bob.seen.length >= 5, 'bob receiving');
    const socketsBefore = bob.sockets.length;
    const response = await fleet.admin('POST', `/servers/${from}/redistribute`, { count: 1 });
    expect(response.status).toBe(202);
    await until(() => events.includes('moved'), 'bob moved', 20_000);
    await until(() => bob.seen.length >= n - 2, 'bob caught up');
    sending = false;
    await pump;
    await until(() => bob.seen.at(-1)?.message === alice.seen.at(-1)?.message, 'bob has the last message', 10_000);
    // The old connection was still open when the new one had registered every room, then closed.
    expect(events.indexOf('redirect')).toBeLessThan(events.indexOf('moved'));
    expect(oldOpenAtMove).toBe(true);
    expect(bob.sockets.length).toBe(socketsBefore + 1);
    await until(() => bob.sockets[socketsBefore - 1]?.readyState === WebSocket.CLOSED, 'the old socket closed');
    expect(bob.client.serverId).not.toBe(from);
    expect(bob.client.stats.moves).toBe(1);
    expect(bob.client.stats.duplicatesDropped).toBe(0);
    expect(bob.seen.map((m) => m.message)).toEqual(alice.seen.map((m) => m.message));
  }, 40_000);

  it('moves off a drained server (DELETE /servers/:id) and the fleet keeps serving it', async () => {
    const [alice, bob] = await pairOnTwoServers('drain-room', 'alice-d', 'bob-d');
    const from = bob.client.serverId as string;
    const response = await fleet.admin('DELETE', `/servers/${from}`);
    expect(response.status).toBe(202);
    await until(() => bob.client.serverId !== from && bob.client.isLive('drain-room'), 'bob off the drained server', 20_000);
    await until(() => alice.client.isLive('drain-room'), 'alice live', 20_000);
    await alice.client.send('drain-room', 'still here');
    await until(() => bob.seen.some((m) => m.message === 'still here'), 'bob gets the next message');
    // Bring the fleet back to two servers for the next tests.
    await fleet.waitReady(2, 20_000).catch(async () => {
      await fleet.admin('POST', '/servers');
      await fleet.waitReady(2, 20_000);
    });
  }, 60_000);

  it('drops what a server sends twice: a replay from before the last seen id', async () => {
    const alice = await user('alice-dup');
    await alice.client.join('dup-room');
    for (const text of ['a', 'b', 'c']) await alice.client.send('dup-room', text);
    await until(() => alice.seen.length === 3, 'three messages');
    // Behind the client's back, leave and register again from the start of history on the same socket:
    // the server replays ids the client has already seen.
    const socket = alice.sockets.at(-1) as WebSocket;
    socket.send(JSON.stringify({ type: 'leave', payload: { chatId: 'dup-room' } }));
    socket.send(JSON.stringify({ type: 'register', payload: { chatId: 'dup-room', since: '0-0' } }));
    await until(() => alice.client.stats.duplicatesDropped >= 3, 'the replayed copies dropped');
    await alice.client.send('dup-room', 'd');
    await until(() => alice.seen.length === 4, 'the next message');
    expect(alice.seen.map((m) => m.message)).toEqual(['a', 'b', 'c', 'd']);
  }, 20_000);

  it('watches users across servers, counting each user once however often it is named', async () => {
    const [alice] = await pairOnTwoServers('watch-room', 'watch-alice', 'watch-bob');
    const statuses: Array<{ userId: string; online: boolean }> = [];
    alice.client.on('status', (status) => statuses.push(status));

    alice.client.watch(['watch-bob', 'watch-bob', 'watch-carol']);
    await until(() => statuses.length >= 3, 'one status per user named');
    expect(statuses.slice(0, 3)).toEqual([
      { userId: 'watch-bob', online: true },
      { userId: 'watch-bob', online: true },
      { userId: 'watch-carol', online: false },
    ]);

    // 98 more distinct users make 100 watched; naming watched ones again must not count against the limit.
    alice.client.watch(Array.from({ length: 98 }, (_, i) => `watch-u${i}`));
    expect(() => alice.client.watch(['watch-bob', 'watch-carol'])).not.toThrow();
    expect(() => alice.client.watch(['watch-one-too-many'])).toThrow(/at most 100/);

    // carol comes online on whatever server she is given: alice hears it fleet-wide.
    const carol = await user('watch-carol');
    await until(() => statuses.some((s) => s.userId === 'watch-carol' && s.online), 'carol to show online');
    await carol.client.close();
    await until(
      () => statuses.filter((s) => s.userId === 'watch-carol').at(-1)?.online === false,
      'carol to show offline again',
    );
  });

  it('chats over the SSE fallback with a websocket user on another server and follows a redirect without loss', async () => {
    const [alice, bob] = await pairOnTwoServers('sse-room', 'alice-sse', 'bob-sse', true);
    expect(bob.client.transport).toBe('sse');
    expect(alice.client.transport).toBe('websocket');
    const fromBob = await bob.client.send('sse-room', 'up by POST');
    await until(() => alice.seen.some((m) => m.id === fromBob), 'alice gets bob\'s message');
    await alice.client.send('sse-room', 's1');
    await until(() => bob.seen.some((m) => m.message === 's1'), 'bob gets s1 down the event stream');
    const from = bob.client.serverId;
    const response = await fleet.admin('POST', `/servers/${from}/redistribute`, { count: 1 });
    expect(response.status).toBe(202);
    for (let i = 2; i <= 5; i++) await alice.client.send('sse-room', `s${i}`).catch(() => undefined);
    await until(() => bob.client.serverId !== from && bob.client.isLive('sse-room'), 'bob moved and live', 20_000);
    await alice.client.send('sse-room', 's6');
    await until(() => bob.seen.at(-1)?.message === 's6', 'bob has s6');
    expect(bob.client.serverId).not.toBe(from);
    expect(bob.client.transport).toBe('sse');
    expect(bob.seen.map((m) => m.message)).toEqual(alice.seen.map((m) => m.message));
    // Copies from the two connections of the move are dropped without counting as duplicates.
    expect(bob.client.stats.duplicatesDropped).toBe(0);
  }, 40_000);
});
