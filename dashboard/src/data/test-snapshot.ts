// Builders of /stats snapshots for the data-shaping unit tests (test-only; not imported by the app).
import type { SnapshotServer, StatsSnapshot } from './snapshot.js';

export function server(id: string, overrides: Partial<SnapshotServer> = {}): SnapshotServer {
  return {
    id,
    url: `ws://127.0.0.1:4000/`,
    pid: 100,
    host: '127.0.0.1',
    status: 'ready',
    managed: true,
    startedAt: 0,
    clients: 0,
    writesPerSec: 0,
    eventLoopMs: 0,
    rssBytes: 0,
    rooms: [],
    bus: { healthy: true, repairs: 0, repairedMessages: 0, rebuilds: 0, probesMissed: 0 },
    history: { clients: [], socketWrites: [], eventLoopMs: [], fanouts: [], rssBytes: [] },
    ...overrides,
  };
}

export function snapshot(overrides: Partial<StatsSnapshot> = {}): StatsSnapshot {
  return { ts: 1_000_000, servers: [], rooms: {}, provisionsPerSec: [], events: [], ...overrides };
}
