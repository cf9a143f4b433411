// Snapshot -> the fleet view: one row per server, and the fleet's totals for the header.
import type { SnapshotServer, StatsSnapshot } from './snapshot.js';

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
}

const STATUS_ORDER: Record<ServerStatusName, number> = { ready: 0, starting: 1, draining: 2, gone: 3 };

/**
 * One row per server, live ones first (ready, starting, draining, then gone), by id within a
 * status. Uptime is measured against the snapshot's own clock, so it is right even when the
 * browser's clock is off.
 */
export function serverRows(snapshot: StatsSnapshot): ServerRow[] {
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
    }))
    .sort((a, b) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || a.id.localeCompare(b.id));
}

export interface FleetTotals {
  servers: number;
  byStatus: Record<ServerStatusName, number>;
  clients: number;
  writesPerSec: number;
  rssBytes: number;
  maxEventLoopMs: number;
  /** Rooms with at least one client somewhere in the fleet. */
  activeRooms: number;
}

/** Totals over the servers that are not gone (a gone server's last figures no longer count). */
export function fleetTotals(snapshot: StatsSnapshot): FleetTotals {
  const byStatus: Record<ServerStatusName, number> = { starting: 0, ready: 0, draining: 0, gone: 0 };
  let clients = 0;
  let writesPerSec = 0;
  let rssBytes = 0;
  let maxEventLoopMs = 0;
  for (const s of snapshot.servers) {
    byStatus[s.status]++;
    if (s.status === 'gone') continue;
    clients += s.clients;
    writesPerSec += s.writesPerSec;
    rssBytes += s.rssBytes;
    maxEventLoopMs = Math.max(maxEventLoopMs, s.eventLoopMs);
  }
  let activeRooms = 0;
  for (const room of Object.values(snapshot.rooms)) {
    const clientsNow = room.clients[room.clients.length - 1] ?? 0;
    if (clientsNow > 0) activeRooms++;
  }
  return {
    servers: snapshot.servers.length - byStatus.gone,
    byStatus,
    clients,
    writesPerSec,
    rssBytes,
    maxEventLoopMs,
    activeRooms,
  };
}
