// User channel subscriptions under churn: a user who comes back while its channel is being unsubscribed stays subscribed.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'redis';
import { pino } from 'pino';
import { redisKeys, type UserEvent } from '@chatfleet/protocol';
import { startTestRedis, uniquePrefix, type TestRedis } from '../../../test/support/redis-server.js';
import { waitFor } from '../../../test/support/wait.js';
import type { Connection } from '../src/connection.js';
import type { Redis } from '../src/lua.js';
import { Users } from '../src/users.js';

let server: TestRedis;
let redis: Redis;
let subscriber: Redis;
const log = pino({ level: 'silent' });

/** The part of a connection that Users touches, recording the frames it is sent. */
function fakeConnection(userId: string): Connection & { received: string[] } {
  const received: string[] = [];
  const fake = { userId, watched: undefined, received, sendFramed: (frame: Buffer) => received.push(frame.toString()) };
  return fake as unknown as Connection & { received: string[] };
}

beforeAll(async () => {
  server = await startTestRedis();
  redis = createClient({ url: server.url });
  subscriber = redis.duplicate();
  redis.on('error', () => undefined);
  subscriber.on('error', () => undefined);
  await Promise.all([redis.connect(), subscriber.connect()]);
});

afterEach(async () => {
  await subscriber.unsubscribe();
});

afterAll(async () => {
  subscriber?.destroy();
  redis?.destroy();
  await server?.stop();
});

describe('user channel subscriptions', () => {
  it('keeps a user subscribed who reconnects while the unsubscribe of its last connection is in flight', async () => {
    const keys = redisKeys(uniquePrefix('users'));
    const users = new Users(redis, subscriber, keys, 'srv-users', log);
    const first = fakeConnection('frank');
    const second = fakeConnection('frank');
    // One turn: the UNSUBSCRIBE is still unanswered when the second connection subscribes again.
    users.connect(first);
    users.disconnect(first);
    users.connect(second);

    await waitFor('the channel to be subscribed', async () => (await redis.pubSubNumSub(keys.user('frank')))[keys.user('frank')] === 1);
    const event: UserEvent = { kind: 'direct', payload: { id: '1-1@x', from: 'gina', to: 'frank', message: 'hi', ts: 1 } };
    await redis.publish(keys.user('frank'), JSON.stringify(event));
    await waitFor('the direct message', () => second.received.some((frame) => frame.includes('"hi"')));
    expect(first.received).toEqual([]);
    users.disconnect(second);
  });

  it('leaves no subscription behind when a user comes and goes twice in one turn', async () => {
    const keys = redisKeys(uniquePrefix('users'));
    const users = new Users(redis, subscriber, keys, 'srv-users', log);
    const first = fakeConnection('hal');
    const second = fakeConnection('hal');
    users.connect(first);
    users.disconnect(first);
    users.connect(second);
    users.disconnect(second);
    const channel = keys.user('hal');
    // A later subscription on the same connection is answered after every command above.
    await subscriber.subscribe(keys.user('marker'), () => undefined);
    await waitFor('the commands to settle', async () => (await redis.pubSubNumSub(channel))[channel] === 0);
    expect(subscriber.getPubSubListeners('CHANNELS').has(channel)).toBe(false);
  });

  it('delivers to every connection of a user and stops when the last one leaves', async () => {
    const keys = redisKeys(uniquePrefix('users'));
    const users = new Users(redis, subscriber, keys, 'srv-users', log);
    const a = fakeConnection('ivy');
    const b = fakeConnection('ivy');
    users.connect(a);
    users.connect(b);
    const channel = keys.user('ivy');
    await waitFor('the channel to be subscribed', async () => (await redis.pubSubNumSub(channel))[channel] === 1);
    const event: UserEvent = { kind: 'direct', payload: { id: '1-2@x', from: 'gina', to: 'ivy', message: 'both', ts: 1 } };
    await redis.publish(channel, JSON.stringify(event));
    await waitFor('both copies', () => a.received.length === 1 && b.received.length === 1);
    users.disconnect(a);
    users.disconnect(b);
    await waitFor('the channel to be dropped', async () => (await redis.pubSubNumSub(channel))[channel] === 0);
  });
});
