// The pure scaling policy: from the fleet's recent load, decide whether to spawn a server and which hot servers shed clients.
import { leastLoaded, loadOf, type Candidate } from './selection.js';

export interface PolicyServer extends Candidate {
  /** Event-loop lag in ms, one value a second, oldest first. */
  eventLoopMs: readonly number[];
}

export interface PolicyInput {
  servers: readonly PolicyServer[];
  /** Managed servers that are not gone (starting, ready or draining). */
  managedCount: number;
  startingCount: number;
  fleetMax: number;
  spawnWritesPerSec: number;
  eventLoopLagMs: number;
  redistributeFraction: number;
  cooldownMs: number;
  /** When each server was last told to redistribute (ms epoch). */
  lastRedistributedAt: ReadonlyMap<string, number>;
  now: number;
}

export type PolicyAction =
  | { type: 'spawn'; reason: string }
  | { type: 'redistribute'; from: string; to: string; n: number; reason: string };

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
 * - spawn one server when every ready server is hot, none is starting and the fleet is under FLEET_MAX;
 * - each hot server (outside its cooldown) moves REDISTRIBUTE_FRACTION of its clients to the
 *   least-loaded ready server that is not hot.
 */
export function planActions(input: PolicyInput): PolicyAction[] {
  const ready = input.servers.filter((s) => s.status === 'ready');
  if (ready.length === 0) return [];
  const hot = ready.filter((s) => isHot(s, input));
  const cool = ready.filter((s) => !isHot(s, input));
  const actions: PolicyAction[] = [];
  if (hot.length === ready.length && input.startingCount === 0 && input.managedCount < input.fleetMax) {
    actions.push({ type: 'spawn', reason: `all ${ready.length} ready servers are hot` });
  }
  const target = leastLoaded(cool);
  if (target === undefined) return actions;
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
  return actions;
}
