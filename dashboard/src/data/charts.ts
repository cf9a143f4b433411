// Snapshot -> the live charts' data: one x axis, a line per server and a fleet line per metric.
import type { ServerHistory } from '@chatfleet/protocol';
import type { SnapshotServer, StatsSnapshot } from './snapshot.js';
import { assignColors } from './colors.js';
import { maxSeries, rightAlign, sumSeries, timeAxis, type Series } from './series.js';

export type ChartKey = 'clients' | 'socketWrites' | 'eventLoopMs' | 'rssBytes' | 'fanouts' | 'provisions';
export type ChartUnit = 'count' | 'perSec' | 'ms' | 'bytes';

export interface ChartSpec {
  key: ChartKey;
  title: string;
  unit: ChartUnit;
  /** How the fleet line combines servers: a sum (clients, writes), the worst value (lag), or none. */
  fleet: 'sum' | 'max' | null;
}

export const CHART_SPECS: readonly ChartSpec[] = [
  { key: 'clients', title: 'Clients', unit: 'count', fleet: 'sum' },
  { key: 'socketWrites', title: 'Socket writes/s', unit: 'perSec', fleet: 'sum' },
  { key: 'eventLoopMs', title: 'Event-loop lag (p99 ms)', unit: 'ms', fleet: 'max' },
  { key: 'rssBytes', title: 'Memory (RSS)', unit: 'bytes', fleet: 'sum' },
  { key: 'fanouts', title: 'Fan-outs/s', unit: 'perSec', fleet: 'sum' },
  { key: 'provisions', title: 'Provisions/s', unit: 'perSec', fleet: null },
];

export interface ChartLine {
  /** Server id, `fleet` for the fleet line, `provisions` for the balancer's own series. */
  id: string;
  label: string;
  fleet: boolean;
  /** The server's colour; undefined for fleet lines, which the theme colours. */
  color?: string | undefined;
  values: Series;
}

export interface ChartData {
  spec: ChartSpec;
  /** Unix seconds, oldest first. */
  x: number[];
  lines: ChartLine[];
}

export const FLEET_LINE_ID = 'fleet';

/** Servers whose lines are drawn: every server the balancer still reports, except gone ones. */
export function chartedServers(snapshot: StatsSnapshot): SnapshotServer[] {
  return snapshot.servers.filter((s) => s.status !== 'gone');
}

/** Number of samples to draw: the longest history in the snapshot (at most what the balancer keeps). */
export function historyLength(snapshot: StatsSnapshot): number {
  let length = snapshot.provisionsPerSec.length;
  for (const s of snapshot.servers) {
    for (const values of Object.values(s.history)) length = Math.max(length, values.length);
  }
  return length;
}

/** Every chart of CHART_SPECS built from one snapshot, all on the same x axis. */
export function buildCharts(snapshot: StatsSnapshot, colors: ReadonlyMap<string, string> = assignColors(new Map(), snapshot.servers)): ChartData[] {
  const length = historyLength(snapshot);
  const x = timeAxis(snapshot.ts, length);
  const servers = chartedServers(snapshot);
  return CHART_SPECS.map((spec) => ({ spec, x, lines: chartLines(spec, snapshot, servers, length, colors) }));
}

function chartLines(spec: ChartSpec, snapshot: StatsSnapshot, servers: SnapshotServer[], length: number, colors: ReadonlyMap<string, string>): ChartLine[] {
  if (spec.key === 'provisions') {
    return [{ id: 'provisions', label: 'provisions/s', fleet: true, values: rightAlign(snapshot.provisionsPerSec, length) }];
  }
  const key: keyof ServerHistory = spec.key;
  const perServer = servers.map((s) => ({
    id: s.id,
    label: s.id,
    fleet: false,
    color: colors.get(s.id),
    values: rightAlign(s.history[key], length),
  }));
  if (spec.fleet === null) return perServer;
  // The sum counts gone servers too, for the seconds they served: otherwise the fleet's past would drop when one goes.
  const combined =
    spec.fleet === 'sum'
      ? sumSeries(snapshot.servers.map((s) => rightAlign(s.history[key], length)), length)
      : maxSeries(perServer.map((l) => l.values), length);
  const fleetLine: ChartLine = {
    id: FLEET_LINE_ID,
    label: spec.fleet === 'sum' ? 'fleet total' : 'fleet max',
    fleet: true,
    values: combined,
  };
  return [fleetLine, ...perServer];
}

/**
 * A key that changes exactly when a chart's set of lines changes: the chart is rebuilt then, and
 * otherwise only its data is replaced in place (uPlot `setData`), which keeps memory flat.
 */
export function chartShapeKey(chart: ChartData): string {
  return `${chart.spec.key}:${chart.lines.map((l) => l.id).join(',')}`;
}
