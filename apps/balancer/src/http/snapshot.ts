// Builds the /servers list and the /stats snapshot from the fleet registry and the metrics histories.
import type { ServerInfo, StatsSnapshot } from '@chatfleet/protocol';
import type { BalancerConfig } from '../config.js';
import type { ControlLoop } from '../control/control-loop.js';
import type { Placements } from '../control/placements.js';
import type { Fleet, ServerRecord } from '../fleet/fleet.js';
import { last } from '../load/history.js';
import type { MetricsReader } from '../load/metrics-reader.js';

/** One server as `GET /servers` shows it. */
export function serverInfo(record: ServerRecord, reader: MetricsReader): ServerInfo {
  const history = reader.historyOf(record.id);
  const gone = record.status === 'gone';
  return {
    id: record.id,
    url: record.url,
    pid: record.pid,
    host: record.host,
    status: record.status,
    managed: record.managed,
    startedAt: record.startedAt,
    clients: gone ? 0 : last(history.clients),
    writesPerSec: gone ? 0 : last(history.socketWrites),
    eventLoopMs: gone ? 0 : last(history.eventLoopMs),
    rssBytes: gone ? 0 : last(history.rssBytes),
    rooms: gone ? [] : reader.roomsOf(record.id),
    hostId: record.hostId,
    owner: record.owner,
    bus: reader.busOf(record.id),
    abuse: reader.abuseOf(record.id),
  };
}

/** Every known server, oldest first. */
export function serverList(fleet: Fleet, reader: MetricsReader): ServerInfo[] {
  return fleet
    .list()
    .sort((a, b) => a.startedAt - b.startedAt || a.id.localeCompare(b.id))
    .map((record) => serverInfo(record, reader));
}

/** The `/stats` body: the last 100 s of every server and room. */
export function statsSnapshot(fleet: Fleet, reader: MetricsReader, placements: Placements, loop: ControlLoop, config: BalancerConfig): StatsSnapshot {
  return {
    ts: Date.now(),
    servers: fleet
      .list()
      .sort((a, b) => a.startedAt - b.startedAt || a.id.localeCompare(b.id))
      .map((record) => ({ ...serverInfo(record, reader), history: reader.historyOf(record.id) })),
    rooms: reader.rooms(),
    provisionsPerSec: placements.provisionsPerSec(),
    events: fleet.events(),
    capacity: loop.capacity(),
    balancers: loop.balancers(),
    config: { fleetMin: config.FLEET_MIN, fleetMax: config.FLEET_MAX, spawnWritesPerSec: config.SPAWN_WRITES_PER_SEC },
  };
}
