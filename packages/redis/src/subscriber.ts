// The connections a bus receives on: SUBSCRIBE on one Redis (single or a Sentinel's master), SSUBSCRIBE on a Cluster.
import { createClient, createCluster } from 'redis';
import type { NodeClient } from './link.js';
import type { RedisNodeAddress, RedisTarget } from '@chatfleet/protocol/redis-url';

/** Receives every message of every channel of one subscriber connection. */
export type Dispatch = (message: string, channel: string) => void;

/** What a subscriber connection reports to its bus. */
export interface SubscriberEvents {
  /** The connection dropped or failed (on a Cluster, the one to `node`, host:port): messages may be lost from now until it is back. */
  onDown(why: string, node?: string): void;
  /** The connection is back (node-redis resubscribed it by itself). */
  onBack(why: string): void;
  /** Cluster: channels moved to another master (a slot migrated); what was published meanwhile may be gone. */
  onMoved(why: string): void;
  onError(err: unknown): void;
}

/** One subscriber connection (for a Cluster, one per master, managed by node-redis). */
export interface Subscriber {
  connect(): Promise<void>;
  subscribe(channel: string): Promise<void>;
  /** Subscribes many channels at once (one command where the form allows it). */
  subscribeAll(channels: readonly string[]): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  /**
   * Cluster only: true when the slot map changed since the last call (a slot
   * migrated, a master failed over). Redis unsubscribes the channels of a slot
   * that moves, and node-redis subscribes them again on the new owner without
   * saying so: what was published between the two is gone.
   */
  topologyChanged?(): boolean;
  /** Closes at once; nothing is delivered afterwards. */
  destroy(): void;
}

export interface SubscriberSettings {
  connectTimeoutMs: number;
  reconnectDelay: (retries: number) => number;
}

/**
 * How node-redis keeps one channel's listeners (the argument of
 * `extendPubSubChannelListeners`). One object serves every channel of a
 * subscriber, where `subscribe(channel, listener)` would make an object and two
 * sets per channel: a chat server subscribes one channel per connected user.
 * Nothing in node-redis changes the object as long as channels are only
 * subscribed with it and unsubscribed without a listener (which drops the
 * channel's entry whole). `subscriber.test.ts` fails loudly if an upgrade
 * breaks this.
 */
export interface SharedListeners {
  unsubscribing: boolean;
  buffers: Set<never>;
  strings: Set<Dispatch>;
}

/** SUBSCRIBE on one plain Redis connection: a single Redis, or the current master of a Sentinel group. */
export class NodeSubscriber implements Subscriber {
  private readonly client: NodeClient;
  private readonly shared: SharedListeners;
  private connected = false;

  constructor(options: Parameters<typeof createClient>[0], dispatch: Dispatch, events: SubscriberEvents) {
    this.client = createClient(options) as unknown as NodeClient;
    this.shared = { unsubscribing: false, buffers: new Set(), strings: new Set([dispatch]) };
    this.client.on('error', (err: unknown) => events.onError(err));
    this.client.on('reconnecting', () => events.onDown('subscriber reconnecting'));
    this.client.on('end', () => {
      if (this.connected) events.onDown('subscriber connection ended');
    });
    this.client.on('ready', () => {
      if (this.connected) events.onBack('subscriber reconnected');
    });
  }

  async connect(): Promise<void> {
    await this.client.connect();
    this.connected = true;
  }

  subscribe(channel: string): Promise<void> {
    return this.client.extendPubSubChannelListeners('CHANNELS', channel, this.shared as never);
  }

  async subscribeAll(channels: readonly string[]): Promise<void> {
    if (channels.length === 0) return;
    await this.client.extendPubSubListeners('CHANNELS', new Map(channels.map((c) => [c, this.shared as never])));
  }

  async unsubscribe(channel: string): Promise<void> {
    await this.client.unsubscribe(channel);
  }

  destroy(): void {
    this.connected = false;
    try {
      this.client.destroy();
    } catch {
      // never connected: nothing to close
    }
  }
}

/** node-redis' internal event that asks a cluster client to subscribe listeners of dropped nodes again. */
const RESUBSCRIBE_EVENT = '__resubscribeListeners';

/** SSUBSCRIBE through a Cluster client, which keeps one connection per master and follows slot moves. */
export class ShardedSubscriber implements Subscriber {
  private readonly cluster: {
    connect(): Promise<unknown>;
    destroy(): void;
    sSubscribe(channel: string, listener: Dispatch): Promise<void>;
    sUnsubscribe(channel: string): Promise<void>;
    on(event: string, listener: (...args: never[]) => void): unknown;
    readonly slots: ReadonlyArray<{ master: { host: string; port: number } } | undefined>;
  };
  /** The master of every slot when last looked at (host:port). */
  private slotMasters: string[] = [];
  /** Shard subscriber connections already watched for moved channels. */
  private readonly watched = new WeakSet<object>();
  private destroyed = false;

  constructor(
    options: Parameters<typeof createCluster>[0],
    private readonly dispatch: Dispatch,
    private readonly events: SubscriberEvents,
  ) {
    this.cluster = createCluster(options) as unknown as ShardedSubscriber['cluster'];
    this.cluster.on('error', (err: unknown) => events.onError(err));
    this.cluster.on('node-error', (err: unknown) => events.onError(err));
    const node = (info: { host?: string; port?: number } | undefined) => (info?.host === undefined ? undefined : `${info.host}:${info.port}`);
    this.cluster.on('node-reconnecting', (info: { host?: string; port?: number }) => events.onDown('a shard subscriber is reconnecting', node(info)));
    this.cluster.on('node-disconnect', (info: { host?: string; port?: number }) => events.onDown('a shard subscriber disconnected', node(info)));
    this.cluster.on('sharded-channel-moved-error', (err: unknown) => {
      events.onError(err);
      events.onDown('a moved shard channel could not be subscribed again');
    });
    this.cluster.on('node-ready', () => events.onBack('a shard subscriber is back'));
    this.replaceResubscribe();
  }

  /**
   * When a rediscovery drops a master that held subscriptions, node-redis
   * subscribes its channels again on their new owners from an internal event
   * (`__resubscribeListeners`), without handling the promises: a subscribe that
   * fails there (the new owner not reachable yet, or this client destroyed by
   * a rebuild meanwhile) is an unhandled rejection, which ends the process.
   * The same work is done here with the failure handled: the bus hears of it
   * as a subscriber down, and its canary then rebuilds the connection.
   * Nothing is replaced when node-redis no longer listens to that event
   * (`resubscribeHandled`, which `cluster.test.ts` in this package checks).
   */
  private replaceResubscribe(): void {
    const cluster = this.cluster as unknown as {
      listeners(event: string): Array<(...args: unknown[]) => void>;
      removeAllListeners(event: string): unknown;
      on(event: string, listener: (listeners: { SHARDED?: Map<string, unknown> }) => void): unknown;
    };
    if (cluster.listeners(RESUBSCRIBE_EVENT).length !== 1) return;
    cluster.removeAllListeners(RESUBSCRIBE_EVENT);
    cluster.on(RESUBSCRIBE_EVENT, this.resubscribe);
  }

  private readonly resubscribe = (listeners: { SHARDED?: Map<string, unknown> }): void => {
    // This subscriber only ever subscribes sharded channels, each with the one dispatch function.
    for (const channel of listeners.SHARDED?.keys() ?? []) {
      this.cluster.sSubscribe(channel, this.dispatch).then(
        () => this.watchMoves(),
        (err: unknown) => {
          if (this.destroyed) return; // refused because this connection was replaced: nothing to tell
          this.events.onError(err);
          this.events.onDown(`shard channel ${channel} could not be subscribed again after a failover`);
        },
      );
    }
  };

  /** Whether node-redis' resubscription after a rediscovery is this class's, failures handled (for the package's tests). */
  get resubscribeHandled(): boolean {
    const listeners = (this.cluster as unknown as { listeners(event: string): unknown[] }).listeners(RESUBSCRIBE_EVENT);
    return listeners.length === 1 && listeners[0] === this.resubscribe;
  }

  async connect(): Promise<void> {
    await this.cluster.connect();
  }

  async subscribe(channel: string): Promise<void> {
    await this.cluster.sSubscribe(channel, this.dispatch);
    this.watchMoves();
  }

  async subscribeAll(channels: readonly string[]): Promise<void> {
    await Promise.all(channels.map((channel) => this.cluster.sSubscribe(channel, this.dispatch)));
    this.watchMoves();
  }

  /**
   * When a slot moves, Redis unsubscribes its channels and node-redis
   * subscribes them again on the new owner, saying so only to the shard
   * connection (`sharded-channel-moved`). Whatever is published between the
   * two is gone, and messages arriving after the move must not be delivered
   * before that gap is filled: so the bus must hear of it at once, not at the
   * next look at the slot map. The shard connections are node-redis internals
   * (`_slots.masters[].pubSub.client`); `cluster.test.ts` in this package
   * fails loudly if an upgrade moves them.
   */
  watchMoves(): number {
    const masters = (this.cluster as unknown as { _slots?: { masters?: Array<{ pubSub?: { client?: unknown } }> } })._slots?.masters ?? [];
    let watched = 0;
    for (const master of masters) {
      const client = master.pubSub?.client as { on?: (event: string, listener: (channel: string) => void) => void } | undefined;
      if (client === undefined || typeof client.on !== 'function') continue;
      watched += 1;
      if (this.watched.has(client)) continue;
      this.watched.add(client);
      client.on('sharded-channel-moved', (channel: string) => this.events.onMoved(`shard channel ${channel} moved to another master`));
    }
    return watched;
  }

  async unsubscribe(channel: string): Promise<void> {
    await this.cluster.sUnsubscribe(channel);
  }

  topologyChanged(): boolean {
    this.watchMoves();
    const slots = this.cluster.slots;
    let changed = this.slotMasters.length !== slots.length;
    if (changed) this.slotMasters = new Array<string>(slots.length).fill('');
    for (let i = 0; i < slots.length; i++) {
      const master = slots[i]?.master;
      const name = master === undefined ? '' : `${master.host}:${master.port}`;
      if (this.slotMasters[i] !== name) {
        this.slotMasters[i] = name;
        changed = true;
      }
    }
    return changed;
  }

  destroy(): void {
    this.destroyed = true;
    try {
      this.cluster.destroy();
    } catch {
      // never connected: nothing to close
    }
  }
}

/**
 * A subscriber of the kind `target` calls for. For a Sentinel group it
 * connects to `master`, the master the command link follows right now; the
 * bus makes a new one when the group fails over.
 */
export function makeSubscriber(
  target: RedisTarget,
  master: RedisNodeAddress | undefined,
  settings: SubscriberSettings,
  dispatch: Dispatch,
  events: SubscriberEvents,
): Subscriber {
  const socket = { connectTimeout: settings.connectTimeoutMs, reconnectStrategy: settings.reconnectDelay };
  if (target.mode === 'single') return new NodeSubscriber({ url: target.url, socket }, dispatch, events);
  const auth = {
    ...(target.username === undefined ? {} : { username: target.username }),
    ...(target.password === undefined ? {} : { password: target.password }),
  };
  const nodeSocket = target.tls ? { ...socket, tls: true as const } : socket;
  if (target.mode === 'sentinel') {
    if (master === undefined) throw new Error('the Sentinel group names no master yet');
    return new NodeSubscriber({ ...auth, socket: { ...nodeSocket, host: master.host, port: master.port } }, dispatch, events);
  }
  return new ShardedSubscriber(
    {
      rootNodes: target.nodes.map((n) => ({ socket: { host: n.host, port: n.port } })),
      defaults: { ...auth, socket: nodeSocket },
    },
    dispatch,
    events,
  );
}
