// The once-a-second metrics write: one MULTI with the server's sorted-set scores, its hash, and its room shares.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { ROOM_SHARES_SCRIPT, roomSharesArgs, type RedisKeys } from '@chatfleet/protocol';
import type { Redis } from './lua.js';
import type { RoomFigures } from './rooms.js';

/** What the hash `server:{id}` describes besides the live figures. */
export interface ServerIdentity {
  id: string;
  url: string;
  host: string;
  startedAt: number;
  managed: boolean;
}

/** Live figures for one write. */
export interface Figures {
  status: 'starting' | 'ready' | 'draining';
  clients: number;
  socketWrites: number;
  /** Room messages fanned out since the last write. */
  fanout: number;
  rooms: RoomFigures;
}

/** How often the event-loop sampler ticks, ms. */
const LOOP_SAMPLE_MS = 10;

/**
 * Writes the server's metrics. `server:{id}:rooms` always holds exactly this
 * server's contribution to `chat-rooms:clients`: ROOM_SHARES_SCRIPT moves the
 * sorted set by the difference from that hash inside Redis, so nothing here
 * remembers what was written, and a lost write or an emptied Redis (restarted
 * without persistence) is made good by the next write.
 */
export class MetricsWriter {
  private readonly loopDelay: IntervalHistogram;

  constructor(
    private readonly redis: Redis,
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

  /** One MULTI with everything; a failed write is simply superseded by the next one. */
  async write(figures: Figures): Promise<void> {
    const { id } = this.identity;
    const keys = this.keys;
    const memory = process.memoryUsage();
    const eventLoopMs = this.takeEventLoopMs();
    const multi = this.redis.multi();
    multi.zAdd(keys.serversClients, { score: figures.clients, value: id });
    multi.zAdd(keys.serversCumulativeSocketWrites, { score: figures.socketWrites, value: id });
    multi.zAdd(keys.serversEventLoop, { score: eventLoopMs, value: id });
    multi.zAdd(keys.serversFanout, { score: figures.fanout, value: id });
    multi.hSet(keys.server(id), {
      id,
      url: this.identity.url,
      pid: String(process.pid),
      host: this.identity.host,
      startedAt: String(this.identity.startedAt),
      heartbeat: String(Date.now()),
      status: figures.status,
      managed: this.identity.managed ? '1' : '0',
      rssBytes: String(memory.rss),
      heapUsedBytes: String(memory.heapUsed),
      clients: String(figures.clients),
    });
    // EVAL, not EVALSHA: inside MULTI a NOSCRIPT (after a Redis restart) would fail the whole write.
    multi.eval(ROOM_SHARES_SCRIPT, roomSharesArgs(keys, id, figures.rooms.counts));
    for (const [chatId, writes] of figures.rooms.writes) {
      multi.zIncrBy(keys.roomsCumulativeSocketWrites, writes, chatId);
    }
    await multi.exec();
  }

  /** Stops the event-loop sampler. */
  close(): void {
    this.loopDelay.disable();
  }
}
