// The /stats snapshot types the dashboard reads (from @chatfleet/protocol) and a cheap shape check for untrusted input.
import type { StatsSnapshot } from '@chatfleet/protocol';

export type { StatsSnapshot, FleetEvent, ServerHistory, RoomHistory, Capacity } from '@chatfleet/protocol';
/** One server of a snapshot, with its history. */
export type SnapshotServer = StatsSnapshot['servers'][number];

/**
 * Checks the parts of a parsed snapshot the dashboard walks (so a malformed one is reported,
 * not rendered half-way). Returns what is wrong, or null when it looks right. Deliberately
 * shallow: a full zod parse of 1000 rooms x 3 x 100 numbers every second is too slow for a phone.
 */
export function snapshotProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const v = value as Record<string, unknown>;
  if (typeof v.ts !== 'number') return 'ts is not a number';
  if (!Array.isArray(v.servers)) return 'servers is not an array';
  for (const s of v.servers as unknown[]) {
    if (typeof s !== 'object' || s === null) return 'a server is not an object';
    const server = s as Record<string, unknown>;
    if (typeof server.id !== 'string') return 'a server has no id';
    if (typeof server.history !== 'object' || server.history === null) return `server ${server.id} has no history`;
    if (!Array.isArray(server.rooms)) return `server ${server.id} has no rooms array`;
  }
  if (typeof v.rooms !== 'object' || v.rooms === null || Array.isArray(v.rooms)) return 'rooms is not an object';
  if (!Array.isArray(v.provisionsPerSec)) return 'provisionsPerSec is not an array';
  if (!Array.isArray(v.events)) return 'events is not an array';
  return null;
}
