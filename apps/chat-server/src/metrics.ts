// The once-a-second metrics write: one MULTI with the server's sorted-set scores, its hash, and its room shares.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { RedisKeys } from '@chatfleet/protocol';
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

/**
 * Writes the server's metrics. Keeps what it last reported per room so that
 * `chat-rooms:clients` moves by deltas and `server:{id}:rooms` always holds
 * exactly this server's contribution.
 */
/** How often the event-loop sampler ticks, ms. */
const LOOP_SAMPLE_MS = 10;

export class MetricsWriter {
  private reported = new Map<string, number>();
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

  /** One MULTI with everything; on failure the room deltas stay unreported and are sent next time. */
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
    const roomsKey = keys.serverRooms(id);
    multi.del(roomsKey);
    const counts = figures.rooms.counts;
    if (counts.size > 0) {
      const fields: Record<string, string> = {};
      for (const [chatId, count] of counts) fields[chatId] = String(count);
      multi.hSet(roomsKey, fields);
    }
    let dropped = false;
    for (const [chatId, delta] of roomDeltas(this.reported, counts)) {
      multi.zIncrBy(keys.roomsClients, delta, chatId);
      if (delta < 0) dropped = true;
    }
    // A room whose fleet-wide count reached zero has no contributor left: drop it.
    if (dropped) multi.zRemRangeByScore(keys.roomsClients, '-inf', 0);
    for (const [chatId, writes] of figures.rooms.writes) {
      multi.zIncrBy(keys.roomsCumulativeSocketWrites, writes, chatId);
    }
    await multi.exec();
    this.reported = counts;
  }

  /** Stops the event-loop sampler. */
  close(): void {
    this.loopDelay.disable();
  }
}

/** Per-room changes from what was reported to what is now: entries with a non-zero delta. */
export function roomDeltas(reported: ReadonlyMap<string, number>, now: ReadonlyMap<string, number>): Map<string, number> {
  const deltas = new Map<string, number>();
  for (const [chatId, count] of now) {
    const delta = count - (reported.get(chatId) ?? 0);
    if (delta !== 0) deltas.set(chatId, delta);
  }
  for (const [chatId, count] of reported) {
    if (!now.has(chatId) && count !== 0) deltas.set(chatId, -count);
  }
  return deltas;
}
