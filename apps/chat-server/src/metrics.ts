// The once-a-second metrics write: the server's hash and room share (one slot), then its rows in the fleet's sorted sets.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { abuseFields, REPLACE_HASH_SCRIPT, replaceCountsArgs, type AbuseCounts, type RedisKeys } from '@chatfleet/protocol';
import type { RedisLink } from '@chatfleet/redis';
import type { RoomFigures } from './rooms.js';

/** What the hash `server:{id}` describes besides the live figures. */
export interface ServerIdentity {
  id: string;
  url: string;
  host: string;
  startedAt: number;
  managed: boolean;
  /** HOST_ID of the machine it runs on. */
  hostId: string;
}

/** Live figures for one write. */
export interface Figures {
  status: 'starting' | 'ready' | 'draining';
  clients: number;
  /** True while the server holds `maxClients` clients and refuses new ones. */
  full: boolean;
  /** MAX_CONNECTIONS. */
  maxClients: number;
  socketWrites: number;
  /** Room messages fanned out since the last write. */
  fanout: number;
  rooms: RoomFigures;
  /** The newest fencing token this server has obeyed (0 before the first). */
  fence: number;
  /** The bus canary's verdict and the gap repairs so far (shown per server in `/servers`). */
  bus: { healthy: boolean; repairs: number; repairedMessages: number; rebuilds: number; probesMissed: number };
  /** Refused frames, abuse closes and refused upgrades since the server started, by reason. */
  abuse: AbuseCounts;
}

/** How often the event-loop sampler ticks, ms. */
const LOOP_SAMPLE_MS = 10;

/**
 * Writes the server's metrics. Its hash and `server:{id}:rooms` share a hash
 * slot and go in one MULTI: the rooms share is rewritten whole from what the
 * server holds, so a lost write or an emptied Redis is made good by the next
 * write (the balancer sums these shares into `chat-rooms:clients`). The rows
 * in the fleet-wide sorted sets are one command each: each set is its own key
 * (and on a Cluster, its own slot), and none needs to change with another.
 */
export class MetricsWriter {
  private readonly loopDelay: IntervalHistogram;

  constructor(
    private readonly redis: RedisLink,
    private readonly keys: RedisKeys,
    /** Mutable so that the URL can be filled in once the port is known. */
    readonly identity: ServerIdentity,
  ) {
    this.loopDelay = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS });
    this.loopDelay.enable();
  }

  /** p99 event-loop lag in ms since the last call; resets the sampler. */
  takeEventLoopMs(): number {
    // The sampler records the whole time between its ticks, so an idle loop
    // reads LOOP_SAMPLE_MS; the lag is what comes on top of it.
    const p99 = this.loopDelay.percentile(99) / 1e6 - LOOP_SAMPLE_MS;
    this.loopDelay.reset();
    return Number.isFinite(p99) ? Math.max(0, Math.round(p99 * 100) / 100) : 0;
  }

  /** One write of everything; a failed write is simply superseded by the next one. */
  async write(figures: Figures): Promise<void> {
    const { id } = this.identity;
    const keys = this.keys;
    const memory = this.memory();
    const eventLoopMs = this.takeEventLoopMs();
    const bus = figures.bus;
    const multi = this.redis.multi();
    multi.hSet(keys.server(id), {
      id,
      url: this.identity.url,
      pid: String(process.pid),
      host: this.identity.host,
      startedAt: String(this.identity.startedAt),
      heartbeat: String(Date.now()),
      hostId: this.identity.hostId,
      fence: String(figures.fence),
      managed: this.identity.managed ? '1' : '0',
      rssBytes: String(memory.rss),
      heapUsedBytes: String(memory.heapUsed),
      clients: String(figures.clients),
      full: figures.full ? '1' : '0',
      maxClients: String(figures.maxClients),
      busHealthy: bus.healthy ? '1' : '0',
      busRepairs: String(bus.repairs),
      busRepairedMessages: String(bus.repairedMessages),
      busRebuilds: String(bus.rebuilds),
      busProbesMissed: String(bus.probesMissed),
      ...abuseFields(figures.abuse),
    });
    // `draining` is final and always written. `ready` never overwrites it: a balancer marks the
    // server draining in its hash the moment it decides to drain it, before the command arrives,
    // so peers choosing where to send clients see it at once (a write of `ready` racing that
    // mark must not undo it).
    if (figures.status === 'draining') multi.hSet(keys.server(id), 'status', 'draining');
    else multi.hSetNX(keys.server(id), 'status', figures.status);
    // EVAL, not EVALSHA: inside MULTI a NOSCRIPT (after a Redis restart) would fail the whole write.
    const rooms = replaceCountsArgs(keys.serverRooms(id), figures.rooms.counts);
    multi.eval(REPLACE_HASH_SCRIPT, rooms);
    const c = this.redis.commands;
    const writes: Array<Promise<unknown>> = [
      multi.exec(),
      c.zAdd(keys.serversClients, { score: figures.clients, value: id }),
      c.zAdd(keys.serversCumulativeSocketWrites, { score: figures.socketWrites, value: id }),
      c.zAdd(keys.serversEventLoop, { score: eventLoopMs, value: id }),
      c.zAdd(keys.serversFanout, { score: figures.fanout, value: id }),
    ];
    for (const [chatId, n] of figures.rooms.writes) writes.push(c.zIncrBy(keys.roomsCumulativeSocketWrites, n, chatId));
    for (const [chatId, n] of figures.rooms.published) writes.push(c.zIncrBy(keys.roomsCumulativeMessages, n, chatId));
    await Promise.all(writes);
  }

  /**
   * RSS and heap. `process.memoryUsage()` reads /proc/self/stat, which takes a
   * file descriptor: with none free it throws, and a server must still write
   * its heartbeat then. The heap figure comes from V8 without a file; the RSS
   * stays at its last value until a descriptor is free again.
   */
  private memory(): { rss: number; heapUsed: number } {
    try {
      const { rss, heapUsed } = process.memoryUsage();
      this.lastRss = rss;
      return { rss, heapUsed };
    } catch {
      return { rss: this.lastRss, heapUsed: getHeapStatistics().used_heap_size };
    }
  }

  private lastRss = 0;

  /** Stops the event-loop sampler. */
  close(): void {
    this.loopDelay.disable();
  }
}
