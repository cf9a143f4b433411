// Turns each read of the fleet's per-second metrics into 100-second histories per server and per room; the control loop calls it.
import { abuseTotal, emptyAbuseCounts, type AbuseCounts, type RoomHistory, type ServerAbuse, type ServerHistory } from '@chatfleet/protocol';
import type { Logger } from '../log.js';
import type { FleetStore } from '../store/fleet-store.js';
import type { ServerBus, ServerHash } from '../store/server-hash.js';
import { pushCapped, ratePerSecond } from './history.js';

export type { ServerBus, ServerHash } from '../store/server-hash.js';
export { parseServerHash } from '../store/server-hash.js';

/** One second's read of the fleet. */
export interface Reading {
  at: number;
  /** Server ids found in `servers:clients`. */
  listed: string[];
  /** Hashes of listed and known servers; absent when the hash does not exist. */
  hashes: Map<string, ServerHash>;
  /**
   * Since when (ms epoch) the balancer's reads have been succeeding without a
   * break: 0 from its start (heartbeats read at start are judged as they are,
   * so a server that died before this balancer started is never taken for
   * live), else the end of the last Redis outage or stall it saw. Heartbeats
   * are judged only over the time after it (see load/liveness.ts).
   */
  steadySince: number;
}

interface ServerTrack {
  history: ServerHistory;
  rooms: string[];
  /** Its `server:{id}:rooms` at the last read: room -> local connections. */
  share: ReadonlyMap<string, number>;
  /** The server's bus, from its last hash. */
  bus: ServerBus | undefined;
  /** Whether its last hash said it is full, and its MAX_CONNECTIONS (0: not said). */
  full: boolean;
  maxClients: number;
  lastCumulativeWrites: number | undefined;
  /** Its abuse counters from its last hash, their sum at the read before, and their rate. */
  abuse: AbuseCounts | undefined;
  lastAbuseTotal: number | undefined;
  abusePerSecond: number;
}

interface RoomTrack {
  history: RoomHistory;
  lastCumulativeMessages: number | undefined;
  lastCumulativeWrites: number | undefined;
}

/**
 * Keeps the last 100 per-second values of every server's and room's
 * metrics. It owns no timer and calls nobody: the control loop asks it to
 * read once per turn and passes the reading on.
 */
export class MetricsReader {
  private readonly servers = new Map<string, ServerTrack>();
  private readonly roomTracks = new Map<string, RoomTrack>();
  private lastReadAt: number | undefined;
  private steadySince = 0;
  /** Set when Redis was unreachable or stalled since the last good read. */
  private interrupted = false;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly store: FleetStore,
    private readonly options: { intervalMs: number; log: Logger },
  ) {
    this.unsubscribe = store.onLink('down', () => {
      this.interrupted = true;
    });
  }

  /** Stops listening to the link. */
  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /**
   * Reads Redis once, appends one value to every history and, when
   * `writeTotals` (the leader does), writes `chat-rooms:clients`. A read that
   * fails, found the connection down, saw it reconnect, or took longer than an
   * interval (a stalled Redis answers late without dropping the connection)
   * ends the steady period; the first good read after it starts a new one.
   */
  async read(known: Iterable<string>, writeTotals: boolean): Promise<Reading> {
    const startedAt = Date.now();
    if (!this.store.isReady) this.interrupted = true;
    let reading: Reading;
    try {
      reading = await this.readOnce(known, startedAt, writeTotals);
    } catch (error) {
      this.interrupted = true;
      throw error;
    }
    const doneAt = Date.now();
    if (this.interrupted || doneAt - startedAt > this.options.intervalMs) {
      this.interrupted = false;
      this.steadySince = doneAt;
      this.options.log.info({ readMs: doneAt - startedAt }, 'Redis answers again: heartbeats are judged from now on');
    }
    reading.steadySince = this.steadySince;
    return reading;
  }

  private async readOnce(known: Iterable<string>, now: number, writeTotals: boolean): Promise<Reading> {
    const raw = await this.store.readMetrics(known);
    const elapsed = this.lastReadAt === undefined ? 0 : now - this.lastReadAt;
    this.lastReadAt = now;
    /** Connections per room across the live servers: the sum of their `server:{id}:rooms` shares. */
    const roomClients = new Map<string, number>();
    const ids = new Set([...raw.listed, ...raw.hashes.keys()]);
    for (const id of ids) {
      const hash = raw.hashes.get(id);
      const share = raw.roomShares.get(id) ?? new Map<string, number>();
      for (const [room, n] of share) roomClients.set(room, (roomClients.get(room) ?? 0) + n);
      if (hash === undefined && !raw.clients.has(id)) continue; // nothing written yet, or already removed
      const track = this.track(id);
      if (hash !== undefined) {
        track.bus = hash.bus;
        track.full = hash.full;
        track.maxClients = hash.maxClients;
        track.abuse = hash.abuse;
        const total = abuseTotal(hash.abuse);
        track.abusePerSecond = ratePerSecond(track.lastAbuseTotal, total, elapsed);
        track.lastAbuseTotal = total;
      }
      const cumulative = raw.cumulativeWrites.get(id);
      const rate = cumulative === undefined ? 0 : ratePerSecond(track.lastCumulativeWrites, cumulative, elapsed);
      if (cumulative !== undefined) track.lastCumulativeWrites = cumulative;
      const h = track.history;
      pushCapped(h.clients, raw.clients.get(id) ?? hash?.clients ?? 0);
      pushCapped(h.socketWrites, rate);
      pushCapped(h.eventLoopMs, raw.eventLoopMs.get(id) ?? 0);
      pushCapped(h.fanouts, raw.fanouts.get(id) ?? 0);
      pushCapped(h.rssBytes, hash?.rssBytes ?? 0);
      track.rooms = [...share.keys()].sort();
      track.share = share;
    }
    this.readRooms(roomClients, raw.roomMessages, raw.roomWrites, elapsed);
    if (writeTotals) await this.store.writeRoomTotals(roomClients);
    return { at: now, listed: raw.listed, hashes: raw.hashes, steadySince: this.steadySince };
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
        share: new Map(),
        bus: undefined,
        full: false,
        maxClients: 0,
        lastCumulativeWrites: undefined,
        abuse: undefined,
        lastAbuseTotal: undefined,
        abusePerSecond: 0,
      };
      this.servers.set(id, track);
    }
    return track;
  }

  /** A server's histories (empty arrays before its first metrics). */
  historyOf(id: string): ServerHistory {
    return this.servers.get(id)?.history ?? { clients: [], socketWrites: [], eventLoopMs: [], fanouts: [], rssBytes: [] };
  }

  /** The server's bus as its last hash reported it (healthy, with no repairs, before the first). */
  busOf(id: string): ServerBus {
    return this.servers.get(id)?.bus ?? { healthy: true, repairs: 0, repairedMessages: 0, rebuilds: 0, probesMissed: 0 };
  }

  /** The server's capacity as its last hash reported it: full or not, and its MAX_CONNECTIONS (0 when it does not say). */
  capacityOf(id: string): { full: boolean; maxClients: number } {
    const track = this.servers.get(id);
    return { full: track?.full ?? false, maxClients: track?.maxClients ?? 0 };
  }

  /** The server's abuse counters as its last hash reported them, and their rate per second (zeros before the first). */
  abuseOf(id: string): ServerAbuse {
    const track = this.servers.get(id);
    return { ...(track?.abuse ?? emptyAbuseCounts()), perSecond: track?.abusePerSecond ?? 0 };
  }

  /** Rooms the server hosted at the last read. */
  roomsOf(id: string): string[] {
    return this.servers.get(id)?.rooms ?? [];
  }

  /** The server's room shares at the last read (room -> local connections); undefined before its first. */
  sharesOf(id: string): ReadonlyMap<string, number> | undefined {
    return this.servers.get(id)?.share;
  }

  /** Stops tracking a server (after it is gone and out of /servers). */
  forget(id: string): void {
    this.servers.delete(id);
  }

  /** Histories of every room with clients or recent traffic. */
  rooms(): Record<string, RoomHistory> {
    const out: Record<string, RoomHistory> = {};
    for (const [id, track] of this.roomTracks) out[id] = track.history;
    return out;
  }
}
