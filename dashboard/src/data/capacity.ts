// Capacity maths: the predicted fleet socket writes/s u^2/(m*r) and the servers it needs at SPAWN_WRITES_PER_SEC.
import type { StatsSnapshot } from './snapshot.js';
import { fleetTotals } from './fleet.js';
import { meanOfLast } from './series.js';
import { RATE_WINDOW_S } from './rooms.js';

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
 * Inputs taken from the fleet as it is: u = connected clients, r = rooms with clients (at least 1),
 * m = u / (fleet messages/s) when messages flow, else DEFAULT_INTERVAL_S. Rounded for the form.
 */
export function capacityFromSnapshot(snapshot: StatsSnapshot): CapacityInputs {
  const totals = fleetTotals(snapshot);
  let messagesPerSec = 0;
  for (const room of Object.values(snapshot.rooms)) messagesPerSec += meanOfLast(room.messages, RATE_WINDOW_S);
  const users = totals.clients;
  const intervalSec = users > 0 && messagesPerSec > 0 ? Math.round((users / messagesPerSec) * 10) / 10 : DEFAULT_INTERVAL_S;
  return { users, rooms: Math.max(1, totals.activeRooms), intervalSec };
}

/** SPAWN_WRITES_PER_SEC as the balancer reports it, or its default. */
export function spawnWritesPerSec(snapshot: StatsSnapshot | null): number {
  return snapshot?.config?.spawnWritesPerSec ?? DEFAULT_SPAWN_WRITES_PER_SEC;
}
