// The bus on a real Redis: routing, subscribe/unsubscribe churn, and noticing every way a subscriber can miss messages.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bus, RedisLink } from '../src/index.js';
import { NodeSubscriber, type SharedListeners } from '../src/subscriber.js';
import { adminClient, startTestRedis, uniquePrefix, type AdminClient, type TestRedis } from '../../../test/support/redis-server.js';
import { startTcpProxy, type TcpProxy } from '@chatfleet/redis-server/tcp-proxy';
import { waitFor } from '../../../test/support/wait.js';

let redis: TestRedis;
let admin: AdminClient;

beforeAll(async () => {
  redis = await startTestRedis();
  admin = await adminClient(redis);
});

afterAll(async () => {
  await admin?.close();
  await redis?.stop();
});

/** A link and a started bus on `url`, with fast probes; `received` collects `room:` messages. */
async function openBus(url: string, prefix: string, probeTimeoutMs = 400) {
  const link = new RedisLink(url, { connectTimeoutMs: 1000 });
  link.on('error', () => undefined);
  await link.connect();
  const bus = new Bus({
    link,
    probeChannel: (tag) => `${prefix}probe:{${tag === '' ? 'p' : tag}}`,
    probeIntervalMs: 100,
    probeTimeoutMs,
    connectTimeoutMs: 1000,
  });
  bus.on('error', () => undefined);
  const received: string[] = [];
  const gaps: string[] = [];
  bus.route(`${prefix}room:`, (message) => received.push(message));
  bus.on('gap', (why) => gaps.push(why));
  await bus.start();
  return {
    link,
    bus,
    received,
    gaps,
    close: async () => {
      await bus.close();
      await link.close();
    },
  };
}

async function subscribers(channel: string): Promise<number> {
  const reply = await admin.pubSubNumSub(channel);
  return Number(reply[channel] ?? 0);
}

describe('Bus', () => {
  it('routes each channel to its prefix, and stops when unsubscribed', async () => {
    const prefix = uniquePrefix('bus-route');
    const b = await openBus(redis.url, prefix);
    const users: string[] = [];
    b.bus.route(`${prefix}user:`, (message, channel) => users.push(`${channel}=${message}`));
    try {
      await b.bus.subscribe(`${prefix}room:{a}`);
      await b.bus.subscribe(`${prefix}user:{u}`);
      await admin.publish(`${prefix}room:{a}`, 'hello');
      await admin.publish(`${prefix}user:{u}`, 'direct');
      await waitFor('both messages', () => b.received.length === 1 && users.length === 1);
      expect(b.received).toEqual(['hello']);
      expect(users).toEqual([`${prefix}user:{u}=direct`]);
      await b.bus.unsubscribe(`${prefix}room:{a}`);
      expect(await subscribers(`${prefix}room:{a}`)).toBe(0);
      expect(b.bus.healthy).toBe(true);
    } finally {
      await b.close();
    }
  });

  it('keeps a channel subscribed that comes back while its unsubscribe is in flight, and drops one that comes and goes twice', async () => {
    const prefix = uniquePrefix('bus-churn');
    const b = await openBus(redis.url, prefix);
    try {
      const back = `${prefix}room:{back}`;
      await b.bus.subscribe(back);
      // One turn: the UNSUBSCRIBE is still unanswered when the channel is wanted again.
      void b.bus.unsubscribe(back);
      const again = b.bus.subscribe(back);
      await again;
      await waitFor('the channel subscribed again', async () => (await subscribers(back)) === 1);
      await admin.publish(back, 'still here');
      await waitFor('the message', () => b.received.includes('still here'));

      const twice = `${prefix}room:{twice}`;
      void b.bus.subscribe(twice);
      void b.bus.unsubscribe(twice);
      void b.bus.subscribe(twice);
      await b.bus.unsubscribe(twice);
      // A later subscription on the same connection is answered after every command above.
      await b.bus.subscribe(`${prefix}room:{marker}`);
      expect(await subscribers(twice)).toBe(0);
      expect(b.bus.channelCount).toBe(2);
    } finally {
      await b.close();
    }
  });

  it('shares one listener object across channels (node-redis internals it relies on)', async () => {
    const subscriber = new NodeSubscriber({ url: redis.url }, () => undefined, {
      onDown: () => undefined,
      onBack: () => undefined,
      onMoved: () => undefined,
      onError: () => undefined,
    });
    await subscriber.connect();
    try {
      await subscriber.subscribe('shared:a');
      await subscriber.subscribeAll(['shared:b', 'shared:c']);
      await subscriber.unsubscribe('shared:b');
      const client = (subscriber as unknown as { client: { getPubSubListeners(type: string): Map<string, SharedListeners> } }).client;
      const listeners = client.getPubSubListeners('CHANNELS');
      expect([...listeners.keys()].sort()).toEqual(['shared:a', 'shared:c']);
      expect(listeners.get('shared:a')).toBe(listeners.get('shared:c'));
      expect(listeners.get('shared:a')?.strings.size).toBe(1);
      expect(listeners.get('shared:a')?.unsubscribing).toBe(false);
    } finally {
      subscriber.destroy();
    }
  });

  it('announces a gap after Redis drops its subscriber (CLIENT KILL TYPE pubsub), and receives again', async () => {
    const prefix = uniquePrefix('bus-kill');
    const b = await openBus(redis.url, prefix);
    try {
      await b.bus.subscribe(`${prefix}room:{k}`);
      const killedAt = Date.now();
      await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
      await waitFor('a gap notice', () => b.gaps.length > 0, 5000);
      expect(Date.now() - killedAt).toBeLessThan(5000);
      expect(b.bus.healthy).toBe(true);
      await admin.publish(`${prefix}room:{k}`, 'after');
      await waitFor('the message after the drop', () => b.received.includes('after'));
    } finally {
      await b.close();
    }
  });

  it('notices a subscriber that goes silent without dropping, replaces it, and announces the gap', async () => {
    const prefix = uniquePrefix('bus-silent');
    const proxy: TcpProxy = await startTcpProxy(redis.port);
    const b = await openBus(proxy.url, prefix);
    try {
      await b.bus.subscribe(`${prefix}room:{s}`);
      const subscriberConnection = proxy.connections.find((c) => c.sent.toUpperCase().includes('SUBSCRIBE'));
      expect(subscriberConnection).toBeDefined();
      const silentAt = Date.now();
      subscriberConnection!.blackhole();
      await waitFor('the bus to notice', () => !b.bus.healthy, 5000);
      await waitFor('a gap notice after the subscriber was replaced', () => b.gaps.length > 0, 5000);
      const detectedMs = Date.now() - silentAt;
      expect(detectedMs).toBeLessThan(5000);
      expect(b.bus.stats.rebuilds).toBeGreaterThanOrEqual(1);
      expect(b.bus.stats.probesMissed).toBeGreaterThanOrEqual(1);
      await admin.publish(`${prefix}room:{s}`, 'heard again');
      await waitFor('the message on the new subscriber', () => b.received.includes('heard again'));
      expect(b.received.filter((m) => m === 'heard again')).toHaveLength(1);
    } finally {
      await b.close();
      await proxy.stop();
    }
  });
});
