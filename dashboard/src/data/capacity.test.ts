import { describe, expect, it } from 'vitest';
import { capacityFromSnapshot, DEFAULT_INTERVAL_S, predictedWritesPerSec, serversNeeded, spawnWritesPerSec } from './capacity.js';
import { server, snapshot } from './test-snapshot.js';

describe('predictedWritesPerSec = u^2/(m*r)', () => {
  it.each([
    { users: 2000, rooms: 5, intervalSec: 15, want: (2000 * 2000) / (15 * 5) },
    { users: 100, rooms: 1, intervalSec: 1, want: 10_000 },
    { users: 10, rooms: 10, intervalSec: 2, want: 5 },
    { users: 0, rooms: 5, intervalSec: 15, want: 0 },
    { users: 100, rooms: 0, intervalSec: 15, want: 0 },
    { users: 100, rooms: 5, intervalSec: 0, want: 0 },
    { users: Number.NaN, rooms: 5, intervalSec: 15, want: 0 },
  ])('u=$users r=$rooms m=$intervalSec -> $want', ({ users, rooms, intervalSec, want }) => {
    expect(predictedWritesPerSec({ users, rooms, intervalSec })).toBeCloseTo(want, 6);
  });
});

describe('serversNeeded', () => {
  it.each([
    { load: 0, limit: 50_000, want: 1 },
    { load: 50_000, limit: 50_000, want: 1 },
    { load: 50_001, limit: 50_000, want: 2 },
    { load: 533_333, limit: 50_000, want: 11 },
    { load: 10, limit: 0, want: 1 },
  ])('$load writes/s at $limit each -> $want', ({ load, limit, want }) => {
    expect(serversNeeded(load, limit)).toBe(want);
  });
});

describe('capacityFromSnapshot', () => {
  const history = (clients: number[], socketWrites: number[]) => ({ clients, socketWrites, eventLoopMs: [], fanouts: [], rssBytes: [] });

  it('takes u, r and m, and the measured writes/s, over the same last 30 s', () => {
    const reading = capacityFromSnapshot(
      snapshot({
        servers: [
          // 40 seconds of history: the first 10 (other figures) fall outside the window.
          server('srv-a', { clients: 60, history: history([...Array(10).fill(999), ...Array(30).fill(60)], [...Array(10).fill(1e6), ...Array(15).fill(900), ...Array(15).fill(1100)]) }),
          server('srv-b', { clients: 40, history: history([...Array(10).fill(999), ...Array(30).fill(40)], [...Array(10).fill(1e6), ...Array(30).fill(500)]) }),
        ],
        rooms: {
          r1: { clients: [50], messages: [...Array(10).fill(100), ...Array(30).fill(4)], socketWrites: [] },
          r2: { clients: [50], messages: [...Array(10).fill(100), ...Array(30).fill(6)], socketWrites: [] },
          r3: { clients: [0], messages: [0], socketWrites: [] },
        },
      }),
    );
    expect(reading).toEqual({ inputs: { users: 100, rooms: 2, intervalSec: 10 }, measuredWritesPerSec: 1500, windowS: 30 });
  });

  it('counts a server gone within the window for the seconds it served', () => {
    const reading = capacityFromSnapshot(
      snapshot({
        servers: [
          server('srv-a', { status: 'gone', clients: 0, history: history([...Array(10).fill(50), ...Array(20).fill(0)], Array(30).fill(0)) }),
          server('srv-b', { clients: 100, history: history([...Array(10).fill(50), ...Array(20).fill(100)], Array(30).fill(0)) }),
        ],
      }),
    );
    expect(reading.inputs.users).toBe(100);
  });

  it('falls back to the default interval, one room and the latest figures when there is no history', () => {
    expect(capacityFromSnapshot(snapshot())).toEqual({
      inputs: { users: 0, rooms: 1, intervalSec: DEFAULT_INTERVAL_S },
      measuredWritesPerSec: 0,
      windowS: 1,
    });
  });
});

describe('spawnWritesPerSec', () => {
  it.each([
    { snap: snapshot({ config: { fleetMin: 1, fleetMax: 3, spawnWritesPerSec: 1234 } }), want: 1234 },
    { snap: snapshot(), want: 50_000 },
    { snap: null, want: 50_000 },
  ])('reads the snapshot config or the default: $want', ({ snap, want }) => {
    expect(spawnWritesPerSec(snap)).toBe(want);
  });
});
