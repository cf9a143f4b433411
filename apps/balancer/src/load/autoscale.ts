// The room-aware scaling policy: hotness on evidence, host-aware spawns, placement moves and room-keeping drains, each with its numbers.
import type { ServerStatus } from '@chatfleet/protocol';
import { planDrain, type DrainRouteTarget } from './drain-routes.js';
import { chooseSpawnHost, type HostFigures, type SpawnHostConfig } from './host-load.js';
import { assessHeat, fmt, streak, type Heat, type HeatConfig } from './hotness.js';
import {
  PLAN_FILL_SHARE,
  RELIEVE_MARGIN_SHARE,
  planPlacement,
  type PlacementConfig,
  type PlacementRoom,
  type PlannedMove,
  type RedistributeOrder,
} from './placement.js';
import { SCALE_DOWN_LOAD_SHARE } from './policy.js';
import { LOAD_WINDOW_SECONDS } from './selection.js';

/** One server as the policy sees it. */
export interface AutoscaleServer {
  id: string;
  status: ServerStatus;
  /** A child of one of the fleet's balancers; remote servers are never drained. */
  managed: boolean;
  /** Socket writes/s and event-loop lag (ms), one value a second, oldest first. */
  socketWrites: readonly number[];
  eventLoopMs: readonly number[];
  /** Clients now (plus those provisioned since the last read). */
  clients: number;
  /** Cores the server's process used over the host window (HostFigures.processCores), when known. */
  cpuCores?: number | undefined;
  /** Its `server:{id}:rooms` (room -> local connections), when at hand: spares the planner a pass over every room. */
  rooms?: ReadonlyMap<string, number>;
  /** It holds its MAX_CONNECTIONS clients: no move targets it, and a fleet of full servers asks for a spawn. */
  full?: boolean;
}

/** Explicit state, passed from one plan to the next (`initialAutoscaleState()` at first). */
export interface AutoscaleState {
  /** Placement moves still settling. */
  inFlight: readonly PlannedMove[];
  /** Since when the fleet has fit on one fewer managed server. */
  calmSince: number | undefined;
  /** When a spawn was last decided. */
  lastSpawnAt: number | undefined;
  /** Servers whose lag without work was reported already (said once per episode). */
  quietLag: ReadonlySet<string>;
  /** True while a needed spawn is blocked by the hosts (said once per episode). */
  spawnBlocked: boolean;
}

export function initialAutoscaleState(): AutoscaleState {
  return { inFlight: [], calmSince: undefined, lastSpawnAt: undefined, quietLag: new Set(), spawnBlocked: false };
}

export interface AutoscaleInput {
  servers: readonly AutoscaleServer[];
  /** Each room's messages/s and members per server (from every server's `server:{id}:rooms`). */
  rooms: ReadonlyMap<string, PlacementRoom>;
  /** Rooms with members on more than one server, when the caller keeps them (spares a pass over every room). */
  splitRooms?: ReadonlySet<string>;
  /** Every balancer's host figures (one per host); [] when unknown. */
  hosts: readonly HostFigures[];
  /** Managed servers that are not gone (what FLEET_MAX counts), and those starting. */
  managedCount: number;
  startingCount: number;
  state: AutoscaleState;
  now: number;
}

export interface AutoscaleConfig {
  fleetMin: number;
  fleetMax: number;
  spawnWritesPerSec: number;
  eventLoopLagMs: number;
  /** How long the fleet must fit on one fewer server (and how long after a spawn) before one is drained. */
  scaleDownAfterMs: number;
  /** maxMovesPerStep (PLACEMENT_MAX_MOVES), settleMs (REBALANCE_COOLDOWN_MS), redirectRatePerSec (REDIRECT_RATE_PER_SEC). */
  placement: Omit<PlacementConfig, 'spawnWritesPerSec'>;
  /** minSpareCores (SPAWN_MIN_SPARE_CORES), maxAgeMs (how old a host's figures may be). */
  spawnHost: SpawnHostConfig;
  heat?: Omit<HeatConfig, 'spawnWritesPerSec' | 'eventLoopLagMs'>;
}

export type AutoscaleAction =
  | { type: 'spawn'; hostId: string | undefined; reason: string }
  /** One redistribute command: `moves` of members from one server to one target. */
  | ({ type: 'redistribute' } & RedistributeOrder)
  /** Drain `id`: `routes` name each room's target (server ids), the rest go to `fallback`. */
  | { type: 'drain'; id: string; routes: DrainRouteTarget[]; fallback: string | undefined; reason: string }
  /** A decision not to act, worth an event: a needed spawn the hosts or FLEET_MAX block, lag ignored at idle. */
  | { type: 'note'; kind: 'no-spawn' | 'idle-lag'; serverId: string | null; reason: string };

export interface AutoscalePlan {
  actions: AutoscaleAction[];
  state: AutoscaleState;
  /** Each ready server's verdict, for the dashboard. */
  heat: Map<string, Heat>;
}

/**
 * This second's decisions, as a pure function of its input:
 * - hotness on evidence (`assessHeat`): sustained writes, or sustained lag
 *   with work; lag at idle is noted once, never acted on;
 * - placement (`planPlacement`): moves that relieve, consolidate and balance,
 *   one redistribute per source and target; a server hot on lag is told to shed;
 * - spawn when every ready server is hot or full (its MAX_CONNECTIONS reached), or when a server past the relieve
 *   line (85% of SPAWN_WRITES_PER_SEC) on writes for the sustain window finds
 *   no server with room for its load (before it is hot), and none is starting, on the host with
 *   spare cores (`chooseSpawnHost`); when no host has spare cores or the fleet
 *   is at FLEET_MAX, a `no-spawn` note with the numbers, once per episode;
 * - scale down when the least-loaded managed server's rooms fit elsewhere
 *   under 50% of SPAWN_WRITES_PER_SEC (see `scaleDownCandidate`) for
 *   SCALE_DOWN_AFTER_MS (and that long after a spawn), nothing hot, no spawn,
 *   and no move of this step touching it, draining it with each of its rooms
 *   routed to where the room lives (`planDrain`).
 */
export function planAutoscale(input: AutoscaleInput, config: AutoscaleConfig): AutoscalePlan {
  const { now, state } = input;
  const heatConfig: HeatConfig = { spawnWritesPerSec: config.spawnWritesPerSec, eventLoopLagMs: config.eventLoopLagMs, ...config.heat };
  const placementConfig: PlacementConfig = { spawnWritesPerSec: config.spawnWritesPerSec, ...config.placement };
  const ready = input.servers.filter((s) => s.status === 'ready');
  const heat = new Map(ready.map((s) => [s.id, assessHeat(s, heatConfig)]));
  const actions: AutoscaleAction[] = [];

  // Lag without work: said once while it lasts.
  const quietLag = new Set<string>();
  for (const server of ready) {
    const h = heat.get(server.id)!;
    if (!h.idleLag) continue;
    quietLag.add(server.id);
    if (!state.quietLag.has(server.id)) actions.push({ type: 'note', kind: 'idle-lag', serverId: server.id, reason: h.reason });
  }
  if (ready.length === 0) return { actions, state: { ...state, quietLag, calmSince: undefined }, heat };

  const plan = planPlacement(
    {
      servers: placementServers(input, heat),
      rooms: input.rooms,
      splitRooms: input.splitRooms,
      inFlight: state.inFlight,
      now,
    },
    placementConfig,
  );
  for (const order of plan.orders) actions.push({ type: 'redistribute', ...order });

  // Spawn when every ready server is hot, or a server past the relieve line has nowhere to shed.
  const hot = ready.filter((s) => heat.get(s.id)!.hot);
  const unrelieved = new Map(plan.unrelieved.map((u) => [u.id, u]));
  // A full server takes nobody: with every ready server hot or full, new clients have nowhere to go.
  const full = ready.filter((s) => s.full === true && !heat.get(s.id)!.hot);
  const allHot = hot.length + full.length === ready.length;
  // Lag can be the host's doing (other programs on its cores): a server hot on lag sheds load, but only
  // writes show that the fleet lacks capacity. A server past the relieve line on writes for the sustain
  // window asks for a spawn when the other servers together have no room for its excess (before it is
  // hot), or when it is hot and no move relieved it this step (whole rooms that fit nowhere).
  const sustain = config.heat?.sustainSeconds ?? LOAD_WINDOW_SECONDS;
  const line = ((config.placement.fillShare ?? PLAN_FILL_SHARE) + (config.placement.relieveMarginShare ?? RELIEVE_MARGIN_SHARE)) * config.spawnWritesPerSec;
  const stuck = ready.filter((s) => {
    const u = unrelieved.get(s.id);
    const h = heat.get(s.id)!;
    return u !== undefined && h.cause !== 'lag' && streak(s.socketWrites, (v) => v > line) >= sustain && (u.short || h.hot);
  });
  let spawnBlocked = false;
  let lastSpawnAt = state.lastSpawnAt;
  if ((allHot || stuck.length > 0) && input.startingCount === 0) {
    const needy = allHot ? [...hot, ...full] : stuck;
    const describe = (s: AutoscaleServer): string => {
      const h = heat.get(s.id)!;
      if (!h.hot && s.full === true) return `${s.id} full at ${fmt(s.clients)} clients`;
      const why = h.hot ? h.reason : `${s.id} at ${fmt(h.writesPerSec)} writes/s for ${streak(s.socketWrites, (v) => v > line)} s past the ${fmt(line)} line`;
      return `${why}, ${splitRooms(s.id, input.rooms, s.rooms)}`;
    };
    const cause = needy.slice(0, 3).map(describe);
    const more = needy.length > 3 ? `, and ${needy.length - 3} more` : '';
    const all = full.length === 0 ? 'hot' : hot.length === 0 ? 'full' : 'hot or full';
    const why = `${cause.join('; ')}${more}${allHot ? `; all ${ready.length} ready servers ${all}` : '; no server with room for its load'}`;
    const place =
      input.managedCount >= config.fleetMax
        ? { ok: false as const, reason: `the fleet is at FLEET_MAX=${config.fleetMax}: no spawn` }
        : chooseSpawnHost(input.hosts, config.spawnHost, now);
    if (place.ok) {
      actions.push({ type: 'spawn', hostId: place.hostId, reason: `${why}: spawn ${place.reason}` });
      lastSpawnAt = now;
    } else {
      spawnBlocked = true;
      if (!state.spawnBlocked) actions.push({ type: 'note', kind: 'no-spawn', serverId: needy[0]!.id, reason: `${why}; ${place.reason}` });
    }
  }

  // Scale down: no spawn this step, and not a server this step's moves use.
  const base: AutoscaleState = { inFlight: plan.inFlight, calmSince: undefined, lastSpawnAt, quietLag, spawnBlocked };
  const spawning = actions.some((a) => a.type === 'spawn');
  const candidate = spawning ? undefined : scaleDownCandidate(input, config, heat);
  // A server that this step's moves use stays; the window goes on, and the drain waits for a quiet step.
  const busy = candidate !== undefined && actions.some((a) => a.type === 'redistribute' && (a.from === candidate!.id || a.to === candidate!.id));
  if (busy) return { actions, state: { ...base, calmSince: state.calmSince ?? now }, heat };
  if (candidate === undefined) return { actions, state: base, heat };
  const calmSince = state.calmSince ?? now;
  const held = now - calmSince;
  const sinceSpawn = lastSpawnAt === undefined ? Infinity : now - lastSpawnAt;
  if (held < config.scaleDownAfterMs || sinceSpawn < config.scaleDownAfterMs) return { actions, state: { ...base, calmSince }, heat };
  const drain = planDrain(candidate.id, { servers: placementServers(input, heat), rooms: input.rooms, inFlight: [], now }, placementConfig);
  const fleetWrites = ready.reduce((sum, s) => sum + (heat.get(s.id)?.writesPerSec ?? 0), 0);
  const fleetClients = ready.reduce((sum, s) => sum + s.clients, 0);
  const remaining = ready.length - 1;
  actions.push({
    type: 'drain',
    id: candidate.id,
    routes: drain.routes,
    fallback: drain.fallback,
    reason:
      `scale-down: fleet load ${fmt(fleetWrites)} writes/s, ${fmt(fleetClients)} clients fits on ${remaining} ` +
      `server${remaining === 1 ? '' : 's'} under ${Math.round(SCALE_DOWN_LOAD_SHARE * 100)}% of SPAWN_WRITES_PER_SEC for ${(held / 1000).toFixed(1)} s; ${drain.reason}`,
  });
  return { actions, state: base, heat };
}

/**
 * The servers as placement sees them. A full server is left out as if it were
 * draining: no move or drain route may send it clients it would refuse (it is
 * not relieved either; a fleet of full servers spawns instead).
 */
function placementServers(input: AutoscaleInput, heat: ReadonlyMap<string, Heat>) {
  return input.servers.map((s) => {
    const h = heat.get(s.id);
    const status = s.status === 'ready' && s.full === true ? ('draining' as const) : s.status;
    return { id: s.id, status, writesPerSec: h?.writesPerSec ?? 0, clients: s.clients, shed: h?.cause === 'lag', rooms: s.rooms };
  });
}

/** "3 of 4 rooms split": of the rooms with members on `serverId`, how many other servers hold members of too. */
export function splitRooms(serverId: string, rooms: ReadonlyMap<string, PlacementRoom>, own?: ReadonlyMap<string, number>): string {
  let here = 0;
  let split = 0;
  const mine = own === undefined ? rooms.values() : [...own.keys()].map((id) => rooms.get(id)).filter((r) => r !== undefined);
  for (const room of mine) {
    if ((room.members.get(serverId) ?? 0) <= 0) continue;
    here++;
    let holders = 0;
    for (const n of room.members.values()) if (n > 0) holders++;
    if (holders > 1) split++;
  }
  return `${split} of ${here} room${here === 1 ? '' : 's'} split`;
}

/**
 * The managed ready server the fleet could do without now: more managed ready
 * servers than FLEET_MIN, none starting or draining, none hot or full; the least-loaded
 * managed one, if the fleet's load spread over one fewer server stays under
 * 50% of SPAWN_WRITES_PER_SEC on average and each of its rooms finds a server
 * (one holding the room first) that stays under that line with the room added.
 * Unlike `policy.ts`, a busy server elsewhere in a large fleet does not stop
 * the drain of an idle one: only the servers that would take its rooms must
 * stay under the line.
 */
function scaleDownCandidate(input: AutoscaleInput, config: AutoscaleConfig, heat: ReadonlyMap<string, Heat>): AutoscaleServer | undefined {
  const live = input.servers.filter((s) => s.status !== 'gone');
  if (input.startingCount > 0 || live.some((s) => s.status === 'starting' || s.status === 'draining')) return undefined;
  const ready = live.filter((s) => s.status === 'ready');
  const load = (s: AutoscaleServer) => heat.get(s.id)?.writesPerSec ?? 0;
  const byLoad = (a: AutoscaleServer, b: AutoscaleServer) => load(a) - load(b) || a.clients - b.clients || (a.id < b.id ? -1 : 1);
  const managed = ready.filter((s) => s.managed).sort(byLoad);
  if (managed.length <= config.fleetMin || ready.some((s) => heat.get(s.id)?.hot === true)) return undefined;
  // A full server says the fleet is short of connections, whatever its writes.
  if (ready.some((s) => s.full === true)) return undefined;
  const candidate = managed[0]!;
  const others = ready.filter((s) => s.id !== candidate.id);
  if (others.length === 0) return undefined;
  const lowWater = SCALE_DOWN_LOAD_SHARE * config.spawnWritesPerSec;
  const total = ready.reduce((sum, s) => sum + load(s), 0);
  if (total / others.length >= lowWater) return undefined;
  // Place its rooms, heaviest first, as the drain would: each must fit somewhere under the line.
  const loads = new Map(others.map((s) => [s.id, load(s)]));
  const fragments: Array<{ room: PlacementRoom; k: number }> = [];
  if (candidate.rooms !== undefined) {
    for (const [id, k] of candidate.rooms) {
      const room = input.rooms.get(id);
      if (room !== undefined && k > 0) fragments.push({ room, k });
    }
  } else {
    for (const room of input.rooms.values()) {
      const k = room.members.get(candidate.id) ?? 0;
      if (k > 0) fragments.push({ room, k });
    }
  }
  fragments.sort((a, b) => b.k * b.room.messagesPerSec - a.k * a.room.messagesPerSec);
  for (const { room, k } of fragments) {
    const added = k * room.messagesPerSec;
    let to: string | undefined;
    for (const [id, m] of room.members) {
      const l = loads.get(id);
      if (id === candidate.id || m <= 0 || l === undefined || l + added >= lowWater) continue;
      if (to === undefined || m > (room.members.get(to) ?? 0)) to = id;
    }
    if (to === undefined) {
      for (const [id, l] of loads) if (l + added < lowWater && (to === undefined || l < loads.get(to)!)) to = id;
    }
    if (to === undefined) return undefined;
    loads.set(to, loads.get(to)! + added);
  }
  return candidate;
}
