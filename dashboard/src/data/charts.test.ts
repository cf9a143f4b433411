import { describe, expect, it } from 'vitest';
import { buildCharts, chartShapeKey, historyLength, type ChartKey } from './charts.js';
import { server, snapshot } from './test-snapshot.js';

const history = (clients: number[], extra: Partial<Record<'socketWrites' | 'eventLoopMs' | 'fanouts' | 'rssBytes', number[]>> = {}) => ({
  clients,
  socketWrites: extra.socketWrites ?? clients.map(() => 0),
  eventLoopMs: extra.eventLoopMs ?? clients.map(() => 0),
  fanouts: extra.fanouts ?? clients.map(() => 0),
  rssBytes: extra.rssBytes ?? clients.map(() => 0),
});

const fleet = snapshot({
  ts: 10_500,
  servers: [
    server('srv-a', { history: history([1, 2, 3], { eventLoopMs: [5, 9, 2], socketWrites: [10, 20, 30] }) }),
    // Younger server: its two values are the newest two seconds.
    server('srv-b', { history: history([7, 8], { eventLoopMs: [4, 3], socketWrites: [1, 1] }) }),
    // Gone a second after the window starts: the balancer reads 0 for it from then on.
    server('srv-gone', { status: 'gone', history: history([100, 0, 0]) }),
  ],
  provisionsPerSec: [0, 4, 1],
});

function chart(key: ChartKey) {
  const found = buildCharts(fleet).find((c) => c.spec.key === key);
  if (found === undefined) throw new Error(`no chart ${key}`);
  return found;
}

describe('buildCharts', () => {
  it('builds one chart per metric on one time axis ending at the snapshot second', () => {
    const charts = buildCharts(fleet);
    expect(charts.map((c) => c.spec.key)).toEqual(['clients', 'socketWrites', 'eventLoopMs', 'rssBytes', 'fanouts', 'provisions']);
    for (const c of charts) expect(c.x).toEqual([8, 9, 10]);
  });

  it.each([
    // The fleet total counts the gone server for the second it served, so the fleet's past does not drop.
    { key: 'clients' as const, line: 'fleet', want: [101, 9, 11] },
    { key: 'clients' as const, line: 'srv-a', want: [1, 2, 3] },
    { key: 'clients' as const, line: 'srv-b', want: [null, 7, 8] },
    { key: 'socketWrites' as const, line: 'fleet', want: [10, 21, 31] },
    { key: 'eventLoopMs' as const, line: 'fleet', want: [5, 9, 3] },
    { key: 'provisions' as const, line: 'provisions', want: [0, 4, 1] },
  ])('$key / $line is right-aligned and combined: $want', ({ key, line, want }) => {
    expect(chart(key).lines.find((l) => l.id === line)?.values).toEqual(want);
  });

  it('labels the fleet line as a total for sums and as a max for lag', () => {
    expect(chart('clients').lines[0]?.label).toBe('fleet total');
    expect(chart('eventLoopMs').lines[0]?.label).toBe('fleet max');
  });

  it('leaves gone servers out of lines and totals', () => {
    expect(chart('clients').lines.map((l) => l.id)).toEqual(['fleet', 'srv-a', 'srv-b']);
  });

  it('draws nothing for an empty fleet', () => {
    const charts = buildCharts(snapshot());
    expect(historyLength(snapshot())).toBe(0);
    expect(charts.every((c) => c.x.length === 0)).toBe(true);
    expect(charts.find((c) => c.spec.key === 'clients')?.lines.map((l) => l.id)).toEqual(['fleet']);
  });
});

describe('chartShapeKey', () => {
  it('stays the same when only values change, so the chart is updated in place', () => {
    const next = { ...fleet, ts: fleet.ts + 1000, servers: fleet.servers.map((s) => ({ ...s, clients: s.clients + 1 })) };
    expect(buildCharts(next).map(chartShapeKey)).toEqual(buildCharts(fleet).map(chartShapeKey));
  });

  it('changes when a server joins, so the chart is rebuilt with a new line', () => {
    const next = { ...fleet, servers: [...fleet.servers, server('srv-c', { history: history([1]) })] };
    expect(chartShapeKey(buildCharts(next)[0]!)).not.toBe(chartShapeKey(buildCharts(fleet)[0]!));
  });
});
