// One connection to the fleet's Redis, whatever REDIS_URL names: a single Redis, a Sentinel group or a Cluster.
import { EventEmitter } from 'node:events';
import calculateSlot from 'cluster-key-slot';
import { createClient, createCluster, createSentinel, type RedisClientType } from 'redis';
import type { RedisScript } from './script.js';
import { parseRedisUrl, redactUrl, type RedisMode, type RedisNodeAddress, type RedisTarget } from '@chatfleet/protocol/redis-url';

/** A plain node-redis client, as `createClient` makes it. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export type NodeClient = RedisClientType<{}, {}, {}, 3, {}>;

/**
 * The commands chatfleet sends. The single, Sentinel and Cluster clients of
 * node-redis share these signatures (a Cluster client routes each by its key),
 * so code written against this type runs on all three.
 */
export type RedisCommands = Pick<
  NodeClient,
  | 'hSet'
  | 'hGet'
  | 'hGetAll'
  | 'hKeys'
  | 'hmGet'
  | 'hLen'
  | 'hDel'
  | 'hIncrBy'
  | 'exists'
  | 'del'
  | 'unlink'
  | 'get'
  | 'set'
  | 'incr'
  | 'pExpire'
  | 'xAdd'
  | 'xRange'
  | 'xRevRange'
  | 'xLen'
  | 'zAdd'
  | 'zRem'
  | 'zRange'
  | 'zRangeWithScores'
  | 'zIncrBy'
  | 'zScore'
  | 'eval'
  | 'evalSha'
  | 'ping'
>;

/** A MULTI whose commands all touch one hash slot (a Cluster refuses anything else). */
export type RedisMulti = ReturnType<NodeClient['multi']>;

/** Socket settings every connection of a link shares. */
export interface LinkOptions {
  /** Deadline of each connection attempt, ms. */
  connectTimeoutMs?: number;
  /** Delay before reconnect attempt `retries` (0-based), ms; default 50 ms doubling up to 2 s. */
  reconnectDelay?: (retries: number) => number;
  /** Sentinel only: how often to rescan the sentinels for a new topology, ms (node-redis keeps it off unless set). */
  sentinelScanIntervalMs?: number;
  /**
   * How long a command may wait to be written (while the connection is down)
   * before it fails, ms; 0 = it waits for the connection to come back.
   * Default: node-redis's 5000. node-redis arms an `AbortSignal.timeout` for
   * every command that has a timeout, even one written at once: a timer and a
   * signal that live 5 s, outlive two scavenges and end up as old-space
   * garbage, several per client connect on a chat server.
   */
  commandTimeoutMs?: number;
}

/**
 * Events of a link:
 * - `error` (err): a connection failed; every client needs a listener, so the link always has one.
 * - `down` (why): a connection to a node went down; commands queue or fail meanwhile.
 * - `up` (why): a connection came back after a `down`, or a Sentinel failover finished. The data
 *   behind it may differ (a Redis restarted empty, a promoted replica that missed the last writes).
 */
export interface LinkEvents {
  error: [err: unknown];
  down: [why: string];
  up: [why: string];
}

type AnyRedis = {
  connect(): Promise<unknown>;
  close(): Promise<unknown>;
  destroy(): void;
  readonly isReady: boolean;
  on(event: string, listener: (...args: never[]) => void): unknown;
};

const defaultDelay = (retries: number): number => Math.min(50 * 2 ** retries, 2000);

/** How often, and how far apart, a script answered TRYAGAIN (a slot migrating) is tried again. */
const TRYAGAIN_ATTEMPTS = 40;
const TRYAGAIN_DELAY_MS = 25;

/**
 * The fleet's Redis as one object: the commands (`commands`), scripts by SHA
 * (`run`), publishing on the form's pub/sub (PUBLISH, or sharded SPUBLISH on a
 * Cluster), single-slot MULTIs, WAIT on the master that holds a key, SCAN over
 * every master, and new connections of the same kind for subscribers. Nothing
 * outside this package needs to know which form REDIS_URL took.
 */
export class RedisLink extends EventEmitter<LinkEvents> {
  readonly mode: RedisMode;
  /** REDIS_URL with its password hidden. */
  readonly description: string;
  readonly commands: RedisCommands;
  /** The PUBLISH command of this form: `SPUBLISH` on a Cluster (sharded pub/sub), else `PUBLISH`. */
  readonly publishCommand: 'PUBLISH' | 'SPUBLISH';
  readonly target: RedisTarget;
  private readonly client: AnyRedis;
  private wasDown = false;
  private connected = false;
  /** Sentinel: the master the group named last (from its MASTER_CHANGE events). */
  private sentinelMaster: RedisNodeAddress | undefined = undefined;

  /** `url` is REDIS_URL (kept for `duplicate()`, never logged: `description` hides its password). */
  constructor(
    private readonly url: string,
    private readonly options: LinkOptions = {},
  ) {
    super();
    this.target = parseRedisUrl(url);
    this.mode = this.target.mode;
    this.description = redactUrl(url);
    this.publishCommand = this.mode === 'cluster' ? 'SPUBLISH' : 'PUBLISH';
    this.client = makeClient(this.target, options);
    this.commands = this.client as unknown as RedisCommands;
    this.watch();
  }

  /** Connects (for a Cluster: discovers the slots); rejects when the first connection fails. */
  async connect(): Promise<void> {
    await this.client.connect();
    this.connected = true;
  }

  /** True while commands can be sent (for a Cluster: the cluster client is ready). */
  get isReady(): boolean {
    return this.client.isReady;
  }

  /**
   * Runs a script by SHA, loading it with EVAL when Redis does not know it (a
   * restart, a new master). On a Cluster, a script whose keys are split by a
   * slot migration under way is answered TRYAGAIN: it is tried again shortly.
   */
  async run(script: RedisScript, keys: string[], args: string[]): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.runOnce(script, keys, args);
      } catch (error) {
        if (!(error instanceof Error && error.message.startsWith('TRYAGAIN')) || attempt >= TRYAGAIN_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, TRYAGAIN_DELAY_MS));
      }
    }
  }

  private async runOnce(script: RedisScript, keys: string[], args: string[]): Promise<unknown> {
    try {
      return await this.commands.evalSha(script.sha, { keys, arguments: args });
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
        return this.commands.eval(script.source, { keys, arguments: args });
      }
      throw error;
    }
  }

  /**
   * Loads scripts on every master (SCRIPT LOAD), so that EVALSHA finds them:
   * at start and after a reconnect or failover, when Redis may have lost them.
   * `run` falls back to EVAL anyway; loading first keeps that rare.
   */
  async load(scripts: readonly RedisScript[]): Promise<void> {
    await Promise.all([...this.masterClients()].flatMap((node) => scripts.map((script) => node.scriptLoad(script.source))));
  }

  /** Publishes on this form's pub/sub; resolves with how many subscribers (of that shard) received it. */
  async publish(channel: string, message: string): Promise<number> {
    const c = this.client as unknown as {
      publish(channel: string, message: string): Promise<number>;
      sPublish(channel: string, message: string): Promise<number>;
    };
    return this.mode === 'cluster' ? c.sPublish(channel, message) : c.publish(channel, message);
  }

  /** A MULTI; every key in it must share one hash slot (the layout's hash tags make sure of it). */
  multi(): RedisMulti {
    return (this.client as unknown as NodeClient).multi();
  }

  /**
   * WAIT for `replicas` replicas to confirm every write made so far on the
   * connection that serves `key` (the master of its slot). Resolves with the
   * number that confirmed within `timeoutMs`.
   */
  async wait(key: string, replicas: number, timeoutMs: number): Promise<number> {
    const args = ['WAIT', String(replicas), String(timeoutMs)];
    if (this.mode === 'cluster') {
      const cluster = this.client as unknown as { sendCommand(firstKey: string, ro: boolean, args: string[]): Promise<number> };
      return Number(await cluster.sendCommand(key, false, args));
    }
    if (this.mode === 'sentinel') {
      const sentinel = this.client as unknown as { sendCommand(ro: boolean, args: string[]): Promise<number> };
      return Number(await sentinel.sendCommand(false, args));
    }
    return Number(await (this.client as unknown as NodeClient).sendCommand(args));
  }

  /** Every key matching `pattern`, in pages, from every master (SCAN never FLUSH: the Redis may be shared). */
  async *scan(pattern: string, count = 500): AsyncGenerator<string[]> {
    for (const node of this.masterClients()) {
      let cursor = '0';
      do {
        const reply = await node.scan(cursor, { MATCH: pattern, COUNT: count });
        cursor = String(reply.cursor);
        if (reply.keys.length > 0) yield reply.keys.map(String);
      } while (cursor !== '0');
    }
  }

  /** The masters' addresses right now (one for a single Redis or a Sentinel group). */
  masters(): RedisNodeAddress[] {
    if (this.mode === 'cluster') {
      const cluster = this.client as unknown as { masters: Array<{ host: string; port: number }> };
      return cluster.masters.map((m) => ({ host: m.host, port: m.port }));
    }
    if (this.mode === 'sentinel') {
      const node =
        this.sentinelMaster ?? (this.client as unknown as { getMasterNode(): RedisNodeAddress | undefined }).getMasterNode();
      return node === undefined ? [] : [{ host: node.host, port: node.port }];
    }
    return [];
  }

  /**
   * The slot of a key or channel (`CLUSTER KEYSLOT`); 0 outside a Cluster,
   * where there is only one.
   */
  async slotOf(name: string): Promise<number> {
    if (this.mode !== 'cluster') return 0;
    const cluster = this.client as unknown as { sendCommand(firstKey: string | undefined, ro: boolean, args: string[]): Promise<number> };
    return Number(await cluster.sendCommand(undefined, true, ['CLUSTER', 'KEYSLOT', name]));
  }

  /** The master that serves `key` (or a channel), as host:port; '' outside a Cluster, where there is one. */
  masterOf(key: string): string {
    return this.mode === 'cluster' ? this.masterOfSlot(calculateSlot(key)) : '';
  }

  /** The master that serves `slot`, as host:port; '' outside a Cluster. */
  masterOfSlot(slot: number): string {
    if (this.mode !== 'cluster') return '';
    const cluster = this.client as unknown as { slots: Array<{ master: { host: string; port: number } } | undefined> };
    const master = cluster.slots[slot]?.master;
    return master === undefined ? '' : `${master.host}:${master.port}`;
  }

  /** A new, unconnected link of the same kind and settings (for a subscriber or a second writer). */
  duplicate(): RedisLink {
    return new RedisLink(this.url, this.options);
  }

  /** Closes gracefully: queued commands are answered first. */
  async close(): Promise<void> {
    await this.client.close();
  }

  /** Closes at once; pending commands fail. */
  destroy(): void {
    this.client.destroy();
  }

  /**
   * The node-redis object underneath, for the bus in this package (sharded
   * subscriptions on a Cluster, the Sentinel's topology events).
   */
  get raw(): unknown {
    return this.client;
  }

  private watch(): void {
    const client = this.client;
    client.on('error', (err: unknown) => this.emit('error', err));
    const down = (why: string) => {
      this.wasDown = true;
      this.emit('down', why);
    };
    const up = (why: string) => {
      if (!this.wasDown) return;
      this.wasDown = false;
      this.emit('up', why);
    };
    if (this.mode === 'cluster') {
      client.on('node-reconnecting', () => down('a cluster node is reconnecting'));
      client.on('node-disconnect', () => down('a cluster node disconnected'));
      client.on('node-ready', () => up('a cluster node is back'));
      return;
    }
    client.on('reconnecting', () => down('reconnecting'));
    client.on('end', () => down('connection ended'));
    client.on('ready', () => up('reconnected'));
    if (this.mode === 'sentinel') {
      client.on('topology-change', (event: { type: string; node?: RedisNodeAddress }) => {
        if (event.type !== 'MASTER_CHANGE') return;
        if (event.node !== undefined) this.sentinelMaster = { host: event.node.host, port: event.node.port };
        if (!this.connected) return; // the first discovery, not a failover
        this.wasDown = true;
        up(`the Sentinel group failed over to a new master (${event.node?.host}:${event.node?.port})`);
      });
    }
  }

  private *masterClients(): Iterable<NodeClient> {
    if (this.mode === 'cluster') {
      const cluster = this.client as unknown as { masters: Array<{ client?: NodeClient }> };
      for (const master of cluster.masters) if (master.client !== undefined) yield master.client;
      return;
    }
    yield this.client as unknown as NodeClient;
  }
}

function makeClient(target: RedisTarget, options: LinkOptions): AnyRedis {
  const socket = {
    connectTimeout: options.connectTimeoutMs ?? 5000,
    reconnectStrategy: options.reconnectDelay ?? defaultDelay,
  };
  const commandOptions = options.commandTimeoutMs === undefined ? {} : { commandOptions: { timeout: options.commandTimeoutMs } };
  if (target.mode === 'single') return createClient({ url: target.url, socket, ...commandOptions }) as unknown as AnyRedis;
  const auth = {
    ...(target.username === undefined ? {} : { username: target.username }),
    ...(target.password === undefined ? {} : { password: target.password }),
  };
  const tlsSocket = target.tls ? { ...socket, tls: true as const } : socket;
  if (target.mode === 'sentinel') {
    return createSentinel({
      name: target.name,
      sentinelRootNodes: target.sentinels,
      nodeClientOptions: { ...auth, socket: tlsSocket, ...commandOptions },
      sentinelClientOptions: { socket: tlsSocket },
      passthroughClientErrorEvents: true,
      ...(options.sentinelScanIntervalMs === undefined ? {} : { scanInterval: options.sentinelScanIntervalMs }),
    }) as unknown as AnyRedis;
  }
  return createCluster({
    rootNodes: target.nodes.map((n) => ({ socket: { host: n.host, port: n.port } })),
    defaults: { ...auth, socket: tlsSocket, ...commandOptions },
  }) as unknown as AnyRedis;
}
