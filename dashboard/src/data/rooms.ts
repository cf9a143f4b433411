// Snapshot -> the rooms table: one row per room, then filter, sort and cut to the top N so 1000 rooms stay usable.
import type { StatsSnapshot } from './snapshot.js';
import { last, meanOfLast } from './series.js';

export interface RoomRow {
  id: string;
  clients: number;
  /** Mean of the last RATE_WINDOW_S per-second values (one second alone is noisy). */
  messagesPerSec: number;
  writesPerSec: number;
  /** Servers (not gone) that list this room as hosted. */
  servers: number;
}

export const RATE_WINDOW_S = 3;

export type RoomSortKey = keyof RoomRow;
export type SortDirection = 'asc' | 'desc';

export interface RoomQuery {
  /** Case-insensitive substring of the room id; empty matches every room. */
  filter: string;
  sortKey: RoomSortKey;
  direction: SortDirection;
  /** Most rows to return; Infinity for all. */
  limit: number;
  /** Also rooms with no client now (listed while they had traffic in the window); hidden by default. */
  includeEmpty?: boolean;
}

export interface RoomSelection {
  rows: RoomRow[];
  /** Rooms with no client now, hidden because includeEmpty was not set. */
  hiddenEmpty: number;
  /** Rooms matching the filter (before the limit). */
  matched: number;
  total: number;
}

/** Every room of the snapshot as a row, with the number of live servers hosting it. */
export function roomRows(snapshot: StatsSnapshot): RoomRow[] {
  const hosts = new Map<string, number>();
  for (const s of snapshot.servers) {
    if (s.status === 'gone') continue;
    for (const room of s.rooms) hosts.set(room, (hosts.get(room) ?? 0) + 1);
  }
  return Object.entries(snapshot.rooms).map(([id, h]) => ({
    id,
    clients: last(h.clients),
    messagesPerSec: meanOfLast(h.messages, RATE_WINDOW_S),
    writesPerSec: meanOfLast(h.socketWrites, RATE_WINDOW_S),
    servers: hosts.get(id) ?? 0,
  }));
}

/** Filters, sorts (ties by id, so the order is stable second to second) and cuts to `limit`. */
export function selectRooms(rows: readonly RoomRow[], query: RoomQuery): RoomSelection {
  const needle = query.filter.trim().toLowerCase();
  const shown = query.includeEmpty === true ? rows : rows.filter((r) => r.clients > 0);
  const hiddenEmpty = rows.length - shown.length;
  const matched = needle === '' ? shown.slice() : shown.filter((r) => r.id.toLowerCase().includes(needle));
  const sign = query.direction === 'asc' ? 1 : -1;
  const key = query.sortKey;
  matched.sort((a, b) => {
    const av = a[key];
    const bv = b[key];
    const byKey = typeof av === 'string' && typeof bv === 'string' ? av.localeCompare(bv, 'en', { numeric: true }) : (av as number) - (bv as number);
    return byKey * sign || a.id.localeCompare(b.id, 'en', { numeric: true });
  });
  return { rows: matched.slice(0, Math.max(0, query.limit)), hiddenEmpty, matched: matched.length, total: shown.length };
}
