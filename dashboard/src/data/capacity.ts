// Capacity maths: the predicted fleet socket writes/s u^2/(m*r) and the servers it needs at SPAWN_WRITES_PER_SEC.
import type { StatsSnapshot } from './snapshot.js';
import { fleetSeries, fleetTotals } from './fleet.js';
import { meanOfLast } from './series.js';

export interface CapacityInputs {
  /** Connected users u. */
  users: number;
  /** Rooms r the users are spread over evenly. */
  rooms: number;
  /** Mean seconds between two messages of one user, m. */
  intervalSec: number;
}

/** Interval assumed when nothing is being sent: the middle of the harness's default 5-25 s. */
export const DEFAULT_INTERVAL_S = 15;
/** SPAWN_WRITES_PER_SEC's default, used when a snapshot carries no config. */
export const DEFAULT_SPAWN_WRITES_PER_SEC = 50_000;

/**
 * Socket writes per second when u users in r equal rooms each send every m seconds: each user
 * sends 1/m messages/s and every message is written to the u/r members of its room (the sender
 * included), so u * (1/m) * (u/r) = u^2/(m*r). 0 when an input makes the model meaningless.
 */
export function predictedWritesPerSec({ users, rooms, intervalSec }: CapacityInputs): number {
  if (!(users > 0) || !(rooms > 0) || !(intervalSec > 0)) return 0;
  return (users * users) / (intervalSec * rooms);
}

/** Servers needed so that none exceeds `spawnWritesPerSec`: at least 1, more as the load grows. */
export function serversNeeded(writesPerSec: number, spawnWritesPerSec: number): number {
  if (!(spawnWritesPerSec > 0) || !(writesPerSec > 0)) return 1;
  return Math.max(1, Math.ceil(writesPerSec / spawnWritesPerSec));
}

/**
 * Seconds over which the live inputs and the measured writes/s are averaged, both over the same
 * window. The model is a mean rate: one second of measured writes against it swings by tens of
 * percent at a few messages per second (sends are random), which once showed 156% where the
 * harness, measuring over its whole run, found 101%.
 */
export const CAPACITY_WINDOW_S = 30;

/** The model's inputs as the fleet is, and the writes/s measured over the same window. */
export interface CapacityReading {
  inputs: CapacityInputs;
  measuredWritesPerSec: number;
  /** Seconds actually averaged (less than CAPACITY_WINDOW_S while the history is short). */
  windowS: number;
}

/** Mean of the newest `count` non-null values; undefined when there are none. */
function meanOfLastValues(series: readonly (number | null)[], count: number): { mean: number; n: number } | undefined {
  let sum = 0;
  let n = 0;
  for (let i = series.length - 1; i >= 0 && n < count; i--) {
    const v = series[i];
    if (v === null || v === undefined) continue;
    sum += v;
    n++;
  }
  return n === 0 ? undefined : { mean: sum / n, n };
}

/**
 * Inputs taken from the fleet over the last CAPACITY_WINDOW_S seconds: u = mean fleet clients,
 * r = rooms with clients now (at least 1), m = u / (mean fleet messages/s) when messages flow,
 * else DEFAULT_INTERVAL_S; and the mean fleet socket writes/s over the same seconds.
 */
export function capacityFromSnapshot(snapshot: StatsSnapshot): CapacityReading {
  const totals = fleetTotals(snapshot);
  const clients = meanOfLastValues(fleetSeries(snapshot, 'clients'), CAPACITY_WINDOW_S);
  const writes = meanOfLastValues(fleetSeries(snapshot, 'socketWrites'), CAPACITY_WINDOW_S);
  const windowS = Math.max(clients?.n ?? 0, writes?.n ?? 0, 1);
  let messagesPerSec = 0;
  for (const room of Object.values(snapshot.rooms)) messagesPerSec += meanOfLast(room.messages, windowS);
  const users = Math.round(clients?.mean ?? totals.clients);
  const intervalSec = users > 0 && messagesPerSec > 0 ? Math.round((users / messagesPerSec) * 10) / 10 : DEFAULT_INTERVAL_S;
  return {
    inputs: { users, rooms: Math.max(1, totals.activeRooms), intervalSec },
    measuredWritesPerSec: writes?.mean ?? totals.writesPerSec,
    windowS,
  };
}

/** SPAWN_WRITES_PER_SEC as the balancer reports it, or its default. */
export function spawnWritesPerSec(snapshot: StatsSnapshot | null): number {
  return snapshot?.config?.spawnWritesPerSec ?? DEFAULT_SPAWN_WRITES_PER_SEC;
}
