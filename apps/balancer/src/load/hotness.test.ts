// Table tests of hotness on evidence: sustained writes, or sustained lag with work; lag at idle is not hot.
import { describe, expect, it } from 'vitest';
import { assessHeat, streak, type HeatServer } from './hotness.js';

const config = { spawnWritesPerSec: 50_000, eventLoopLagMs: 15 };

const server = (over: Partial<HeatServer>): HeatServer => ({
  id: 'srv-a1',
  socketWrites: [0, 0, 0],
  eventLoopMs: [1, 1, 1],
  clients: 0,
  ...over,
});

describe('streak', () => {
  it.each([
    { values: [], n: 0 },
    { values: [5, 5, 1], n: 0 },
    { values: [1, 5, 5], n: 2 },
    { values: [5, 5, 5, 5], n: 4 },
  ])('counts the newest values in a row past the line in $values', ({ values, n }) => {
    expect(streak(values, (v) => v >= 5)).toBe(n);
  });
});

describe('assessHeat', () => {
  it.each([
    {
      name: 'writes at the line for 3 s are hot',
      over: { socketWrites: [61_200, 61_200, 61_200], clients: 900 },
      hot: true,
      cause: 'writes',
      reason: 'srv-a1 at 61,200 writes/s for 3 s',
    },
    {
      name: 'a single second of writes is not sustained',
      over: { socketWrites: [10_000, 10_000, 180_000], clients: 900 },
      hot: false,
      cause: undefined,
      reason: '',
    },
    {
      name: 'a dip breaks the run',
      over: { socketWrites: [60_000, 60_000, 40_000, 60_000, 60_000], clients: 900 },
      hot: false,
      cause: undefined,
      reason: '',
    },
    {
      name: 'lag at idle (no clients, no writes) is not hot',
      over: { eventLoopMs: [15.2, 16, 18], clients: 0 },
      hot: false,
      cause: undefined,
      reason:
        'srv-a1 event loop lag 16.4 ms for 3 s but little work of its own (0 clients, 0 writes/s; lag counts with ≥1 clients and ≥5,000 writes/s or ≥0.5 cores): not hot',
    },
    {
      name: 'lag with 20 quiet clients on a busy host is not hot',
      over: { eventLoopMs: [40, 40, 40], clients: 20, socketWrites: [5, 5, 5], cpuCores: 0.02 },
      hot: false,
      cause: undefined,
      reason:
        'srv-a1 event loop lag 40.0 ms for 3 s but little work of its own (20 clients, 5 writes/s, 0.02 cores; lag counts with ≥1 clients and ≥5,000 writes/s or ≥0.5 cores): not hot',
    },
    {
      name: 'lag with clients and traffic is hot',
      over: { eventLoopMs: [40, 40, 40], clients: 120, socketWrites: [8000, 8100, 8200] },
      hot: true,
      cause: 'lag',
      reason: 'srv-a1 event loop lag 40.0 ms for 3 s with 120 clients, 8,100 writes/s',
    },
    {
      name: 'lag with clients and a busy process of its own is hot',
      over: { eventLoopMs: [30, 30, 30], clients: 50, socketWrites: [900, 900, 900], cpuCores: 0.9 },
      hot: true,
      cause: 'lag',
      reason: 'srv-a1 event loop lag 30.0 ms for 3 s with 50 clients, 900 writes/s, 0.90 cores',
    },
    {
      name: 'lag for 2 s is not yet sustained',
      over: { eventLoopMs: [1, 40, 40], clients: 120, socketWrites: [8000, 8000, 8000] },
      hot: false,
      cause: undefined,
      reason: '',
    },
  ])('$name', ({ over, hot, cause, reason }) => {
    const heat = assessHeat(server(over), config);
    expect({ hot: heat.hot, cause: heat.cause, reason: heat.reason }).toEqual({ hot, cause, reason });
  });

  it('marks ignored lag as idle lag, so it can be reported once', () => {
    expect(assessHeat(server({ eventLoopMs: [20, 20, 20] }), config).idleLag).toBe(true);
    expect(assessHeat(server({ eventLoopMs: [1, 1, 1] }), config).idleLag).toBe(false);
  });

  it('takes the sustain window and the work thresholds from the config', () => {
    const heat = assessHeat(server({ socketWrites: [0, 60_000, 60_000] }), { ...config, sustainSeconds: 2 });
    expect(heat).toMatchObject({ hot: true, cause: 'writes', writesStreak: 2 });
    const lagging = server({ eventLoopMs: [40, 40, 40], clients: 3, socketWrites: [100, 100, 100] });
    expect(assessHeat(lagging, { ...config, lagMinWritesShare: 0.001 }).hot).toBe(true);
    expect(assessHeat(lagging, { ...config, lagMinWritesShare: 0.001, lagMinClients: 5 }).hot).toBe(false);
  });
});
