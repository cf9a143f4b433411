// Snapshot -> the fleet view: one row per server, and the fleet's totals for the header (steady across client moves).
import type { SnapshotServer, StatsSnapshot } from './snapshot.js';
import { assignColors } from './colors.js';
import { rightAlign, sumSeries, type Series } from './series.js';

export type ServerStatusName = SnapshotServer['status'];

export interface ServerRow {
  id: string;
  url: string;
  host: string;
  status: ServerStatusName;
  managed: boolean;
  pid: number | null;
  uptimeMs: number;
  clients: number;
  writesPerSec: number;
  eventLoopMs: number;
  rssBytes: number;
  rooms: string[];
  /** The server's colour, the same in the table and the charts. */
  color: string;
  /** The server's pub/sub bus: unhealthy while its canary misses probes (messages may be missing until it repairs). */
  busHealthy: boolean;
  busRepairs: number;
  /** Refusals, abuse closes and refused upgrades per second at the last reading (a flood shows here), and what they were since start. */
  abusePerSecond: number;
  abuseSummary: string;
}

const STATUS_ORDER: Record<ServerStatusName, number> = { ready: 0, starting: 1, draining: 2, gone: 3 };

/**
 * One row per server, live ones first (ready, starting, draining, then gone), by id within a
 * status. Uptime is measured against the snapshot's own clock, so it is right even when the
 * browser's clock is off.
 */
export function serverRows(snapshot: StatsSnapshot, colors: ReadonlyMap<string, string> = assignColors(new Map(), snapshot.servers)): ServerRow[] {
  return snapshot.servers
    .map((s) => ({
      id: s.id,
      url: s.url,
      host: s.host,
      status: s.status,
      managed: s.managed,
      pid: s.pid,
      uptimeMs: Math.max(0, snapshot.ts - s.startedAt),
      clients: s.clients,
      writesPerSec: s.writesPerSec,
      eventLoopMs: s.eventLoopMs,
      rssBytes: s.rssBytes,
      rooms: s.rooms,
      color: colors.get(s.id) ?? 'currentColor',
      // Older balancers send no bus: count it healthy.
      busHealthy: s.bus?.healthy ?? true,
      busRepairs: s.bus?.repairs ?? 0,
      // Older balancers send no abuse figures: count none.
      abusePerSecond: s.abuse?.perSecond ?? 0,
      abuseSummary: abuseSummary(s.abuse),
    }))
    .sort((a, b) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || a.id.localeCompare(b.id));
}

/** Closes by code, as an operator reads them. */
const CLOSE_NAMES: Record<string, string> = {
  '1002': 'protocol error',
  '1007': 'bad UTF-8',
  '1008': 'flood',
  '1009': 'too big',
  '4000': 'slow reader',
};

/**
 * What a server refused and closed since it started, largest first, in one line for a tooltip:
 * `rate_limited 1,200 · closed 1008 (flood) 40 · upgrade unauthorized 12`. Empty when nothing.
 */
export function abuseSummary(abuse: SnapshotServer['abuse']): string {
  if (abuse === undefined) return '';
  const parts: Array<[string, number]> = [
    ...Object.entries(abuse.refused).map(([reason, n]): [string, number] => [reason, n]),
    ...Object.entries(abuse.closed).map(([code, n]): [string, number] => [`closed ${code}${CLOSE_NAMES[code] ? ` (${CLOSE_NAMES[code]})` : ''}`, n]),
    ...Object.entries(abuse.upgradesRefused).map(([reason, n]): [string, number] => [`upgrade ${reason}`, n]),
  ];
  return parts
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([what, n]) => `${what} ${n.toLocaleString('en-US')}`)
    .join(' · ');
}

/**
 * Seconds over which the header's fleet totals are a median. A client moving between servers
 * (a redirect, a drain, a server that went) is counted on both for a second or on neither for a
 * second or two; summing each server's latest figure makes the total spike or drop. The fleet-wide
 * per-second sum over every server (gone ones included, so their clients before they went still
 * count) has the same blips, and a median of its last 5 values ignores blips of up to 2 s while
 * following a real change within 3 s.
 */
export const TOTALS_WINDOW_S = 5;

export interface FleetTotals {
  servers: number;
  byStatus: Record<ServerStatusName, number>;
  /** Median of the fleet-wide clients over the last TOTALS_WINDOW_S seconds. */
  clients: number;
  /** Median of the fleet-wide socket writes/s over the last TOTALS_WINDOW_S seconds. */
  writesPerSec: number;
  rssBytes: number;
  maxEventLoopMs: number;
  /** Rooms with at least one client somewhere in the fleet. */
  activeRooms: number;
}

/** Per-second sum of one history field over every server the snapshot lists (gone ones too), oldest first. */
export function fleetSeries(snapshot: StatsSnapshot, key: 'clients' | 'socketWrites'): Series {
  let length = 0;
  for (const s of snapshot.servers) length = Math.max(length, s.history[key].length);
  return sumSeries(snapshot.servers.map((s) => rightAlign(s.history[key], length)), length);
}

/** Median of the newest `count` non-null values; `fallback` when there are none. */
export function medianOfLast(series: Series, count: number, fallback: number): number {
  const values: number[] = [];
  for (let i = series.length - 1; i >= 0 && values.length < count; i--) {
    const v = series[i];
    if (v !== null && v !== undefined) values.push(v);
  }
  if (values.length === 0) return fallback;
  values.sort((a, b) => a - b);
  const mid = values.length >> 1;
  return values.length % 2 === 1 ? (values[mid] as number) : ((values[mid - 1] as number) + (values[mid] as number)) / 2;
}

/** Totals over the servers that are not gone; clients and writes/s as medians of the fleet-wide series (see TOTALS_WINDOW_S). */
export function fleetTotals(snapshot: StatsSnapshot): FleetTotals {
  const byStatus: Record<ServerStatusName, number> = { starting: 0, ready: 0, draining: 0, gone: 0 };
  let clientsNow = 0;
  let writesNow = 0;
  let rssBytes = 0;
  let maxEventLoopMs = 0;
  for (const s of snapshot.servers) {
    byStatus[s.status]++;
    if (s.status === 'gone') continue;
    clientsNow += s.clients;
    writesNow += s.writesPerSec;
    rssBytes += s.rssBytes;
    maxEventLoopMs = Math.max(maxEventLoopMs, s.eventLoopMs);
  }
  let activeRooms = 0;
  for (const room of Object.values(snapshot.rooms)) {
    const clientsInRoom = room.clients[room.clients.length - 1] ?? 0;
    if (clientsInRoom > 0) activeRooms++;
  }
  return {
    servers: snapshot.servers.length - byStatus.gone,
    byStatus,
    clients: Math.round(medianOfLast(fleetSeries(snapshot, 'clients'), TOTALS_WINDOW_S, clientsNow)),
    writesPerSec: medianOfLast(fleetSeries(snapshot, 'socketWrites'), TOTALS_WINDOW_S, writesNow),
    rssBytes,
    maxEventLoopMs,
    activeRooms,
  };
}
