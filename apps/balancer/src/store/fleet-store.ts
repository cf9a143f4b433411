// The balancer's one seam to Redis: every read and write of the fleet's shared state goes through here, by keys.* and the protocol's scripts.
import {
  ACQUIRE_LEASE_SCRIPT,
  CLAIM_SERVER_SCRIPT,
  isId,
  leaseValue,
  parseBalancerCommand,
  parseLeaseValue,
  RELEASE_LEASE_SCRIPT,
  RENEW_LEASE_SCRIPT,
  type BalancerCommand,
  type RedisKeys,
  type ServerCommand,
} from '@chatfleet/protocol';
import { Bus, RedisScript, removeServer } from '@chatfleet/redis';
import type { HostFigures } from '../load/host-load.js';
import type { Logger } from '../log.js';
import type { RedisClient } from '../redis/client.js';
import { parseServerHash, type ServerHash } from './server-hash.js';

const acquireLease = new RedisScript(ACQUIRE_LEASE_SCRIPT);
const renewLease = new RedisScript(RENEW_LEASE_SCRIPT);
const releaseLease = new RedisScript(RELEASE_LEASE_SCRIPT);
const claimServer = new RedisScript(CLAIM_SERVER_SCRIPT);

type Scored = Array<{ value: string; score: number }>;

/** One read of the fleet's per-second tables and the hashes of the servers in them. */
export interface RawMetrics {
  /** Server ids in `servers:clients`. */
  listed: string[];
  clients: Map<string, number>;
  cumulativeWrites: Map<string, number>;
  eventLoopMs: Map<string, number>;
  fanouts: Map<string, number>;
  roomMessages: Map<string, number>;
  roomWrites: Map<string, number>;
  /** Hashes that exist, by server id. */
  hashes: Map<string, ServerHash>;
  /** Each server's `server:{id}:rooms` share (room -> connections), for servers whose hash exists. */
  roomShares: Map<string, Map<string, number>>;
}

/** One balancer as its hash describes it. */
export interface BalancerHash {
  id: string;
  url: string;
  host: string;
  startedAt: number;
  heartbeat: number;
  /** Its chat servers that are not gone, starting ones included. */
  servers: number;
  starting: number;
  /** Children it ever forked (a counter). */
  spawns: number;
  /** Its host's CPU figures over the last HOST_SAMPLE_WINDOW_MS (extension; absent until measured). */
  hostFigures?: HostFigures | undefined;
}

/** The balancers of the fleet and the lease, as read in one turn. */
export interface FleetPeers {
  balancers: BalancerHash[];
  lease: { holder: string; token: number } | undefined;
}

export interface FleetStoreOptions {
  redis: RedisClient;
  keys: RedisKeys;
  log: Logger;
  /** This balancer's id (its hash, its command channel, the lease holder). */
  balancerId: string;
  /** How long a balancer hash outlives its last heartbeat, ms. */
  balancerTtlMs: number;
  busProbeIntervalMs: number;
  busProbeTimeoutMs: number;
  connectTimeoutMs: number;
}

/**
 * Every Redis call of the balancer. Each call touches one key or one hash
 * slot: fleet-wide sorted sets one command at a time, a server's or a
 * balancer's keys by their own tag, the lease and its token counter under the
 * shared `{fleet}` tag; no MULTI or script spans two of them.
 */
export class FleetStore {
  private readonly redis: RedisClient;
  private readonly keys: RedisKeys;
  private bus: Bus | undefined;

  constructor(private readonly options: FleetStoreOptions) {
    this.redis = options.redis;
    this.keys = options.keys;
  }

  /** True while the command connection is up. */
  get isReady(): boolean {
    return this.redis.isReady;
  }

  /** Subscribes to `event` on the link (`down`, `up`). */
  onLink(event: 'down' | 'up', listener: (why: string) => void): () => void {
    this.redis.on(event, listener);
    return () => this.redis.off(event, listener);
  }

  // ---- metrics ---------------------------------------------------------------------------------

  /** Reads the per-second tables, then the hash and rooms share of every listed or `known` server. */
  async readMetrics(known: Iterable<string>): Promise<RawMetrics> {
    const k = this.keys;
    const c = this.redis.commands;
    const [clients, writes, loops, fanouts, roomMessages, roomWrites] = (await Promise.all([
      c.zRangeWithScores(k.serversClients, 0, -1),
      c.zRangeWithScores(k.serversCumulativeSocketWrites, 0, -1),
      c.zRangeWithScores(k.serversEventLoop, 0, -1),
      c.zRangeWithScores(k.serversFanout, 0, -1),
      c.zRangeWithScores(k.roomsCumulativeMessages, 0, -1),
      c.zRangeWithScores(k.roomsCumulativeSocketWrites, 0, -1),
    ])) as unknown as Scored[];
    const listed = (clients ?? []).map((e) => e.value).filter((id) => isId(id));
    const ids = [...new Set([...listed, ...known])];
    // One read per hash: on a Cluster each server's keys live in its own slot.
    const replies = (await Promise.all(ids.flatMap((id) => [c.hGetAll(k.server(id)), c.hGetAll(k.serverRooms(id))]))) as unknown as Array<
      Record<string, string>
    >;
    const hashes = new Map<string, ServerHash>();
    const roomShares = new Map<string, Map<string, number>>();
    ids.forEach((id, i) => {
      const raw = replies[2 * i] ?? {};
      if (Object.keys(raw).length === 0) return;
      hashes.set(id, parseServerHash(id, raw));
      const share = new Map<string, number>();
      for (const [room, count] of Object.entries(replies[2 * i + 1] ?? {})) {
        const n = Number(count);
        if (n > 0) share.set(room, n);
      }
      roomShares.set(id, share);
    });
    return {
      listed,
      clients: scores(clients),
      cumulativeWrites: scores(writes),
      eventLoopMs: scores(loops),
      fanouts: scores(fanouts),
      roomMessages: scores(roomMessages),
      roomWrites: scores(roomWrites),
      hashes,
      roomShares,
    };
  }

  /**
   * Writes `chat-rooms:clients`, the fleet-wide connections per room: one
   * key replaced whole (DEL + ZADD in one MULTI on that one key).
   */
  async writeRoomTotals(totals: ReadonlyMap<string, number>): Promise<void> {
    const key = this.keys.roomsClients;
    const multi = this.redis.multi().del(key);
    if (totals.size > 0) multi.zAdd(key, [...totals].map(([value, score]) => ({ score, value })));
    await multi.exec();
  }

  // ---- servers ---------------------------------------------------------------------------------

  /**
   * Removes a server's keys and its share of presence and online counts;
   * watchers hear of users that went offline with it.
   */
  async removeServer(id: string): Promise<void> {
    await removeServer(this.redis, this.keys, id);
  }

  /** Marks a server `draining` in its hash at once, so peers and other balancers stop sending clients to it. Never creates the hash. */
  async markDraining(id: string): Promise<void> {
    if ((await this.redis.commands.exists(this.keys.server(id))) === 0) return;
    await this.redis.commands.hSet(this.keys.server(id), 'status', 'draining');
  }

  /** Makes this balancer the owner of server `id` if its owner is still `expected` ('' = none). */
  async claimServer(id: string, expected: string): Promise<boolean> {
    const result = await this.redis.run(claimServer, [this.keys.server(id)], [expected, this.options.balancerId]);
    return Number(result) === 1;
  }

  /** Publishes a command on a server's channel; resolves with how many subscribers got it. */
  async commandServer(id: string, command: ServerCommand): Promise<number> {
    return this.redis.publish(this.keys.serverCommands(id), JSON.stringify(command));
  }

  // ---- balancers and the lease -----------------------------------------------------------------

  /** Writes this balancer's hash (with an expiry) and its heartbeat in the member list. */
  async writeBalancer(info: BalancerHash): Promise<void> {
    const key = this.keys.balancer(info.id);
    const c = this.redis.commands;
    const multi = this.redis.multi();
    multi.hSet(key, {
      id: info.id,
      url: info.url,
      host: info.host,
      startedAt: String(info.startedAt),
      heartbeat: String(info.heartbeat),
      servers: String(info.servers),
      starting: String(info.starting),
      spawns: String(info.spawns),
      ...(info.hostFigures === undefined ? {} : { hostFigures: encodeHostFigures(info.hostFigures) }),
    });
    multi.pExpire(key, this.options.balancerTtlMs);
    await Promise.all([multi.exec(), c.zAdd(this.keys.balancers, { score: info.heartbeat, value: info.id })]);
  }

  /** Reads every balancer of the fleet with a heartbeat newer than `since`, and the lease. Members older than `pruneBefore` are removed. */
  async readPeers(since: number, pruneBefore: number): Promise<FleetPeers> {
    const c = this.redis.commands;
    const [members, lease] = await Promise.all([c.zRangeWithScores(this.keys.balancers, 0, -1) as unknown as Promise<Scored>, c.get(this.keys.leaderLease)]);
    const stale = members.filter((m) => m.score < pruneBefore).map((m) => m.value);
    if (stale.length > 0) await c.zRem(this.keys.balancers, stale);
    const fresh = members.filter((m) => m.score >= since && isId(m.value)).map((m) => m.value);
    const hashes = (await Promise.all(fresh.map((id) => c.hGetAll(this.keys.balancer(id))))) as unknown as Array<Record<string, string>>;
    const balancers: BalancerHash[] = [];
    fresh.forEach((id, i) => {
      const raw = hashes[i] ?? {};
      if (Object.keys(raw).length === 0) return;
      balancers.push({
        id,
        url: raw.url ?? '',
        host: raw.host ?? '',
        startedAt: Number(raw.startedAt ?? 0),
        heartbeat: Number(raw.heartbeat ?? 0),
        servers: Number(raw.servers ?? 0),
        starting: Number(raw.starting ?? 0),
        spawns: Number(raw.spawns ?? 0),
        hostFigures: decodeHostFigures(raw.hostFigures, raw.host ?? ''),
      });
    });
    return { balancers, lease: parseLeaseValue(typeof lease === 'string' ? lease : null) };
  }

  /** Takes the lease when free; resolves with the new token, or 0 when someone holds it. */
  async acquireLease(leaseMs: number, floorToken: number): Promise<number> {
    const k = this.keys;
    return Number(await this.redis.run(acquireLease, [k.leaderLease, k.leaderToken], [this.options.balancerId, String(leaseMs), String(floorToken)]));
  }

  /** Extends our lease; false when it is no longer ours. */
  async renewLease(token: number, leaseMs: number): Promise<boolean> {
    const value = leaseValue(token, this.options.balancerId);
    return Number(await this.redis.run(renewLease, [this.keys.leaderLease], [value, String(leaseMs)])) === 1;
  }

  /** Gives our lease up (planned stop). */
  async releaseLease(token: number): Promise<void> {
    await this.redis.run(releaseLease, [this.keys.leaderLease], [leaseValue(token, this.options.balancerId)]);
  }

  /** Removes this balancer from the fleet (planned stop). */
  async removeBalancer(): Promise<void> {
    const id = this.options.balancerId;
    await Promise.all([this.redis.commands.zRem(this.keys.balancers, id), this.redis.commands.del(this.keys.balancer(id))]);
  }

  /** Publishes a command for balancer `id`; resolves with how many subscribers got it (0: it is not listening). */
  async commandBalancer(id: string, command: BalancerCommand): Promise<number> {
    return this.redis.publish(this.keys.balancerCommands(id), JSON.stringify(command));
  }

  /** Subscribes to this balancer's own command channel. */
  async listen(handler: (command: BalancerCommand) => void): Promise<void> {
    const { log, balancerId } = this.options;
    const bus = new Bus({
      link: this.redis,
      probeChannel: (tag) => this.keys.busProbe(balancerId, tag),
      probeIntervalMs: this.options.busProbeIntervalMs,
      probeTimeoutMs: this.options.busProbeTimeoutMs,
      connectTimeoutMs: this.options.connectTimeoutMs,
    });
    bus.on('error', (err: unknown) => log.debug({ err }, 'balancer subscriber error'));
    const channel = this.keys.balancerCommands(balancerId);
    bus.route(channel, (message) => {
      const command = parseBalancerCommand(message);
      if (command === undefined) log.warn({ message: message.slice(0, 200) }, 'ignoring a malformed balancer command');
      else handler(command);
    });
    this.bus = bus;
    await bus.start();
    await bus.subscribe(channel);
  }

  /** Stops listening. */
  async closeListener(): Promise<void> {
    await this.bus?.close();
    this.bus = undefined;
  }

  // ---- shutdown --------------------------------------------------------------------------------

  /** True when a server not in `ours`, or a balancer other than this one, still has a fresh heartbeat. */
  async othersAlive(ours: ReadonlySet<string>, timeoutMs: number): Promise<boolean> {
    const c = this.redis.commands;
    const now = Date.now();
    const members = (await c.zRangeWithScores(this.keys.balancers, 0, -1)) as unknown as Scored;
    if (members.some((m) => m.value !== this.options.balancerId && now - m.score <= timeoutMs)) return true;
    const ids = (await c.zRange(this.keys.serversClients, 0, -1)).map(String).filter((id) => isId(id) && !ours.has(id));
    for (const id of ids) {
      const heartbeat = await c.hGet(this.keys.server(id), 'heartbeat');
      if (heartbeat !== null && heartbeat !== undefined && now - Number(heartbeat) <= timeoutMs) return true;
    }
    return false;
  }

  /**
   * Deletes every key of this fleet with SCAN over its patterns on every master
   * (never FLUSH: the Redis may be shared), one UNLINK per key since on a
   * Cluster the keys of one page live in many slots.
   */
  async deleteFleetKeys(): Promise<number> {
    let removed = 0;
    for (const pattern of this.keys.fleetKeyPatterns) {
      for await (const batch of this.redis.scan(pattern)) {
        const counts = await Promise.all(batch.map((key) => this.redis.commands.unlink(key)));
        removed += counts.reduce((a, b) => a + Number(b), 0);
      }
    }
    return removed;
  }

  /** Answers when Redis does. */
  async ping(): Promise<void> {
    await this.redis.commands.ping();
  }

  /** Closes the listener and the connection. */
  async close(): Promise<void> {
    await this.closeListener().catch(() => undefined);
    await this.redis.close().catch(() => undefined);
  }
}

function scores(entries: Scored | undefined): Map<string, number> {
  return new Map((entries ?? []).map((e) => [e.value, e.score]));
}

/** A host's figures as a balancer hash field: JSON without the per-process figures (only the host's own balancer needs them). */
export function encodeHostFigures(figures: HostFigures): string {
  const { cores, busyShare, fleetShare, othersShare, windowMs, at } = figures;
  return JSON.stringify({ cores, busyShare, fleetShare, othersShare, windowMs, at });
}

/** Reads the `hostFigures` field back; undefined when absent or malformed. */
export function decodeHostFigures(text: string | undefined, hostId: string): HostFigures | undefined {
  if (text === undefined || text === '') return undefined;
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);
    const cores = num(v.cores);
    const busyShare = num(v.busyShare);
    const fleetShare = num(v.fleetShare);
    const othersShare = num(v.othersShare);
    const windowMs = num(v.windowMs);
    const at = num(v.at);
    if (cores === undefined || busyShare === undefined || fleetShare === undefined || othersShare === undefined || windowMs === undefined || at === undefined) return undefined;
    return { hostId, cores, busyShare, fleetShare, othersShare, windowMs, at, processCores: new Map() };
  } catch {
    return undefined;
  }
}
