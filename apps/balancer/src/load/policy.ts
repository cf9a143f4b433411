// The pure scaling policy: from the fleet's recent load, decide whether to spawn, which hot servers shed clients, and when to drain one.
import { leastLoaded, loadOf, type Candidate } from './selection.js';

/** Share of SPAWN_WRITES_PER_SEC under which every remaining server must stay for the fleet to shrink (well below the spawn line). */
export const SCALE_DOWN_LOAD_SHARE = 0.5;

export interface PolicyServer extends Candidate {
  /** Event-loop lag in ms, one value a second, oldest first. */
  eventLoopMs: readonly number[];
  /** A child of this balancer; remote servers are never drained by the policy. */
  managed: boolean;
}

export interface PolicyInput {
  servers: readonly PolicyServer[];
  /** Managed servers that are not gone (starting, ready or draining). */
  managedCount: number;
  startingCount: number;
  fleetMin: number;
  fleetMax: number;
  spawnWritesPerSec: number;
  eventLoopLagMs: number;
  redistributeFraction: number;
  cooldownMs: number;
  /** How long the fleet must fit on one fewer server (and how long after a spawn) before one is drained. */
  scaleDownAfterMs: number;
  /** When each server was last told to redistribute (ms epoch). */
  lastRedistributedAt: ReadonlyMap<string, number>;
  /** When a managed server was last spawned (ms epoch); undefined before the first. */
  lastSpawnAt: number | undefined;
  /** Explicit state: the `calmSince` the previous plan returned. */
  calmSince: number | undefined;
  now: number;
}

export type PolicyAction =
  | { type: 'spawn'; reason: string }
  | { type: 'redistribute'; from: string; to: string; n: number; reason: string }
  | { type: 'drain'; id: string; reason: string };

/** This second's actions and the state to pass to the next plan. */
export interface PolicyPlan {
  actions: PolicyAction[];
  /** Since when (ms epoch) the fleet has fit on one fewer managed server without a break; undefined when it does not now. */
  calmSince: number | undefined;
}

/** Lag over the same window as the load, so one slow second does not count as hot. */
function lagOf(server: PolicyServer): number {
  return loadOf(server.eventLoopMs);
}

/** A server is hot when its writes/s reach SPAWN_WRITES_PER_SEC or its event loop lags past EVENT_LOOP_LAG_MS. */
export function isHot(server: PolicyServer, input: Pick<PolicyInput, 'spawnWritesPerSec' | 'eventLoopLagMs'>): boolean {
  return loadOf(server.socketWrites) >= input.spawnWritesPerSec || lagOf(server) > input.eventLoopLagMs;
}

/**
 * Decides this second's actions:
 * - spawn one server when every ready server is hot or full (holds its MAX_CONNECTIONS), none is
 *   starting and the fleet is under FLEET_MAX;
 * - each hot server (outside its cooldown) moves REDISTRIBUTE_FRACTION of its clients to the
 *   least-loaded ready server that is neither hot nor full;
 * - drain the least-loaded managed ready server once the fleet has fit on one fewer server for
 *   SCALE_DOWN_AFTER_MS (see `scaleDownCandidate`), and at least that long after the last spawn.
 */
export function planActions(input: PolicyInput): PolicyPlan {
  const ready = input.servers.filter((s) => s.status === 'ready');
  if (ready.length === 0) return { actions: [], calmSince: undefined };
  const hot = ready.filter((s) => isHot(s, input));
  const full = ready.filter((s) => s.full === true && !isHot(s, input));
  const cool = ready.filter((s) => !isHot(s, input) && s.full !== true);
  const actions: PolicyAction[] = [];
  if (cool.length === 0 && input.startingCount === 0 && input.managedCount < input.fleetMax) {
    const all = full.length === 0 ? 'hot' : hot.length === 0 ? 'full' : 'hot or full';
    actions.push({ type: 'spawn', reason: `all ${ready.length} ready servers are ${all}` });
  }
  const target = leastLoaded(cool);
  if (target !== undefined) {
    for (const server of hot) {
      const last = input.lastRedistributedAt.get(server.id);
      if (last !== undefined && input.now - last < input.cooldownMs) continue;
      const n = Math.ceil(input.redistributeFraction * server.clients);
      if (n < 1) continue;
      const why =
        loadOf(server.socketWrites) >= input.spawnWritesPerSec
          ? `${Math.round(loadOf(server.socketWrites))} writes/s`
          : `event loop lag ${lagOf(server).toFixed(1)} ms`;
      actions.push({ type: 'redistribute', from: server.id, to: target.id, n, reason: `hot: ${why}` });
    }
  }

  const candidate = scaleDownCandidate(input);
  if (candidate === undefined) return { actions, calmSince: undefined };
  const calmSince = input.calmSince ?? input.now;
  const held = input.now - calmSince;
  const sinceSpawn = input.lastSpawnAt === undefined ? Infinity : input.now - input.lastSpawnAt;
  if (held < input.scaleDownAfterMs || sinceSpawn < input.scaleDownAfterMs) return { actions, calmSince };
  const { fleetWrites, fleetClients, remaining } = summarize(ready, candidate);
  const reason =
    `scale-down: fleet load ${Math.round(fleetWrites)} writes/s, ${fleetClients} clients fits on ${remaining} ` +
    `server${remaining === 1 ? '' : 's'} under ${Math.round(SCALE_DOWN_LOAD_SHARE * 100)}% of SPAWN_WRITES_PER_SEC ` +
    `for ${(held / 1000).toFixed(1)} s`;
  // The drain starts a new window: the moved load must show up on the remaining servers first.
  return { actions: [{ type: 'drain', id: candidate.id, reason }], calmSince: undefined };
}

/**
 * The managed ready server the fleet could do without right now, or undefined. It can go when
 * more managed servers are ready than FLEET_MIN, none is starting or draining, no ready server
 * is hot, and after its load moves to the least-loaded other ready server, every remaining ready
 * server stays under SCALE_DOWN_LOAD_SHARE of SPAWN_WRITES_PER_SEC, and none is full (the fleet is
 * short of connections then, whatever its writes). The least-loaded managed
 * ready server is the one picked (it has the fewest clients to move).
 */
export function scaleDownCandidate(input: PolicyInput): PolicyServer | undefined {
  const live = input.servers.filter((s) => s.status !== 'gone');
  if (input.startingCount > 0 || live.some((s) => s.status === 'starting' || s.status === 'draining')) return undefined;
  const ready = live.filter((s) => s.status === 'ready');
  const managedReady = ready.filter((s) => s.managed);
  if (managedReady.length <= input.fleetMin) return undefined;
  if (ready.some((s) => isHot(s, input) || s.full === true)) return undefined;
  const candidate = leastLoaded(managedReady);
  if (candidate === undefined) return undefined;
  const others = ready.filter((s) => s.id !== candidate.id);
  const target = leastLoaded(others);
  if (target === undefined) return undefined;
  const lowWater = SCALE_DOWN_LOAD_SHARE * input.spawnWritesPerSec;
  if (others.some((s) => loadOf(s.socketWrites) >= lowWater)) return undefined;
  if (loadOf(target.socketWrites) + loadOf(candidate.socketWrites) >= lowWater) return undefined;
  return candidate;
}

function summarize(ready: readonly PolicyServer[], candidate: PolicyServer) {
  let fleetWrites = 0;
  let fleetClients = 0;
  for (const s of ready) {
    fleetWrites += loadOf(s.socketWrites);
    fleetClients += s.clients;
  }
  return { fleetWrites, fleetClients, remaining: ready.filter((s) => s.id !== candidate.id).length };
}
