// The two policies the simulator compares, each driving its own copy of the fleet with the real decision functions.
import { planAutoscale, initialAutoscaleState, type AutoscaleConfig, type AutoscaleServer, type AutoscaleState } from '../load/autoscale.js';
import { placementView, roomOf, type PlacementConfig, type PlacementView } from '../load/placement.js';
import { planActions, type PolicyServer } from '../load/policy.js';
import { chooseProvision, countProvision } from '../load/room-provision.js';
import { chooseServer, leastLoaded } from '../load/selection.js';
import { LeastLoadedHeap } from './least-loaded-heap.js';
import type { SimServer, World } from './world.js';

/** Settings both policies share (the balancer's defaults unless the simulator's flags say otherwise). */
export interface PolicySettings {
  fleetMin: number;
  fleetMax: number;
  spawnWritesPerSec: number;
  eventLoopLagMs: number;
  redistributeFraction: number;
  cooldownMs: number;
  scaleDownAfterMs: number;
  /** PLACEMENT_MAX_MOVES: members the planner moves per second of control loop. */
  placementMaxMoves: number;
  /** PLACEMENT_CONSOLIDATE_FLOOR: split rooms are consolidated once the busiest server is at this share (0: always). */
  placementConsolidateFloor?: number;
  spawnMinSpareCores: number;
  /** Seconds between two runs of the simulated control loop (the real one runs every second). */
  tickSeconds: number;
}

/** A policy driving one world. */
export interface SimPolicy {
  readonly name: string;
  readonly world: World;
  /** Seconds between two runs of its control loop in the simulation. */
  readonly cadenceSeconds: number;
  /** Places `n` new members of a room, as the provision route would. */
  provision(roomId: string, n: number, now: number): void;
  /** One run of the control loop; returns true when it started a server (the loop may run again once it is ready). */
  tick(now: number, hour: number): boolean;
}

/** Members to place on the chosen server at once: what fits under `limit`, at least an eighth of the batch (bounds the calls). */
function batch(n: number, room: { messagesPerSec: number; total: number }, k: number, load: number, limit: number): number {
  const perMember = room.total === 0 ? 0 : room.messagesPerSec / room.total;
  const added = room.messagesPerSec + perMember * k;
  const fit = added <= 0 ? n : Math.floor((limit - load) / added);
  return Math.max(1, Math.min(n, Math.max(fit, Math.ceil(n / 8))));
}

/** A ReadonlySet view of a map's keys (a server's rooms for `chooseServer`), without copying. */
class KeySet implements ReadonlySet<string> {
  constructor(private readonly map: ReadonlyMap<string, unknown>) {}
  has(key: string): boolean {
    return this.map.has(key);
  }
  get size(): number {
    return this.map.size;
  }
  forEach(fn: (value: string, key: string, set: ReadonlySet<string>) => void): void {
    for (const key of this.map.keys()) fn(key, key, this);
  }
  *entries(): SetIterator<[string, string]> {
    for (const key of this.map.keys()) yield [key, key];
  }
  keys(): SetIterator<string> {
    return this.map.keys();
  }
  values(): SetIterator<string> {
    return this.map.keys();
  }
  [Symbol.iterator](): SetIterator<string> {
    return this.map.keys();
  }
}

/**
 * Today's policy: `planActions` (spawn when every ready server is hot, hot on
 * writes or on lag alone; a hot server moves REDISTRIBUTE_FRACTION of its
 * clients, whoever they are, to the least-loaded cool server; drains send
 * everyone to the least-loaded other server) and `chooseServer` for
 * provisioning (room affinity under 80%). Spawns go to the host with the
 * fewest servers: it does not look at the host's cores.
 */
export class TodayPolicy implements SimPolicy {
  readonly name = 'today';
  /** Its loop is cheap (server figures only), so it runs at its own pace: once a cooldown, as the real one acts. */
  readonly cadenceSeconds: number;
  private readonly lastRedistributedAt = new Map<string, number>();
  private lastSpawnAt: number | undefined;
  private calmSince: number | undefined;
  private lag = new Map<string, number>();
  /**
   * Candidates for provisioning, built once between two runs of the loop and kept current
   * through the world's change notices, with a heap that finds the least-loaded ready one.
   */
  private candidates: { byId: Map<string, PolicyServer>; heap: LeastLoadedHeap<PolicyServer> } | undefined;

  constructor(
    readonly world: World,
    private readonly settings: PolicySettings,
    private readonly random: () => number,
  ) {
    this.cadenceSeconds = Math.max(1, Math.min(settings.tickSeconds, Math.round(settings.cooldownMs / 1000)));
    world.onChange = (server: SimServer) => {
      const candidate = this.candidates?.byId.get(server.id);
      if (candidate === undefined) return;
      // In place: this runs for every member placed, moved or gone.
      const writes = candidate.socketWrites as number[];
      writes[0] = writes[1] = writes[2] = server.load;
      candidate.clients = server.clients;
      if (server.status === 'ready') this.candidates!.heap.update(candidate);
    };
  }

  private candidate(id: string): PolicyServer {
    const s = this.world.servers.get(id)!;
    const lag = this.lag.get(id) ?? 1;
    return {
      id,
      status: s.status,
      managed: true,
      socketWrites: [s.load, s.load, s.load],
      eventLoopMs: [lag, lag, lag],
      clients: s.clients,
      rooms: new KeySet(s.rooms),
    };
  }

  /**
   * Places members with the real `chooseServer`, over the room's holders and
   * the least-loaded ready server: the same answer as over the whole fleet
   * (the affinity winner is a holder, and the fallback is the least-loaded),
   * without scanning hundreds of servers for every room.
   */
  provision(roomId: string, n: number): void {
    const room = this.world.rooms.get(roomId)!;
    const limit = 0.8 * this.settings.spawnWritesPerSec;
    if (this.candidates === undefined) {
      const byId = new Map([...this.world.servers.keys()].map((id) => [id, this.candidate(id)]));
      this.candidates = { byId, heap: new LeastLoadedHeap([...byId.values()].filter((c) => c.status === 'ready')) };
    }
    const { byId, heap } = this.candidates;
    while (n > 0) {
      const list: PolicyServer[] = [];
      for (const id of room.members.keys()) list.push(byId.get(id)!);
      const least = heap.peek();
      if (least !== undefined && !room.members.has(least.id)) list.push(least);
      const chosen = chooseServer(list, { room: roomId, spawnWritesPerSec: this.settings.spawnWritesPerSec });
      if (chosen === undefined) return;
      const server = this.world.servers.get(chosen.id)!;
      const m = batch(n, room, server.rooms.get(roomId) ?? 0, server.load, limit);
      this.world.place(roomId, chosen.id, m);
      n -= m;
    }
  }

  tick(now: number, hour: number): boolean {
    this.candidates = undefined;
    const s = this.settings;
    const states = this.world.serverStates(hour);
    this.lag = new Map([...states].map(([id, st]) => [id, st.lagMs]));
    const servers = [...this.world.servers.keys()].map((id) => this.candidate(id));
    const starting = servers.filter((c) => c.status === 'starting').length;
    // One run stands for cadenceSeconds of real ones: the share moved compounds over the cooldowns in it (one, by default).
    const runs = Math.max(1, (this.cadenceSeconds * 1000) / Math.max(1000, s.cooldownMs));
    const plan = planActions({
      servers,
      managedCount: servers.length,
      startingCount: starting,
      fleetMin: s.fleetMin,
      fleetMax: s.fleetMax,
      spawnWritesPerSec: s.spawnWritesPerSec,
      eventLoopLagMs: s.eventLoopLagMs,
      redistributeFraction: 1 - (1 - s.redistributeFraction) ** runs,
      cooldownMs: s.cooldownMs,
      scaleDownAfterMs: s.scaleDownAfterMs,
      lastRedistributedAt: this.lastRedistributedAt,
      lastSpawnAt: this.lastSpawnAt,
      calmSince: this.calmSince,
      now,
    });
    this.calmSince = plan.calmSince;
    let spawned = false;
    for (const action of plan.actions) {
      if (action.type === 'spawn') {
        const host = this.world.hostIds().sort((a, b) => this.world.serversOn(a) - this.world.serversOn(b) || (a < b ? -1 : 1))[0]!;
        this.world.spawn(host, now / 1000);
        this.lastSpawnAt = now;
        spawned = true;
      } else if (action.type === 'redistribute') {
        this.lastRedistributedAt.set(action.from, now);
        this.world.counters.redistributes++;
        this.world.moveAny(action.from, action.to, action.n, this.random);
      } else {
        const others = servers.filter((c) => c.status === 'ready' && c.id !== action.id);
        this.world.drain(action.id, new Map(), leastLoaded(others)?.id);
      }
    }
    return spawned;
  }
}

/**
 * The room-aware planner: `planAutoscale` (hotness on evidence, host-aware
 * spawns, placement moves, drains that keep rooms whole) and
 * `chooseProvision` for provisioning, with a placement view built once per
 * traffic step and kept up to date with `countProvision`, as the balancer
 * would once per metrics second.
 */
export class PlannerPolicy implements SimPolicy {
  readonly name = 'planner';
  /** Its loop goes through the rooms: it runs once a tick, with a tick's worth of moves allowed. */
  readonly cadenceSeconds: number;
  private state: AutoscaleState = initialAutoscaleState();
  private view: PlacementView | undefined;
  /** The last run's verdicts: a server hot on lag takes no new members (as in the balancer's view). */
  private shedding = new Set<string>();
  private readonly config: AutoscaleConfig;
  private readonly placementConfig: PlacementConfig;
  private readonly movesPerSecond: number;
  private lastRunAt: number | undefined;

  constructor(
    readonly world: World,
    settings: PolicySettings,
  ) {
    this.cadenceSeconds = settings.tickSeconds;
    this.movesPerSecond = settings.placementMaxMoves;
    // Moves take effect at once in the simulator, so nothing needs to settle; a run of the loop stands for tickSeconds of moves.
    const placement = {
      maxMovesPerStep: settings.placementMaxMoves * settings.tickSeconds,
      settleMs: 0,
      redirectRatePerSec: 1e12,
      consolidateFloorShare: settings.placementConsolidateFloor ?? 0,
    };
    this.config = {
      fleetMin: settings.fleetMin,
      fleetMax: settings.fleetMax,
      spawnWritesPerSec: settings.spawnWritesPerSec,
      eventLoopLagMs: settings.eventLoopLagMs,
      scaleDownAfterMs: settings.scaleDownAfterMs,
      placement,
      spawnHost: { minSpareCores: settings.spawnMinSpareCores, maxAgeMs: Number.MAX_SAFE_INTEGER },
    };
    this.placementConfig = { spawnWritesPerSec: settings.spawnWritesPerSec, ...placement };
    // The view's loads follow the world's exact ones (leaves, rate changes, placements).
    world.onChange = (server: SimServer) => {
      const view = this.view;
      const i = view?.index.get(server.id);
      if (view === undefined || i === undefined) return;
      view.load[i] = server.load;
      view.clients[i] = server.clients;
    };
  }

  provision(roomId: string, n: number, now: number): void {
    const view = (this.view ??= placementView(
      {
        servers: [...this.world.servers.values()].map((s) => ({
          id: s.id,
          status: s.status,
          writesPerSec: s.load,
          clients: s.clients,
          shed: this.shedding.has(s.id),
        })),
        rooms: this.world.rooms,
        inFlight: [],
        now,
      },
      this.placementConfig,
    ));
    const room = this.world.rooms.get(roomId)!;
    while (n > 0) {
      const choice = chooseProvision(view, { room: roomId });
      if (choice === undefined) return;
      const i = view.index.get(choice.serverId)!;
      const k = roomOf(view, roomId)?.held.get(i) ?? 0;
      const m = batch(n, room, k, view.load[i]!, view.affinity);
      countProvision(view, choice.serverId, roomId, m);
      this.world.place(roomId, choice.serverId, m);
      n -= m;
    }
  }

  tick(now: number, hour: number): boolean {
    this.view = undefined;
    const states = this.world.serverStates(hour);
    const servers: AutoscaleServer[] = [...this.world.servers.values()].map((s) => {
      const st = states.get(s.id)!;
      return {
        id: s.id,
        status: s.status,
        managed: true,
        socketWrites: [s.load, s.load, s.load],
        eventLoopMs: [st.lagMs, st.lagMs, st.lagMs],
        clients: s.clients,
        cpuCores: st.cpuCores,
        rooms: s.rooms,
      };
    });
    // The move budget of the seconds since the last run (the real loop moves up to PLACEMENT_MAX_MOVES a second).
    const elapsed = this.lastRunAt === undefined ? this.cadenceSeconds : Math.max(1, (now - this.lastRunAt) / 1000);
    this.lastRunAt = now;
    const config = { ...this.config, placement: { ...this.config.placement, maxMovesPerStep: Math.round(this.movesPerSecond * elapsed) } };
    const plan = planAutoscale(
      {
        servers,
        rooms: this.world.rooms,
        splitRooms: this.world.splitRooms,
        hosts: this.world.hostFigures(hour, now),
        managedCount: servers.length,
        startingCount: servers.filter((s) => s.status === 'starting').length,
        state: this.state,
        now,
      },
      config,
    );
    this.state = plan.state;
    this.shedding = new Set([...plan.heat].filter(([, h]) => h.cause === 'lag').map(([id]) => id));
    let spawned = false;
    for (const action of plan.actions) {
      switch (action.type) {
        case 'spawn': {
          const host = action.hostId ?? this.world.hostIds()[0]!;
          this.world.spawn(host, now / 1000);
          spawned = true;
          break;
        }
        case 'redistribute':
          this.world.counters.redistributes++;
          for (const move of action.moves) this.world.move(move.room, action.from, action.to, move.n, 'planned');
          for (const [kind, n] of Object.entries(action.kinds)) this.world.counters.plannedKinds[kind] = (this.world.counters.plannedKinds[kind] ?? 0) + n;
          break;
        case 'drain':
          this.world.drain(action.id, new Map(action.routes.map((r) => [r.room, r.to])), action.fallback);
          break;
        case 'note':
          this.world.counters.notes++;
          if (action.kind === 'no-spawn') this.world.counters.noSpawns++;
          break;
      }
    }
    return spawned;
  }
}
