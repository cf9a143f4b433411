// The bus on a real Cluster: probes on every master, and a slot that moves under a subscribed channel noticed at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { command, masterOfSlot, migrateSlot, startRedisCluster, type RedisClusterGroup } from '@chatfleet/redis-server/cluster';
import { Bus, RedisLink } from '../src/index.js';
import { ShardedSubscriber } from '../src/subscriber.js';
import { waitFor } from '../../../test/support/wait.js';

let cluster: RedisClusterGroup;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 0 });
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('the bus on a Cluster', () => {
  it('watches the shard connections of node-redis (the internals it relies on)', async () => {
    const subscriber = new ShardedSubscriber(
      { rootNodes: cluster.nodes.map((n) => ({ socket: { host: '127.0.0.1', port: n.port } })) },
      () => undefined,
      { onDown: () => undefined, onBack: () => undefined, onMoved: () => undefined, onError: () => undefined },
    );
    await subscriber.connect();
    try {
      await subscriber.subscribeAll(['watch:{a}', 'watch:{b}', 'watch:{c}', 'watch:{d}', 'watch:{e}']);
      expect(subscriber.watchMoves()).toBeGreaterThan(0);
    } finally {
      subscriber.destroy();
    }
  });

  it('subscribes again after a rediscovery with failures handled: no unhandled rejection, the bus told', async () => {
    const received: string[] = [];
    const downs: string[] = [];
    const subscriber = new ShardedSubscriber(
      { rootNodes: cluster.nodes.map((n) => ({ socket: { host: '127.0.0.1', port: n.port } })) },
      (message) => received.push(message),
      { onDown: (why) => downs.push(why), onBack: () => undefined, onMoved: () => undefined, onError: () => undefined },
    );
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const raw = (subscriber as unknown as { cluster: { emit(event: string, listeners: unknown): boolean } }).cluster;
    const link = new RedisLink(cluster.url);
    link.on('error', () => undefined);
    await link.connect();
    try {
      // node-redis still asks through its internal event, and the listener is this package's.
      expect(subscriber.resubscribeHandled).toBe(true);
      await subscriber.connect();
      // What a rediscovery hands over for a dropped master: its sharded listeners, subscribed again here.
      raw.emit('__resubscribeListeners', { SHARDED: new Map([['again:{x}', {}]]) });
      await waitFor('the channel subscribed again', async () => (await link.publish('again:{x}', 'hello')) > 0);
      await waitFor('its message', () => received.includes('hello'));
      // Destroyed meanwhile (the bus replaced the connection): the refused subscribe is neither thrown nor told.
      subscriber.destroy();
      raw.emit('__resubscribeListeners', { SHARDED: new Map([['again:{y}', {}]]) });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(unhandled).toEqual([]);
      // (Its own sockets closing say "disconnected"; the bus ignores a replaced connection's events.)
      expect(downs.filter((why) => /subscribed again/.test(why))).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      subscriber.destroy();
      await link.close();
    }
  });

  it('keeps a probe on every master, and hears of a slot that moves under a channel at once', async () => {
    const link = new RedisLink(cluster.url);
    link.on('error', () => undefined);
    await link.connect();
    // A long probe interval: only the move itself can explain a quick suspicion.
    const bus = new Bus({ link, probeChannel: (tag) => `move-probe:{${tag}}`, probeIntervalMs: 5000, probeTimeoutMs: 5000, connectTimeoutMs: 2000 });
    bus.on('error', () => undefined);
    const heard: string[] = [];
    const events: string[] = [];
    bus.route('moving:', (message) => heard.push(message));
    bus.on('suspect', (why) => events.push(`suspect ${why}`));
    bus.on('gap', (why) => events.push(`gap ${why}`));
    await bus.start();
    try {
      const channel = 'moving:{room-7}';
      await bus.subscribe(channel);
      await link.publish(channel, 'before');
      await waitFor('the message before the move', () => heard.includes('before'));
      // One probe per master (a round after start corrects a slot map read while the cluster settled).
      await waitFor('one probe per master', () => bus.probeCount === 3, 12_000);
      expect(bus.probeCount).toBe(3);

      const slot = Number(await command(cluster.nodes[0]!.port, ['CLUSTER', 'KEYSLOT', channel]));
      const from = await masterOfSlot(cluster.nodes[0]!.port, slot);
      const to = cluster.nodes.find((n) => n.port !== from)!.port;
      const movedAt = Date.now();
      await migrateSlot(cluster, slot, to);
      await waitFor('the bus to suspect the moved channel', () => events.some((e) => e.startsWith('suspect')), 2000);
      expect(Date.now() - movedAt).toBeLessThan(2000);
      await waitFor('the gap announced once the probes come back', () => events.some((e) => e.startsWith('gap')), 5000);
      await waitFor('the channel subscribed on its new master', async () => (await link.publish(channel, 'after')) > 0 && heard.includes('after'), 5000);
    } finally {
      await bus.close();
      await link.close();
    }
  });
});
