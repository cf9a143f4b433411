// Reads the fleet's per-second metrics from Redis once a second and keeps 100-second histories per server and per room.
import { isId, type RedisKeys, type RoomHistory, type ServerHistory } from '@chatfleet/protocol';
import type { Logger } from '../log.js';
import type { RedisClient } from '../redis/client.js';
import { last, pushCapped, ratePerSecond } from './history.js';

/** A server's hash `server:{id}` as read from Redis (fields may be missing while a server starts). */
export interface ServerHash {
  id: string;
  url: string;
  pid: number | null;
  host: string;
  startedAt: number;
  /** ms epoch of the server's last write; 0 when absent. */
  heartbeat: number;
  status: string;
  managed: boolean;
  rssBytes: number;
  clients: number;
}

/** One second's read of the fleet. */
export interface Reading {
  at: number;
  /** Server ids found in `servers:clients`. */
  listed: string[];
  /** Hashes of listed and known servers; absent when the hash does not exist. */
  hashes: Map<string, ServerHash>;
  /**
   * Since when (ms epoch) the balancer's reads have been succeeding without a
   * break: its start, or the end of the last Redis outage or stall. Heartbeats
   * are judged only over the time after it (see load/liveness.ts).
   */
  steadySince: number;
}

interface ServerTrack {
  history: ServerHistory;
  rooms: string[];
  lastCumulativeWrites: number | undefined;
}

interface RoomTrack {
  history: RoomHistory;
  lastCumulativeMessages: number | undefined;
  lastCumulativeWrites: number | undefined;
}

export interface MetricsReaderOptions {
  intervalMs: number;
  log: Logger;
  /** Ids to read hashes for besides those listed in Redis (servers still starting). */
  knownIds: () => Iterable<string>;
  /** Called after every successful read. */
  onReading: (reading: Reading) => void;
}

/** Intervals a provisioned room counts as hosted before the server's metrics must show it. */
const PLACED_ROOM_INTERVALS = 3;

/** Keeps the last 100 per-second values of every server's and room's metrics. */
export class MetricsReader {
  private readonly servers = new Map<string, ServerTrack>();
  private readonly roomTracks = new Map<string, RoomTrack>();
  private readonly provisions: number[] = [];
  private provisionsThisSecond = 0;
  /** Provisions per server since its clients figure was last read: clients on their way. */
  private readonly pending = new Map<string, number>();
  /** Rooms just provisioned to each server, until when (ms epoch) they count as hosted there. */
  private readonly placed = new Map<string, Map<string, number>>();
  private lastReadAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private steadySince = Date.now();
  /** Set when Redis was unreachable or stalled since the last good read. */
  private interrupted = false;
  private readonly onReconnecting = (): void => {
    this.interrupted = true;
  };

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly options: MetricsReaderOptions,
  ) {}

  /** Starts reading every `intervalMs`. */
  start(): void {
    if (this.timer !== undefined) return;
    this.steadySince = Date.now();
    this.redis.on('reconnecting', this.onReconnecting);
    this.timer = setInterval(() => this.tick(), this.options.intervalMs);
    this.tick();
  }

  /** Stops the timer and waits for a read in flight. */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.redis.off('reconnecting', this.onReconnecting);
    await this.inFlight;
  }

  /**
   * Counts one provision of `serverId` into the current second. With the
   * room the client is about to join, the room counts as hosted there for a
   * few intervals, until the server's own metrics can show it: the next
   * members of the room then follow it even within the same second.
   */
  countProvision(serverId: string, room?: string, now = Date.now()): void {
    this.provisionsThisSecond++;
    this.pending.set(serverId, (this.pending.get(serverId) ?? 0) + 1);
    if (room === undefined) return;
    let rooms = this.placed.get(serverId);
    if (rooms === undefined) this.placed.set(serverId, (rooms = new Map()));
    rooms.set(room, now + PLACED_ROOM_INTERVALS * this.options.intervalMs);
  }

  /** Clients a server has or is about to have: its last reported figure plus the provisions since. */
  expectedClients(serverId: string): number {
    return last(this.historyOf(serverId).clients) + this.pendingClients(serverId);
  }

  /**
   * Clients provisioned to `serverId` since its figures were last read. Added
   * to the reported clients, so a burst of provisions within one second is
   * spread over equally loaded servers instead of all going to one.
   */
  private pendingClients(serverId: string): number {
    return this.pending.get(serverId) ?? 0;
  }

  private tick(): void {
    if (this.inFlight !== undefined) return; // a slow Redis must not pile reads up
    const startedAt = Date.now();
    if (!this.redis.isReady) this.interrupted = true;
    this.inFlight = this.readOnce(startedAt)
      .then((reading) => {
        // A read that failed, found the connection down, saw it reconnect, or took longer than
        // an interval (a stalled Redis answers late without dropping the connection) ends the
        // steady period; the first good read after it starts a new one.
        const doneAt = Date.now();
        if (this.interrupted || doneAt - startedAt > this.options.intervalMs) {
          this.interrupted = false;
          this.steadySince = doneAt;
          this.options.log.info({ readMs: doneAt - startedAt }, 'Redis answers again: heartbeats are judged from now on');
        }
        reading.steadySince = this.steadySince;
        this.options.onReading(reading);
      })
      .catch((error: unknown) => {
        this.interrupted = true;
        this.options.log.warn({ err: error }, 'metrics read failed');
      })
      .finally(() => {
        this.inFlight = undefined;
      });
  }

  /** Reads Redis once and appends one value to every history. */
  async readOnce(now: number): Promise<Reading> {
    const k = this.keys;
    const [clients, writes, loops, fanouts, roomClients, roomMessages, roomWrites] = (await this.redis
      .multi()
      .zRangeWithScores(k.serversClients, 0, -1)
      .zRangeWithScores(k.serversCumulativeSocketWrites, 0, -1)
      .zRangeWithScores(k.serversEventLoop, 0, -1)
      .zRangeWithScores(k.serversFanout, 0, -1)
      .zRangeWithScores(k.roomsClients, 0, -1)
      .zRangeWithScores(k.roomsCumulativeMessages, 0, -1)
      .zRangeWithScores(k.roomsCumulativeSocketWrites, 0, -1)
      .exec()) as unknown as Array<Array<{ value: string; score: number }>>;
    const listed = (clients ?? []).map((e) => e.value).filter((id) => isId(id));
    const ids = new Set<string>(listed);
    for (const id of this.options.knownIds()) ids.add(id);
    const idList = [...ids];
    const batch = this.redis.multi();
    for (const id of idList) batch.hGetAll(k.server(id)).hGetAll(k.serverRooms(id));
    const replies = idList.length === 0 ? [] : ((await batch.exec()) as unknown as Array<Record<string, string>>);

    const elapsed = this.lastReadAt === undefined ? 0 : now - this.lastReadAt;
    this.lastReadAt = now;
    const score = (entries: Array<{ value: string; score: number }> | undefined) =>
      new Map((entries ?? []).map((e) => [e.value, e.score]));
    const writesOf = score(writes);
    const loopOf = score(loops);
    const fanoutOf = score(fanouts);
    const clientsOf = score(clients);

    const hashes = new Map<string, ServerHash>();
    idList.forEach((id, i) => {
      const raw = replies[2 * i] ?? {};
      const roomsRaw = replies[2 * i + 1] ?? {};
      const hash = Object.keys(raw).length === 0 ? undefined : parseServerHash(id, raw);
      if (hash !== undefined) hashes.set(id, hash);
      if (hash === undefined && !clientsOf.has(id)) return; // nothing written yet, or already removed
      const track = this.track(id);
      const cumulative = writesOf.get(id);
      const rate = cumulative === undefined ? 0 : ratePerSecond(track.lastCumulativeWrites, cumulative, elapsed);
      if (cumulative !== undefined) track.lastCumulativeWrites = cumulative;
      const h = track.history;
      pushCapped(h.clients, clientsOf.get(id) ?? hash?.clients ?? 0);
      pushCapped(h.socketWrites, rate);
      pushCapped(h.eventLoopMs, loopOf.get(id) ?? 0);
      pushCapped(h.fanouts, fanoutOf.get(id) ?? 0);
      pushCapped(h.rssBytes, hash?.rssBytes ?? 0);
      track.rooms = Object.entries(roomsRaw)
        .filter(([, count]) => Number(count) > 0)
        .map(([room]) => room)
        .sort();
    });

    this.readRooms(score(roomClients), score(roomMessages), score(roomWrites), elapsed);
    pushCapped(this.provisions, this.provisionsThisSecond);
    this.provisionsThisSecond = 0;
    this.pending.clear();
    return { at: now, listed, hashes, steadySince: this.steadySince };
  }

  private readRooms(
    clients: Map<string, number>,
    messages: Map<string, number>,
    writes: Map<string, number>,
    elapsed: number,
  ): void {
    const ids = new Set([...clients.keys(), ...messages.keys(), ...writes.keys(), ...this.roomTracks.keys()]);
    for (const id of ids) {
      let track = this.roomTracks.get(id);
      if (track === undefined) {
        track = { history: { clients: [], messages: [], socketWrites: [] }, lastCumulativeMessages: undefined, lastCumulativeWrites: undefined };
        this.roomTracks.set(id, track);
      }
      const m = messages.get(id);
      const w = writes.get(id);
      pushCapped(track.history.clients, Math.max(0, clients.get(id) ?? 0));
      pushCapped(track.history.messages, m === undefined ? 0 : ratePerSecond(track.lastCumulativeMessages, m, elapsed));
      pushCapped(track.history.socketWrites, w === undefined ? 0 : ratePerSecond(track.lastCumulativeWrites, w, elapsed));
      if (m !== undefined) track.lastCumulativeMessages = m;
      if (w !== undefined) track.lastCumulativeWrites = w;
      // A room nobody is in and nobody wrote to for the whole window leaves the stats.
      const h = track.history;
      if (!clients.has(id) && !messages.has(id) && !writes.has(id)) this.roomTracks.delete(id);
      else if (h.clients.length >= 100 && h.clients.every((v) => v === 0) && h.messages.every((v) => v === 0)) {
        this.roomTracks.delete(id);
      }
    }
  }

  private track(id: string): ServerTrack {
    let track = this.servers.get(id);
    if (track === undefined) {
      track = {
        history: { clients: [], socketWrites: [], eventLoopMs: [], fanouts: [], rssBytes: [] },
        rooms: [],
        lastCumulativeWrites: undefined,
      };
      this.servers.set(id, track);
    }
    return track;
  }

  /** A server's histories (empty arrays before its first metrics). */
  historyOf(id: string): ServerHistory {
    return this.servers.get(id)?.history ?? { clients: [], socketWrites: [], eventLoopMs: [], fanouts: [], rssBytes: [] };
  }

  /** Rooms the server hosted at the last read. */
  roomsOf(id: string): string[] {
    return this.servers.get(id)?.rooms ?? [];
  }

  /** Rooms the server hosts by its last metrics, plus rooms just provisioned to it (see countProvision). */
  hostedRoomsOf(id: string, now = Date.now()): string[] {
    const reported = this.roomsOf(id);
    const placed = this.placed.get(id);
    if (placed === undefined || placed.size === 0) return reported;
    const rooms = new Set(reported);
    for (const [room, until] of placed) {
      if (until > now) rooms.add(room);
      else placed.delete(room);
    }
    return [...rooms];
  }

  /** Stops tracking a server (after it is gone and out of /servers). */
  forget(id: string): void {
    this.servers.delete(id);
    this.placed.delete(id);
  }

  /** Histories of every room with clients or recent traffic. */
  rooms(): Record<string, RoomHistory> {
    const out: Record<string, RoomHistory> = {};
    for (const [id, track] of this.roomTracks) out[id] = track.history;
    return out;
  }

  /** Provisions answered per second, oldest first. */
  provisionsPerSec(): number[] {
    return this.provisions;
  }
}

function num(value: string | undefined): number {
  const n = Number(value);
  return value === undefined || value === '' || !Number.isFinite(n) ? 0 : n;
}

/** Reads a `server:{id}` hash; missing numbers become 0. */
export function parseServerHash(id: string, raw: Record<string, string>): ServerHash {
  const pid = raw.pid === undefined || raw.pid === '' ? null : num(raw.pid);
  return {
    id,
    url: raw.url ?? '',
    pid,
    host: raw.host ?? '',
    startedAt: num(raw.startedAt),
    heartbeat: num(raw.heartbeat),
    status: raw.status ?? 'ready',
    managed: raw.managed === '1',
    rssBytes: num(raw.rssBytes),
    clients: num(raw.clients),
  };
}
