// A chat server's hash `server:{id}` as the balancer reads it: one schema for every field.
import { parseAbuseFields, type AbuseCounts } from '@chatfleet/protocol';

/** A server's bus as its hash reports it. */
export interface ServerBus {
  healthy: boolean;
  repairs: number;
  repairedMessages: number;
  rebuilds: number;
  probesMissed: number;
}

/** A server's hash `server:{id}` (fields may be missing while a server starts). */
export interface ServerHash {
  id: string;
  url: string;
  pid: number | null;
  /** The host put into its URL (PUBLIC_HOST). */
  host: string;
  /** HOST_ID of the machine it runs on ('' for servers that do not say). */
  hostId: string;
  /** The balancer that owns it ('' when none: a remote server, or one no balancer claimed). */
  owner: string;
  startedAt: number;
  /** ms epoch of the server's last write; 0 when absent. */
  heartbeat: number;
  status: string;
  managed: boolean;
  /** The newest fencing token the server obeyed. */
  fence: number;
  rssBytes: number;
  clients: number;
  /** True while the server holds `maxClients` clients and refuses new ones (extension: `full` = `1`). */
  full: boolean;
  /** Its MAX_CONNECTIONS; 0 when the server does not say. */
  maxClients: number;
  /** The server's bus: its canary's verdict and the gap repairs it made (see docs/redis.md). */
  bus: ServerBus;
  /** What the server refused and closed since it started, by reason. */
  abuse: AbuseCounts;
}

function num(value: string | undefined): number {
  const n = Number(value);
  return value === undefined || value === '' || !Number.isFinite(n) ? 0 : n;
}

/** Reads a `server:{id}` hash; missing numbers become 0. */
export function parseServerHash(id: string, raw: Record<string, string>): ServerHash {
  const pid = raw.pid === undefined || raw.pid === '' ? null : num(raw.pid);
  return {
    id,
    url: raw.url ?? '',
    pid,
    host: raw.host ?? '',
    hostId: raw.hostId ?? '',
    owner: raw.owner ?? '',
    startedAt: num(raw.startedAt),
    heartbeat: num(raw.heartbeat),
    status: raw.status ?? 'ready',
    managed: raw.managed === '1',
    fence: num(raw.fence),
    rssBytes: num(raw.rssBytes),
    clients: num(raw.clients),
    full: raw.full === '1',
    maxClients: num(raw.maxClients),
    bus: {
      healthy: raw.busHealthy !== '0',
      repairs: num(raw.busRepairs),
      repairedMessages: num(raw.busRepairedMessages),
      rebuilds: num(raw.busRebuilds),
      probesMissed: num(raw.busProbesMissed),
    },
    abuse: parseAbuseFields(raw),
  };
}
