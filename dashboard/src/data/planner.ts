// The room planner's figures for the dashboard: the heaviest rooms by predicted writes, and whether a needed spawn is blocked.
import type { Capacity, FleetEvent } from './snapshot.js';

export interface PlannerRoom {
  id: string;
  members: number;
  messagesPerSec: number;
  predictedWritesPerSec: number;
  measuredWritesPerSec: number;
  servers: number;
  serversNeeded: number;
}

/** The `limit` rooms with the most predicted writes/s (then the most members, then by id). */
export function heaviestRooms(capacity: Capacity | undefined, limit = 8): PlannerRoom[] {
  if (capacity === undefined) return [];
  return Object.entries(capacity.rooms)
    .filter(([, room]) => room.members > 0)
    .map(([id, room]) => ({ id, ...room }))
    .sort((a, b) => b.predictedWritesPerSec - a.predictedWritesPerSec || b.members - a.members || (a.id < b.id ? -1 : 1))
    .slice(0, limit);
}

/**
 * The newest `no-spawn` event when no spawn has followed it and it is at most
 * `maxAgeMs` old: the fleet needs a server that no host can take (cores
 * saturated, or FLEET_MAX). Undefined otherwise.
 */
export function blockedSpawn(events: readonly FleetEvent[], now: number, maxAgeMs = 60_000): FleetEvent | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if (e.kind === 'spawn' || e.kind === 'respawn') return undefined;
    if (e.kind === 'no-spawn') return now - e.ts <= maxAgeMs ? e : undefined;
  }
  return undefined;
}
