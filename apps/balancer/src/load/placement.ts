// Room-aware placement: which members move where, so rooms sit on as few servers as their load needs and servers stay balanced.
import type { ServerStatus } from '@chatfleet/protocol';
import { fmt } from './hotness.js';
import { AFFINITY_LOAD_SHARE } from './selection.js';

/*
 * The load model (the seed's u²/(m·r), per room): a room with M members and
 * R messages/s (R = M x each member's rate) makes M x R socket writes/s, and a
 * server holding k of its members writes k x R of them. Moving n members of
 * the room from server a to server b moves n x R writes/s from a to b and
 * leaves the total alone; what splitting costs is copies: Redis hands each
 * message of the room to every server holding a member, so the room costs
 * R x (servers holding it) deliveries/s, and each of those servers parses it.
 */

/**
 * Share of SPAWN_WRITES_PER_SEC the planner fills a server to: moves never
 * take a server past it, and relieving brings a server back to it. Below the
 * provisioning affinity line (80%, `AFFINITY_LOAD_SHARE`), so a room's server
 * keeps room for the room's next members instead of sending them elsewhere.
 */
export const PLAN_FILL_SHARE = 0.7;
/** Servers whose loads differ by more than this share of the busiest are rebalanced (when busy enough). */
export const BALANCE_TOLERANCE = 0.2;
/** Below this share of SPAWN_WRITES_PER_SEC on the busiest server the fleet is light: no balancing (the scale-down line). */
export const BALANCE_FLOOR_SHARE = 0.5;
/**
 * A room is split for balance (rather than only when it does not fit one
 * server) once the fleet's fair share per server (mean load plus the
 * tolerance) passes this share of SPAWN_WRITES_PER_SEC: below it every server
 * keeps headroom whatever the imbalance, and a split would cost copies for nothing.
 */
export const SPLIT_FLOOR_SHARE = 0.6;
/** A split fragment is worth moving home when it saves at least this many deliveries/s per moved client (one a minute). */
export const MIN_SAVED_PER_MOVE = 1 / 60;
/** A server hot on lag (below the writes cap) sheds this share of its load. */
export const SHED_SHARE = 0.2;
/**
 * A server is relieved once it passes the fill cap by this share of
 * SPAWN_WRITES_PER_SEC (80% by default: the affinity line, past which its
 * rooms' new members would go elsewhere), and then brought back to the cap:
 * without the margin, every member that joins a server at the cap moves a room.
 */
export const RELIEVE_MARGIN_SHARE = 0.1;

/** One server as the planner sees it. */
export interface PlacementServer {
  id: string;
  status: ServerStatus;
  /** Measured socket writes/s (mean over the load window). */
  writesPerSec: number;
  /** Connected clients (and clients provisioned since the last read); tie-breaks only. */
  clients: number;
  /** Set for a server that must shed load although under the writes cap (hot on lag with work). */
  shed?: boolean;
  /**
   * This server's rooms (its `server:{id}:rooms`: room -> local connections),
   * when the caller has them: the planner then finds a server's rooms without
   * going through every room. They must agree with `PlacementRoom.members`.
   */
  rooms?: ReadonlyMap<string, number>;
}

/** One room as the planner sees it. */
export interface PlacementRoom {
  /** Messages per second sent to the room, fleet-wide (mean over the load window). */
  messagesPerSec: number;
  /** Local connections per server (each server's `server:{id}:rooms` share); servers with none left out. */
  members: ReadonlyMap<string, number>;
}

export type MoveKind = 'relieve' | 'consolidate' | 'split' | 'balance';

/** One decided move: `n` members of `room` from `from` to `to`. */
export interface PlannedMove {
  from: string;
  to: string;
  room: string;
  n: number;
  kind: MoveKind;
  /** With numbers. */
  reason: string;
  /** When it was planned (ms epoch). */
  at: number;
  /** Until when its room and its source count as moving: the paced redirects, then the settle time. */
  until: number;
}

/** One redistribute command: the moves from one server to one target. */
export interface RedistributeOrder {
  from: string;
  to: string;
  /** Total members to move (the command's `n`). */
  n: number;
  moves: Array<{ room: string; n: number }>;
  /** Members moved for each kind of move (relieve, consolidate, split, balance). */
  kinds: Partial<Record<MoveKind, number>>;
  reason: string;
}

export interface PlacementConfig {
  /** A server's budget of socket writes/s (SPAWN_WRITES_PER_SEC). */
  spawnWritesPerSec: number;
  /** Most members moved per plan, fleet-wide (a single move larger than this may go alone, so a big room can still move). */
  maxMovesPerStep: number;
  /** After its redirects went out, how long a move's room and source wait before they move again, ms (metrics must show it first). */
  settleMs: number;
  /** Redirects per second per target (REDIRECT_RATE_PER_SEC): how long a move's redirects take to go out. */
  redirectRatePerSec: number;
  /**
   * Split rooms are consolidated only once the busiest ready server is at
   * this share of SPAWN_WRITES_PER_SEC (PLACEMENT_CONSOLIDATE_FLOOR; default 0:
   * always).
   */
  consolidateFloorShare?: number;
  /** Share of its load a server hot on lag sheds per step (REDISTRIBUTE_FRACTION; default SHED_SHARE). */
  shedShare?: number;
  fillShare?: number;
  relieveMarginShare?: number;
  balanceTolerance?: number;
  balanceFloorShare?: number;
  splitFloorShare?: number;
  minSavedPerMove?: number;
}

export interface PlacementInput {
  servers: readonly PlacementServer[];
  rooms: ReadonlyMap<string, PlacementRoom>;
  /**
   * Rooms with members on more than one server, when the caller keeps them
   * (the planner then looks for rooms to consolidate there only, instead of
   * going through every room). Must include every such room.
   */
  splitRooms?: ReadonlySet<string> | undefined;
  /** Explicit state: the `inFlight` the previous plan returned ([] at first). */
  inFlight: readonly PlannedMove[];
  now: number;
}

/** Servers per room and Redis deliveries per message. */
export interface FanoutFigures {
  /** Rooms with members. */
  rooms: number;
  /** Mean servers holding a room, over rooms with members. */
  serversPerRoom: number;
  /** Rooms on more than one server. */
  splitRooms: number;
  messagesPerSec: number;
  /** Each room's messages/s times the servers holding it. */
  deliveriesPerSec: number;
  /** deliveriesPerSec / messagesPerSec (0 without traffic). */
  deliveriesPerMessage: number;
}

export interface PlacementPlan {
  moves: PlannedMove[];
  /** The moves grouped per source and target: one redistribute command each. */
  orders: RedistributeOrder[];
  /** Explicit state for the next plan: moves still settling, these included. */
  inFlight: PlannedMove[];
  /**
   * Servers still past the relieve line after this plan's moves. `short`: the
   * servers with room could not take the excess even together (the fleet
   * lacks capacity); otherwise what is left is a matter of whole rooms that fit
   * nowhere, or of this step's move budget.
   */
  unrelieved: Array<{ id: string; reason: string; short: boolean }>;
  /** Per-server writes/s a room can grow to before it is split (the planner's unit), for reasons and tests. */
  unitWritesPerSec: number;
  /** Servers per room and deliveries per message before and after the moves (computed when asked: it goes through every room). */
  figures(): { before: FanoutFigures; after: FanoutFigures };
}

/** Counts servers per room and deliveries per message over `rooms` (holders = servers with members). */
export function fanoutFigures(rooms: ReadonlyMap<string, PlacementRoom>): FanoutFigures {
  let count = 0;
  let servers = 0;
  let split = 0;
  let messages = 0;
  let deliveries = 0;
  for (const room of rooms.values()) {
    let holders = 0;
    for (const n of room.members.values()) if (n > 0) holders++;
    if (holders === 0) continue;
    count++;
    servers += holders;
    if (holders > 1) split++;
    messages += room.messagesPerSec;
    deliveries += room.messagesPerSec * holders;
  }
  return {
    rooms: count,
    serversPerRoom: count === 0 ? 0 : servers / count,
    splitRooms: split,
    messagesPerSec: messages,
    deliveriesPerSec: deliveries,
    deliveriesPerMessage: messages === 0 ? 0 : deliveries / messages,
  };
}

/** A room's figures derived once per plan. */
export interface RoomView {
  id: string;
  rate: number;
  /** Members on every server (ready or not). */
  total: number;
  /** Members per ready server, by server index; updated as moves are planned. */
  held: Map<number, number>;
  /** The members on servers that are not ready (starting, draining): counted in `total`, never moved. */
  elsewhere: number;
  moving: boolean;
}

/**
 * The shared view of one plan (or of one metrics second, for provisioning).
 * Rooms are read from `source` and copied into `rooms` only when looked at
 * (`roomOf`), so a view over tens of thousands of rooms costs little to build.
 */
export interface PlacementView {
  readonly ids: readonly string[];
  readonly servers: readonly PlacementServer[];
  /** Ready server index by id. */
  readonly index: ReadonlyMap<string, number>;
  /** Writes/s per ready server by index, plus planned and in-flight inflow. */
  readonly load: number[];
  readonly clients: number[];
  /** The rooms as given (never changed). */
  readonly source: ReadonlyMap<string, PlacementRoom>;
  /** Working copies of the rooms looked at so far, changed by planned moves and counted provisions. */
  readonly rooms: Map<string, RoomView>;
  /** The caller's split rooms, if given (see PlacementInput.splitRooms). */
  readonly splitRooms: ReadonlySet<string> | undefined;
  /** Rooms with moves still in flight. */
  readonly moving: ReadonlySet<string>;
  /** Writes/s the planner fills a server to (PLAN_FILL_SHARE). */
  readonly cap: number;
  /** Writes/s under which a server holding a room takes the room's new members (AFFINITY_LOAD_SHARE, as provisioning has it). */
  readonly affinity: number;
  /** Writes/s at which a room needs one more server (see `unitOf`). */
  readonly unit: number;
  readonly config: PlacementConfig;
}

/** The working copy of a room (made on first look); undefined for a room without members. */
export function roomOf(view: PlacementView, id: string): RoomView | undefined {
  const known = view.rooms.get(id);
  if (known !== undefined) return known;
  const room = view.source.get(id);
  if (room === undefined) return undefined;
  const held = new Map<number, number>();
  let total = 0;
  let elsewhere = 0;
  for (const [serverId, n] of room.members) {
    if (n <= 0) continue;
    total += n;
    const i = view.index.get(serverId);
    if (i === undefined) elsewhere += n;
    else held.set(i, n);
  }
  if (total === 0) return undefined;
  const copy: RoomView = { id, rate: Math.max(0, room.messagesPerSec), total, held, elsewhere, moving: view.moving.has(id) };
  view.rooms.set(id, copy);
  return copy;
}

/**
 * The load a room may put on one server before it is split: the fill cap
 * (70% of SPAWN_WRITES_PER_SEC), or, once the fleet is busy (its mean load
 * plus the balance tolerance reaches SPLIT_FLOOR_SHARE), that fair share, so
 * that a room larger than one server's fair share is split and servers can
 * come within the tolerance of each other. A lighter fleet never splits a
 * room that fits one server.
 */
export function unitOf(meanLoad: number, config: PlacementConfig): number {
  const cap = (config.fillShare ?? PLAN_FILL_SHARE) * config.spawnWritesPerSec;
  const floor = (config.splitFloorShare ?? SPLIT_FLOOR_SHARE) * config.spawnWritesPerSec;
  const fair = meanLoad * (1 + (config.balanceTolerance ?? BALANCE_TOLERANCE));
  return fair >= floor ? Math.min(cap, fair) : cap;
}

/** Servers a room of `load` writes/s should sit on: as few as its load needs, at least 1. */
export function serversNeeded(load: number, unit: number): number {
  return load <= unit || unit <= 0 ? 1 : Math.ceil(load / unit);
}

/** Builds the view the planner and provisioning share. `inFlight` inflow counts on its targets until it settles. */
export function placementView(input: PlacementInput, config: PlacementConfig): PlacementView {
  const servers = input.servers.filter((s) => s.status === 'ready');
  const index = new Map(servers.map((s, i) => [s.id, i]));
  const load = servers.map((s) => Math.max(0, s.writesPerSec));
  const moving = new Set<string>();
  for (const move of input.inFlight) if (move.until > input.now) moving.add(move.room);
  const view: PlacementView = {
    ids: servers.map((s) => s.id),
    servers,
    index,
    load,
    clients: servers.map((s) => s.clients),
    source: input.rooms,
    rooms: new Map(),
    splitRooms: input.splitRooms,
    moving,
    cap: (config.fillShare ?? PLAN_FILL_SHARE) * config.spawnWritesPerSec,
    affinity: AFFINITY_LOAD_SHARE * config.spawnWritesPerSec,
    unit: 0,
    config,
  };
  for (const move of input.inFlight) {
    if (move.until <= input.now) continue;
    const to = index.get(move.to);
    const room = roomOf(view, move.room);
    if (to !== undefined && room !== undefined) load[to]! += move.n * room.rate;
  }
  const mean = load.length === 0 ? 0 : load.reduce((a, b) => a + b, 0) / load.length;
  return { ...view, unit: unitOf(mean, config) };
}

/**
 * Plans this step's moves (a pure function of its input). In order:
 * 1. relieve: a server past the cap (70% of SPAWN_WRITES_PER_SEC) by the
 *    relieve margin (to 80%), or told to shed, moves load off down to the cap: first its small fragments of rooms held mostly
 *    elsewhere (to the server holding most of the room: saves copies), then
 *    whole rooms to the least-loaded server with room, then part of its
 *    biggest room (a split) to another holder or a new server;
 * 2. consolidate: a room on more servers than its load needs moves the
 *    members of its smallest fragments to its biggest ones (with room), when
 *    that saves at least one delivery a minute per moved client;
 * 3. balance: while the busiest server is past the balance floor and the
 *    least loaded is more than the tolerance below it, move a whole room (or
 *    part of a room that needs several servers) between them; when the
 *    busiest has nothing that may go there, through another server of one of
 *    its split rooms (part of its share there, a room from there to the least loaded).
 * A fleet with no server over the cap, no room split beyond its need and
 * loads within the tolerance gets no moves. Rooms and sources of moves still
 * in flight are left alone; at most `maxMovesPerStep` members move.
 */
export function planPlacement(input: PlacementInput, config: PlacementConfig): PlacementPlan {
  const view = placementView(input, config);
  const now = input.now;
  const busySources = new Set<number>();
  for (const move of input.inFlight) {
    const i = view.index.get(move.from);
    if (move.until > now && i !== undefined) busySources.add(i);
  }
  const planner = new Planner(view, busySources, now);
  planner.relieve();
  planner.consolidate();
  planner.balance();

  const orders = groupOrders(planner.moves);
  // Each order's redirects go out at REDIRECT_RATE_PER_SEC: its moves settle after that, plus settleMs.
  for (const order of orders) {
    const until = now + Math.ceil((order.n / config.redirectRatePerSec) * 1000) + config.settleMs;
    for (const move of planner.moves) if (move.from === order.from && move.to === order.to) move.until = until;
  }
  const inFlight = [...input.inFlight.filter((m) => m.until > now), ...planner.moves];
  return {
    moves: planner.moves,
    orders,
    inFlight,
    unrelieved: planner.unrelieved,
    unitWritesPerSec: view.unit,
    figures: () => {
      const before = fanoutFigures(input.rooms);
      return { before, after: planner.moves.length === 0 ? before : planner.figuresAfter(before, input.rooms) };
    },
  };
}

/** One plan's working state over the view. */
class Planner {
  readonly moves: PlannedMove[] = [];
  readonly unrelieved: Array<{ id: string; reason: string; short: boolean }> = [];
  /**
   * Rooms this plan moved: balance leaves them for the next plan. The servers carry out the orders side by
   * side, so members planned onto a server cannot be planned off it again (or back) in the same plan.
   */
  private readonly touched = new Set<RoomView>();
  private movesLeft: number;
  /** Ids of the rooms with members on each ready server in the input, built on first need. */
  private sourceIndex: string[][] | undefined;
  /** The rooms on a server now, made on first need and kept current by `apply`. */
  private readonly fragments: Array<Set<RoomView> | undefined> = [];
  /** Rooms `apply` moved to a server before its set was made. */
  private readonly arrivals: Array<RoomView[] | undefined> = [];

  constructor(
    private readonly view: PlacementView,
    private readonly busySources: ReadonlySet<number>,
    private readonly now: number,
  ) {
    this.movesLeft = view.config.maxMovesPerStep;
  }

  private get cap(): number {
    return this.view.cap;
  }

  /** Past this a server is relieved (the cap plus the margin). */
  private get relieveLine(): number {
    return this.cap + (this.view.config.relieveMarginShare ?? RELIEVE_MARGIN_SHARE) * this.view.config.spawnWritesPerSec;
  }

  /** Room for more load under the cap; none on a server told to shed (it lags: more would make it worse). */
  private spare(i: number): number {
    return this.view.servers[i]!.shed === true ? -Infinity : this.cap - this.view.load[i]!;
  }

  private need(room: RoomView): number {
    return serversNeeded(room.total * room.rate, this.view.unit);
  }

  /** Whether `n` more members may move this step (a first move may be larger than the budget). */
  private affordable(n: number): boolean {
    return n <= this.movesLeft || this.moves.length === 0;
  }

  private apply(room: RoomView, from: number, to: number, n: number, kind: MoveKind, reason: string): void {
    const { view } = this;
    const k = room.held.get(from) ?? 0;
    const moved = Math.min(n, k);
    if (moved <= 0 || from === to) return;
    this.touched.add(room);
    if (moved === k) {
      room.held.delete(from);
      this.fragments[from]?.delete(room);
    } else room.held.set(from, k - moved);
    const set = this.fragments[to];
    if (set !== undefined) set.add(room);
    else (this.arrivals[to] ??= []).push(room);
    room.held.set(to, (room.held.get(to) ?? 0) + moved);
    view.load[from]! -= moved * room.rate;
    view.load[to]! += moved * room.rate;
    view.clients[from]! -= moved;
    view.clients[to]! += moved;
    this.movesLeft -= moved;
    this.moves.push({ from: view.ids[from]!, to: view.ids[to]!, room: room.id, n: moved, kind, reason, at: this.now, until: this.now });
  }

  /** The rooms with members on server `i` now. */
  private onServer(i: number): ReadonlySet<RoomView> {
    const known = this.fragments[i];
    if (known !== undefined) return known;
    const own = this.view.servers[i]!.rooms;
    if (own !== undefined) {
      const set = new Set<RoomView>();
      for (const [id, n] of own) {
        const room = n > 0 ? roomOf(this.view, id) : undefined;
        if (room !== undefined && room.held.has(i)) set.add(room);
      }
      for (const room of this.arrivals[i] ?? []) if (room.held.has(i)) set.add(room);
      this.fragments[i] = set;
      return set;
    }
    if (this.sourceIndex === undefined) {
      const index: string[][] = this.view.ids.map(() => []);
      for (const [id, room] of this.view.source) {
        for (const [serverId, n] of room.members) {
          const j = n > 0 ? this.view.index.get(serverId) : undefined;
          if (j !== undefined) index[j]!.push(id);
        }
      }
      this.sourceIndex = index;
    }
    const set = new Set<RoomView>();
    for (const id of this.sourceIndex[i]!) {
      const room = roomOf(this.view, id);
      if (room !== undefined && room.held.has(i)) set.add(room);
    }
    for (const room of this.arrivals[i] ?? []) if (room.held.has(i)) set.add(room);
    this.fragments[i] = set;
    return set;
  }

  /** The least-loaded ready server other than `except` that can take `load` more under the cap. */
  private leastLoadedWithRoom(load: number, except: ReadonlySet<number>): number | undefined {
    let best: number | undefined;
    for (let i = 0; i < this.view.ids.length; i++) {
      if (except.has(i) || this.spare(i) < load) continue;
      if (best === undefined || this.view.load[i]! < this.view.load[best]! || (this.view.load[i] === this.view.load[best] && this.view.clients[i]! < this.view.clients[best]!)) {
        best = i;
      }
    }
    return best;
  }

  /** The holder of `room` (other than `except`) with the most members that can take `load` more. */
  private biggestHolderWithRoom(room: RoomView, load: number, except: number): number | undefined {
    let best: number | undefined;
    for (const [i, k] of room.held) {
      if (i === except || this.spare(i) < load) continue;
      const bk = best === undefined ? -1 : room.held.get(best)!;
      if (k > bk || (k === bk && this.view.load[i]! < this.view.load[best!]!)) best = i;
    }
    return best;
  }

  // ---- 1. relieve ------------------------------------------------------------------------------

  relieve(): void {
    const { view } = this;
    const order = view.ids
      .map((_, i) => i)
      .filter((i) => !this.busySources.has(i) && (view.load[i]! > this.relieveLine || view.servers[i]!.shed === true))
      .sort((a, b) => view.load[b]! - view.load[a]!);
    for (const i of order) {
      const start = view.load[i]!;
      const goal = view.servers[i]!.shed === true ? Math.min(this.cap, start * (1 - (this.view.config.shedShare ?? SHED_SHARE))) : this.cap;
      const why = `${view.ids[i]} at ${fmt(start)} writes/s over the ${fmt(goal)} line`;
      this.relieveOne(i, goal, why);
      // Still past the relieve line (or, told to shed, past its goal): only a new server would help.
      if (view.load[i]! > Math.max(goal, view.servers[i]!.shed === true ? goal : this.relieveLine)) {
        let room = 0;
        for (let j = 0; j < view.ids.length; j++) if (j !== i) room += Math.max(0, this.spare(j));
        const short = room < view.load[i]! - goal;
        this.unrelieved.push({
          id: view.ids[i]!,
          reason: short
            ? `${why}: still ${fmt(view.load[i]!)} after moves; the other servers have room for ${fmt(room)} writes/s in all`
            : `${why}: still ${fmt(view.load[i]!)} after moves; what is left does not fit where there is room this step`,
          short,
        });
      }
    }
  }

  /** The most room any ready server other than `i` has under the cap. */
  private maxSpareBesides(i: number): number {
    let best = -Infinity;
    for (let j = 0; j < this.view.ids.length; j++) if (j !== i) best = Math.max(best, this.spare(j));
    return best;
  }

  private relieveOne(i: number, goal: number, why: string): void {
    const { view } = this;
    const excess = () => view.load[i]! - goal;
    // No server with room at all: nothing to try (the fleet needs a server).
    if (this.maxSpareBesides(i) <= 0) return;
    const rooms = [...this.onServer(i)].filter((r) => !r.moving && r.rate > 0);

    // a. Fragments of rooms held mostly elsewhere go to that server: less load here, fewer copies.
    const strays = rooms
      .filter((r) => [...r.held].some(([j, k]) => j !== i && k >= r.held.get(i)!))
      .sort((a, b) => b.rate - a.rate);
    for (const room of strays) {
      if (excess() <= 0) return;
      const k = room.held.get(i) ?? 0;
      const to = this.biggestHolderWithRoom(room, k * room.rate, i);
      if (to === undefined || !this.affordable(k)) continue;
      this.apply(room, i, to, k, 'relieve', `${why}: ${room.id} ${fmt(k)} members join its ${fmt(room.held.get(to)!)} on ${view.ids[to]}`);
    }

    // b. Whole rooms that fit one server go whole: the lightest room that covers the excess (least overshoot), else the heaviest that fits.
    const whole = [...this.onServer(i)]
      .filter((r) => !r.moving && r.rate > 0 && r.held.size === 1 && r.elsewhere === 0 && this.need(r) === 1)
      .sort((a, b) => a.total * a.rate - b.total * b.rate || a.total - b.total);
    const used = new Set<RoomView>();
    let maxSpare = this.maxSpareBesides(i);
    while (excess() > 0 && maxSpare > 0) {
      // The lightest covering room is the first at or past the excess (binary search over the sorted loads).
      let lo = 0;
      let hi = whole.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (whole[mid]!.total * whole[mid]!.rate >= excess()) hi = mid;
        else lo = mid + 1;
      }
      let moved = false;
      // Covering rooms lightest first, then the rest heaviest first.
      for (let j = lo, step = 1, turned = false; ; j += step) {
        if (j >= whole.length && !turned) {
          turned = true;
          step = -1;
          j = lo;
          continue;
        }
        if (j < 0 || j >= whole.length) break;
        const room = whole[j]!;
        if (used.has(room) || !room.held.has(i) || !this.affordable(room.total)) continue;
        const load = room.total * room.rate;
        if (load > maxSpare) continue;
        const to = this.leastLoadedWithRoom(load, new Set([i]));
        if (to === undefined) continue;
        used.add(room);
        this.apply(room, i, to, room.total, 'relieve', `${why}: ${room.id} (${fmt(room.total)} members, ${fmt(load)} writes/s) moves whole to ${view.ids[to]}`);
        maxSpare = this.maxSpareBesides(i);
        moved = true;
        break;
      }
      if (!moved) break;
    }

    // c. Split the biggest room here on purpose: first onto as many new servers as its load needs
    //    (an even share each), then onto other holders with room, then onto one more new server
    //    (a holder too full to take its share is no help; consolidation folds its fragment in later).
    const biggest = [...this.onServer(i)]
      .filter((r) => !r.moving && r.rate > 0 && (r.held.get(i) ?? 0) > 1)
      .sort((a, b) => (b.held.get(i) ?? 0) * b.rate - (a.held.get(i) ?? 0) * a.rate);
    for (const room of biggest) {
      if (this.maxSpareBesides(i) < room.rate) return; // not even one member fits anywhere
      const need = this.need(room);
      const share = Math.ceil(room.total / need);
      const L = room.total * room.rate;
      const splitWhy = () => `${why}: ${room.id} at ${fmt(L)} writes/s needs ${need} server${need === 1 ? '' : 's'}`;
      const open = (cap: number): boolean => {
        const k = room.held.get(i) ?? 0;
        const to = this.leastLoadedWithRoom(room.rate, new Set(room.held.keys()));
        if (to === undefined) return false;
        const n = Math.min(k - 1, cap, Math.floor(this.spare(to) / room.rate));
        if (n < 1 || !this.affordable(n)) return false;
        const servers = room.held.size;
        this.apply(room, i, to, n, 'split', `${splitWhy()}; ${fmt(n)} of its ${fmt(k)} members here open ${this.view.ids[to]} (${servers} -> ${servers + 1} servers)`);
        return true;
      };
      while (excess() > 0 && room.held.size < need && open(share));
      for (const [j] of [...room.held].sort((a, b) => b[1] - a[1])) {
        if (excess() <= 0) return;
        const k = room.held.get(i) ?? 0;
        if (j === i || k <= 1) continue;
        const n = Math.min(k - 1, Math.ceil(excess() / room.rate), Math.floor(this.spare(j) / room.rate));
        if (n < 1 || !this.affordable(n)) continue;
        this.apply(room, i, j, n, 'split', `${splitWhy()}; ${fmt(n)} of its ${fmt(k)} members here to ${view.ids[j]}, which holds ${fmt(room.held.get(j)!)}`);
      }
      if (excess() > 0 && room.total * room.rate > this.view.unit) open(Math.min(share, Math.ceil(excess() / room.rate)));
      if (excess() <= 0) return;
    }
  }

  // ---- 2. consolidate --------------------------------------------------------------------------

  consolidate(): void {
    const { view } = this;
    const minSaved = view.config.minSavedPerMove ?? MIN_SAVED_PER_MOVE;
    // A light fleet (busiest server under the consolidation floor) has room everywhere: a copy costs little
    // there and a move costs the client a reconnect, so split rooms may stay until load makes copies count.
    const floor = (view.config.consolidateFloorShare ?? 0) * view.config.spawnWritesPerSec;
    if (floor > 0 && !view.load.some((load) => load >= floor)) return;
    const split: RoomView[] = [];
    const consider = (id: string, source: PlacementRoom): void => {
      if (source.members.size < 2 || source.messagesPerSec <= 0 || view.moving.has(id)) return;
      const room = roomOf(view, id);
      if (room !== undefined && room.held.size > 1) split.push(room);
    };
    if (view.splitRooms !== undefined) {
      for (const id of view.splitRooms) {
        const source = view.source.get(id);
        if (source !== undefined) consider(id, source);
      }
    } else {
      for (const [id, source] of view.source) consider(id, source);
    }
    split.sort((a, b) => b.rate - a.rate || (a.id < b.id ? -1 : 1));
    /** The most room any server has: rooms heavier than it cannot move whole (found again after each such move). */
    let maxSpare: number | undefined;
    for (const room of split) {
      const need = this.need(room);
      if (room.held.size <= need) continue;
      const holders = [...room.held].sort((a, b) => b[1] - a[1] || view.load[a[0]]! - view.load[b[0]]!);
      const homes = holders.slice(0, need).map(([i]) => i);
      const strays = holders.slice(need).reverse(); // smallest first
      let stuck = false;
      for (const [i, k] of strays) {
        if (this.busySources.has(i)) continue;
        if (room.rate / k < minSaved) break; // bigger fragments save even less per client
        if (!this.affordable(k)) return;
        let to: number | undefined;
        for (const h of homes) if (this.spare(h) >= k * room.rate && (to === undefined || this.spare(h) > this.spare(to))) to = h;
        if (to === undefined) {
          stuck = true;
          continue;
        }
        const servers = room.held.size;
        this.apply(
          room,
          i,
          to,
          k,
          'consolidate',
          `${room.id} on ${servers} servers needs ${need}: ${fmt(k)} members on ${view.ids[i]} join ${fmt(room.held.get(to)!)} on ${view.ids[to]}, ` +
            `saving ${room.rate.toFixed(1)} deliveries/s`,
        );
      }
      // Its homes are full: a room that fits one server moves whole to one with room for all of it.
      if (!stuck || need !== 1 || room.elsewhere > 0 || room.held.size < 2) continue;
      const saved = room.rate * (room.held.size - 1);
      if (saved / room.total < minSaved || !this.affordable(room.total)) continue;
      if (room.total * room.rate > (maxSpare ??= this.maxSpareBesides(-1))) continue;
      if ([...room.held.keys()].some((i) => this.busySources.has(i))) continue;
      const to = this.leastLoadedWithRoom(room.total * room.rate, new Set());
      if (to === undefined) continue;
      // Its own members already there need no room: count only what arrives.
      const arriving = room.total - (room.held.get(to) ?? 0);
      if (this.spare(to) < arriving * room.rate) continue;
      const servers = room.held.size;
      for (const [i, k] of [...room.held]) {
        if (i === to) continue;
        this.apply(
          room,
          i,
          to,
          k,
          'consolidate',
          `${room.id} on ${servers} servers needs 1 and its holders are full: ${fmt(k)} members on ${view.ids[i]} join it on ${view.ids[to]}, ` +
            `saving ${saved.toFixed(1)} deliveries/s`,
        );
      }
      maxSpare = undefined;
    }
  }

  // ---- 3. balance ------------------------------------------------------------------------------

  balance(): void {
    const { view } = this;
    const config = view.config;
    const floor = (config.balanceFloorShare ?? BALANCE_FLOOR_SHARE) * config.spawnWritesPerSec;
    const tolerance = config.balanceTolerance ?? BALANCE_TOLERANCE;
    for (let round = 0; round < 1000 && this.movesLeft > 0; round++) {
      let hi: number | undefined;
      let lo: number | undefined;
      for (let i = 0; i < view.ids.length; i++) {
        if (!this.busySources.has(i) && (hi === undefined || view.load[i]! > view.load[hi]!)) hi = i;
        if (view.servers[i]!.shed !== true && (lo === undefined || view.load[i]! < view.load[lo]!)) lo = i;
      }
      if (hi === undefined || lo === undefined || hi === lo) return;
      if (view.load[hi]! <= floor || view.load[lo]! >= (1 - tolerance) * view.load[hi]!) return;
      if (!this.shedOnto(hi, lo) && !this.chainThrough(hi, lo)) return;
    }
  }

  /**
   * How many of `r`'s members on `from` balancing may move to `to`, across a
   * gap of `gap` writes/s: all of a room that sits whole on `from` and fits one
   * server, or half the gap's worth of a room that needs several servers and
   * is on `to` already or on fewer servers than it needs; undefined for any
   * other room, and for rooms moving or already moved in this plan.
   */
  private balanceShare(r: RoomView, from: number, to: number, gap: number): number | undefined {
    if (r.moving || r.rate <= 0 || this.touched.has(r)) return undefined;
    const k = r.held.get(from)!;
    const need = this.need(r);
    if (r.held.size === 1 && r.elsewhere === 0 && need === 1) return k;
    if (need > 1 && (r.held.has(to) || r.held.size < need)) return Math.min(k, Math.round(gap / 2 / r.rate));
    return undefined;
  }

  /** Moves from `hi` to `lo` the whole room, or part of a room that needs several servers, closest to half their gap. */
  private shedOnto(hi: number, lo: number): boolean {
    const { view } = this;
    const high = view.load[hi]!;
    const low = view.load[lo]!;
    const gap = high - low;
    const limit = Math.min(gap, this.cap - low); // what lo can take and still improve the pair
    let best: { room: RoomView; n: number; x: number } | undefined;
    for (const r of this.onServer(hi)) {
      const n = this.balanceShare(r, hi, lo, gap);
      if (n === undefined) continue;
      const x = n * r.rate;
      if (n < 1 || x >= limit || !this.affordable(n)) continue;
      if (best === undefined || Math.abs(gap / 2 - x) < Math.abs(gap / 2 - best.x) || (Math.abs(gap / 2 - x) === Math.abs(gap / 2 - best.x) && n < best.n)) {
        best = { room: r, n, x };
      }
    }
    if (best === undefined) return false;
    const r = best.room;
    const whole = best.n === r.held.get(hi) && r.held.size === 1;
    this.apply(
      r,
      hi,
      lo,
      best.n,
      'balance',
      `${view.ids[hi]} at ${fmt(high)} writes/s, ${view.ids[lo]} at ${fmt(low)}: ` +
        (whole ? `${r.id} (${fmt(best.n)} members, ${fmt(best.x)} writes/s) moves whole` : `${fmt(best.n)} of ${r.id}'s ${fmt(r.total)} members (${fmt(best.x)} writes/s) move`),
    );
    return true;
  }

  /**
   * When `hi` holds nothing `lo` may take (say, only its share of a room
   * split over two servers, neither of them `lo`), moves load from `hi` to `lo`
   * through another server `j` of one of `hi`'s split rooms: part of that
   * room's share goes from `hi` to `j`, and a room of about the same load that
   * `lo` may take goes from `j` to `lo`, so `j` keeps its load and no room
   * gains a server. The pair closest to half the gap wins.
   */
  private chainThrough(hi: number, lo: number): boolean {
    const { view } = this;
    const high = view.load[hi]!;
    const low = view.load[lo]!;
    const gap = high - low;
    const limit = Math.min(gap, this.cap - low);
    let best: { split: RoomView; n: number; via: number; room: RoomView; m: number; x: number; score: number } | undefined;
    for (const split of this.onServer(hi)) {
      if (split.moving || split.rate <= 0 || this.touched.has(split) || split.held.size < 2 || this.need(split) < 2) continue;
      const k = split.held.get(hi)!;
      for (const [j] of split.held) {
        if (j === hi || j === lo || this.busySources.has(j) || view.servers[j]!.shed === true) continue;
        for (const r of this.onServer(j)) {
          const m = r === split ? undefined : this.balanceShare(r, j, lo, gap);
          if (m === undefined) continue;
          const x = m * r.rate;
          if (m < 1 || x >= limit) continue;
          // The same load from hi to j (as near as whole members allow), never all of hi's share.
          const n = Math.min(k - 1, Math.round(x / split.rate));
          const y = n * split.rate;
          if (n < 1 || y >= gap || !this.affordable(n + m)) continue;
          // j must not end up busier than hi was, nor past the cap.
          const atJ = view.load[j]! + y - x;
          if (atJ >= high || atJ > this.cap) continue;
          const score = Math.abs(gap / 2 - y) + Math.abs(y - x);
          if (best === undefined || score < best.score || (score === best.score && n + m < best.n + best.m)) {
            best = { split, n, via: j, room: r, m, x, score };
          }
        }
      }
    }
    if (best === undefined) return false;
    const { split, n, via, room: r, m, x } = best;
    const whole = m === r.held.get(via) && r.held.size === 1;
    const why = `${view.ids[hi]} at ${fmt(high)} writes/s, ${view.ids[lo]} at ${fmt(low)}, through ${view.ids[via]}`;
    this.apply(split, hi, via, n, 'balance', `${why}: ${fmt(n)} of ${split.id}'s ${fmt(split.total)} members (${fmt(n * split.rate)} writes/s) join its share there`);
    this.apply(
      r,
      via,
      lo,
      m,
      'balance',
      `${why}: ` + (whole ? `${r.id} (${fmt(m)} members, ${fmt(x)} writes/s) moves whole to make room` : `${fmt(m)} of ${r.id}'s ${fmt(r.total)} members (${fmt(x)} writes/s) move to make room`),
    );
    return true;
  }

  /** The fan-out figures after this plan's moves: `before`, with the rooms it touched counted again. */
  figuresAfter(before: FanoutFigures, rooms: ReadonlyMap<string, PlacementRoom>): FanoutFigures {
    let servers = before.serversPerRoom * before.rooms;
    let split = before.splitRooms;
    let deliveries = before.deliveriesPerSec;
    for (const id of new Set(this.moves.map((m) => m.room))) {
      const room = this.view.rooms.get(id)!;
      let was = 0;
      for (const n of rooms.get(id)!.members.values()) if (n > 0) was++;
      // Members on servers that are not ready stay where they are.
      let notReady = 0;
      for (const [serverId, n] of rooms.get(id)!.members) if (n > 0 && !this.view.index.has(serverId)) notReady++;
      const now = room.held.size + notReady;
      servers += now - was;
      split += (now > 1 ? 1 : 0) - (was > 1 ? 1 : 0);
      deliveries += room.rate * (now - was);
    }
    return {
      rooms: before.rooms,
      serversPerRoom: before.rooms === 0 ? 0 : servers / before.rooms,
      splitRooms: split,
      messagesPerSec: before.messagesPerSec,
      deliveriesPerSec: deliveries,
      deliveriesPerMessage: before.messagesPerSec === 0 ? 0 : deliveries / before.messagesPerSec,
    };
  }
}

/** Groups moves per (from, to) into redistribute orders, each with a reason naming its moves. */
function groupOrders(moves: readonly PlannedMove[]): RedistributeOrder[] {
  const byPair = new Map<string, { order: RedistributeOrder; reasons: string[] }>();
  for (const move of moves) {
    const key = `${move.from}\u0000${move.to}`;
    let entry = byPair.get(key);
    if (entry === undefined) {
      entry = { order: { from: move.from, to: move.to, n: 0, moves: [], kinds: {}, reason: '' }, reasons: [] };
      byPair.set(key, entry);
    }
    entry.order.n += move.n;
    entry.order.kinds[move.kind] = (entry.order.kinds[move.kind] ?? 0) + move.n;
    const same = entry.order.moves.find((m) => m.room === move.room);
    if (same === undefined) entry.order.moves.push({ room: move.room, n: move.n });
    else same.n += move.n;
    entry.reasons.push(`${move.kind}: ${move.reason}`);
  }
  return [...byPair.values()].map(({ order, reasons }) => ({
    ...order,
    reason: reasons.length <= 3 ? reasons.join('; ') : `${reasons.slice(0, 3).join('; ')}; and ${reasons.length - 3} more moves`,
  }));
}
