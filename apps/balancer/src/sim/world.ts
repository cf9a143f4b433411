// The simulated fleet: hosts, servers, members per room per server, the load model, and what metrics and host figures would show.
import type { ServerStatus } from '@chatfleet/protocol';
import type { HostFigures } from '../load/host-load.js';
import type { PlacementRoom } from '../load/placement.js';

export interface WorldOptions {
  /** SPAWN_WRITES_PER_SEC. */
  spawnWritesPerSec: number;
  /** Socket writes/s one server really manages on a free core (past it, messages queue). */
  serverCapacity: number;
  hosts: number;
  coresPerHost: number;
  /** Other programs' load on every host, as a share of its cores. */
  backgroundShare: number;
  /** One host (h1) saturated by other programs between these hours (e.g. [2, 6]); undefined: never. */
  busyHost: [number, number] | undefined;
  /** Seconds from a spawn to the server being ready. */
  spawnSeconds: number;
}

/** A room as the planner and the fleet see it: messages/s and members per server (`PlacementRoom`). */
export interface SimRoom extends PlacementRoom {
  readonly id: string;
  messagesPerSec: number;
  readonly members: Map<string, number>;
  total: number;
}

export interface SimServer {
  readonly id: string;
  readonly hostId: string;
  status: ServerStatus;
  readyAt: number;
  /** Members per room here. */
  readonly rooms: Map<string, number>;
  clients: number;
  /** Socket writes/s by the model: sum of members here x the room's messages/s. */
  load: number;
}

/** What happened in the fleet since the counters were last taken. */
export interface WorldCounters {
  moved: number;
  /** Members moved, by cause: `hot` (today's redistribute), `planned` (the planner's moves), `drain`. */
  movedBy: Record<string, number>;
  /** The planner's moves by kind: relieve, consolidate, split, balance. */
  plannedKinds: Record<string, number>;
  spawns: number;
  drains: number;
  redistributes: number;
  notes: number;
  noSpawns: number;
}

export const newCounters = (): WorldCounters => ({ moved: 0, movedBy: {}, plannedKinds: {}, spawns: 0, drains: 0, redistributes: 0, notes: 0, noSpawns: 0 });

/**
 * One policy's copy of the fleet. Moves and placements take effect at once
 * and the load model is exact (writes = members x messages/s per room on each
 * server), so the policies are compared on their decisions, not on metric noise.
 */
export class World {
  readonly servers = new Map<string, SimServer>();
  readonly rooms = new Map<string, SimRoom>();
  /** The same rooms by rank (index 0 = the largest), for the per-room loops. */
  readonly roomList: SimRoom[];
  counters = newCounters();
  /** Fan-out kept up to date as members come and go: messages/s, Redis deliveries/s, (room, server) pairs, split rooms, rooms with members. */
  readonly fanout = { messages: 0, deliveries: 0, pairs: 0, split: 0, active: 0 };
  /** Rooms on more than one server (what the planner may consolidate). */
  readonly splitRooms = new Set<string>();
  private seq = 0;

  constructor(
    readonly options: WorldOptions,
    roomIds: readonly string[],
  ) {
    this.roomList = roomIds.map((id) => ({ id, messagesPerSec: 0, members: new Map<string, number>(), total: 0 }));
    for (const room of this.roomList) this.rooms.set(room.id, room);
  }

  // ---- members ---------------------------------------------------------------------------------

  /** Adds `n` members of `roomId` on `serverId` (negative: removes). */
  place(roomId: string, serverId: string, n: number): void {
    if (n === 0) return;
    const room = this.rooms.get(roomId)!;
    const server = this.servers.get(serverId)!;
    const was = room.members.get(serverId) ?? 0;
    const k = was + n;
    const holdersBefore = room.members.size;
    if (k <= 0) {
      room.members.delete(serverId);
      server.rooms.delete(roomId);
    } else {
      room.members.set(serverId, k);
      server.rooms.set(roomId, k);
    }
    const holders = room.members.size;
    if (holders !== holdersBefore) {
      const f = this.fanout;
      f.pairs += holders - holdersBefore;
      f.deliveries += room.messagesPerSec * (holders - holdersBefore);
      f.split += (holders > 1 ? 1 : 0) - (holdersBefore > 1 ? 1 : 0);
      if (holders > 1) this.splitRooms.add(roomId);
      else this.splitRooms.delete(roomId);
      f.active += (holders > 0 ? 1 : 0) - (holdersBefore > 0 ? 1 : 0);
    }
    room.total += n;
    server.clients += n;
    server.load += n * room.messagesPerSec;
    this.onChange?.(server);
  }

  /** Told of every change of a server's load or clients (the policies keep their provisioning candidates current). */
  onChange: ((server: SimServer) => void) | undefined;

  /** Moves `n` members of a room between servers, counted under `why`; returns how many moved. */
  move(roomId: string, from: string, to: string, n: number, why = 'move'): number {
    const k = this.rooms.get(roomId)?.members.get(from) ?? 0;
    const moved = Math.min(n, k);
    if (moved <= 0 || !this.servers.has(to)) return 0;
    this.place(roomId, from, -moved);
    this.place(roomId, to, moved);
    this.counters.moved += moved;
    this.counters.movedBy[why] = (this.counters.movedBy[why] ?? 0) + moved;
    return moved;
  }

  /** Removes `n` members of a room, spread over its servers by their share (a leave is anyone's). */
  leave(roomId: string, n: number, random: () => number): void {
    const room = this.rooms.get(roomId)!;
    this.takeSpread(room, Math.min(n, room.total), random, (serverId, k) => this.place(roomId, serverId, -k));
  }

  /**
   * Moves `n` of a server's clients, whoever they are (today's redistribute
   * takes its first n connections, whose rooms are those of its clients at
   * large): spread over its rooms by their share.
   */
  moveAny(from: string, to: string, n: number, random: () => number): number {
    const server = this.servers.get(from);
    if (server === undefined || !this.servers.has(to)) return 0;
    let moved = 0;
    const take = Math.min(n, server.clients);
    const plan: Array<[string, number]> = [];
    // Proportional over the server's rooms, like `takeSpread` over a room's servers.
    let left = take;
    for (const [roomId, k] of server.rooms) {
      if (left <= 0) break;
      const share = Math.min(k, left, Math.floor((take * k) / server.clients + random()));
      if (share > 0) {
        plan.push([roomId, share]);
        left -= share;
      }
    }
    for (const [roomId, k] of plan) moved += this.move(roomId, from, to, k, 'hot');
    while (moved < take && server.clients > 0) {
      const [roomId, k] = [...server.rooms].reduce((a, b) => (b[1] > a[1] ? b : a));
      const got = this.move(roomId, from, to, Math.min(k, take - moved), 'hot');
      if (got === 0) break;
      moved += got;
    }
    return moved;
  }

  /** Takes `n` of a room's members from its servers in proportion to their share, the rounding rest from the biggest. */
  private takeSpread(room: SimRoom, n: number, random: () => number, take: (serverId: string, k: number) => void): void {
    if (n <= 0) return;
    if (room.members.size === 1) {
      for (const serverId of room.members.keys()) take(serverId, n);
      return;
    }
    const total = room.total;
    let left = n;
    for (const [serverId, k] of [...room.members]) {
      if (left <= 0) break;
      const share = Math.min(k, left, Math.floor((n * k) / total + random()));
      if (share > 0) {
        take(serverId, share);
        left -= share;
      }
    }
    while (left > 0 && room.members.size > 0) {
      const [serverId, k] = [...room.members].reduce((a, b) => (b[1] > a[1] ? b : a));
      const share = Math.min(k, left);
      take(serverId, share);
      left -= share;
    }
  }

  /** Sets one room's messages/s, moving its holders' loads and the fan-out with it. */
  setRate(room: SimRoom, rate: number): void {
    const delta = rate - room.messagesPerSec;
    if (delta === 0) return;
    room.messagesPerSec = rate;
    for (const [serverId, k] of room.members) {
      const server = this.servers.get(serverId)!;
      server.load += k * delta;
      this.onChange?.(server);
    }
    this.fanout.messages += delta;
    this.fanout.deliveries += delta * room.members.size;
  }

  /** Sets every room's messages/s and recomputes each server's load and the fan-out from scratch. */
  setRates(rate: (members: number) => number): void {
    for (const server of this.servers.values()) server.load = 0;
    const f = this.fanout;
    f.messages = 0;
    f.deliveries = 0;
    f.pairs = 0;
    f.split = 0;
    f.active = 0;
    for (const room of this.roomList) {
      if (room.total <= 0) {
        room.messagesPerSec = 0;
        continue;
      }
      const r = (room.messagesPerSec = rate(room.total));
      const holders = room.members.size;
      f.active++;
      f.pairs += holders;
      if (holders > 1) f.split++;
      f.messages += r;
      f.deliveries += r * holders;
      if (r === 0) continue;
      for (const [serverId, k] of room.members) this.servers.get(serverId)!.load += k * r;
    }
  }

  // ---- servers ---------------------------------------------------------------------------------

  /** Starts a server on `hostId`; it is ready `spawnSeconds` later. */
  spawn(hostId: string, now: number): SimServer {
    const server: SimServer = {
      id: `srv-${++this.seq}`,
      hostId,
      status: 'starting',
      readyAt: now + this.options.spawnSeconds,
      rooms: new Map(),
      clients: 0,
      load: 0,
    };
    this.servers.set(server.id, server);
    this.counters.spawns++;
    return server;
  }

  /** Servers whose start-up is over become ready. */
  promote(now: number): void {
    for (const server of this.servers.values()) if (server.status === 'starting' && server.readyAt <= now) server.status = 'ready';
  }

  /** Drains a server: each room's members go to `routes.get(room)` or `fallback`, then the server is gone. */
  drain(serverId: string, routes: ReadonlyMap<string, string>, fallback: string | undefined): void {
    const server = this.servers.get(serverId);
    if (server === undefined) return;
    this.counters.drains++;
    for (const [roomId, k] of [...server.rooms]) {
      const to = routes.get(roomId) ?? fallback;
      if (to !== undefined && to !== serverId) this.move(roomId, serverId, to, k, 'drain');
      else this.place(roomId, serverId, -k); // nowhere to go: they provision again elsewhere (not modelled: they leave)
    }
    this.servers.delete(serverId);
  }

  ready(): SimServer[] {
    return [...this.servers.values()].filter((s) => s.status === 'ready');
  }

  /** Servers per host (starting, ready or draining). */
  serversOn(hostId: string): number {
    let n = 0;
    for (const s of this.servers.values()) if (s.hostId === hostId) n++;
    return n;
  }

  // ---- what the balancer would read ------------------------------------------------------------

  hostIds(): string[] {
    return Array.from({ length: this.options.hosts }, (_, i) => `h${i + 1}`);
  }

  /** Cores other programs use on a host at `hour`. */
  othersCores(hostId: string, hour: number): number {
    const { busyHost, coresPerHost, backgroundShare } = this.options;
    const h = ((hour % 24) + 24) % 24;
    if (hostId === 'h1' && busyHost !== undefined && h >= busyHost[0] && h < busyHost[1]) return 0.97 * coresPerHost;
    return backgroundShare * coresPerHost;
  }

  /** Each host's demand in cores: its servers' work plus other programs'. */
  hostDemand(hour: number): Map<string, { fleet: number; others: number }> {
    const demand = new Map(this.hostIds().map((id) => [id, { fleet: 0, others: this.othersCores(id, hour) }]));
    for (const s of this.servers.values()) demand.get(s.hostId)!.fleet += Math.min(1, s.load / this.options.serverCapacity);
    return demand;
  }

  /** The host figures every balancer would report (one per host). */
  hostFigures(hour: number, at: number): HostFigures[] {
    const cores = this.options.coresPerHost;
    return [...this.hostDemand(hour)].map(([hostId, d]) => {
      const busy = Math.min(1, (d.fleet + d.others) / cores);
      const fleet = Math.min(busy, d.fleet / cores);
      return { hostId, cores, busyShare: busy, fleetShare: fleet, othersShare: busy - fleet, processCores: new Map(), windowMs: 3000, at };
    });
  }

  /**
   * Each server's state on its host: the share of a core it gets (less when
   * the host's demand passes its cores), its utilisation (load over what it
   * can do with that share), its event-loop lag (a saturated host lags every
   * server on it, busy or not; a server near its capacity lags with its work)
   * and the cores its process uses.
   */
  serverStates(hour: number): Map<string, { util: number; lagMs: number; cpuCores: number }> {
    const demand = this.hostDemand(hour);
    const cores = this.options.coresPerHost;
    const out = new Map<string, { util: number; lagMs: number; cpuCores: number }>();
    for (const s of this.servers.values()) {
      const d = demand.get(s.hostId)!;
      const total = d.fleet + d.others;
      const share = total > cores ? cores / total : 1;
      const util = s.load / (this.options.serverCapacity * share);
      const lagMs = 1 + (total > 0.95 * cores ? 20 : 0) + (util > 0.85 ? 100 * (util - 0.85) : 0);
      out.set(s.id, { util, lagMs, cpuCores: Math.min(1, s.load / this.options.serverCapacity) * share });
    }
    return out;
  }
}
