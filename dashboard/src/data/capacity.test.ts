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
  it('takes users from live clients, rooms with clients, and m = u / messages per second', () => {
    const inputs = capacityFromSnapshot(
      snapshot({
        servers: [server('srv-a', { clients: 60 }), server('srv-b', { clients: 40 }), server('srv-c', { status: 'gone', clients: 500 })],
        rooms: {
          r1: { clients: [50], messages: [4, 4, 4], socketWrites: [] },
          r2: { clients: [50], messages: [6, 6, 6], socketWrites: [] },
          r3: { clients: [0], messages: [0], socketWrites: [] },
        },
      }),
    );
    expect(inputs).toEqual({ users: 100, rooms: 2, intervalSec: 10 });
  });

  it('falls back to the default interval and one room when nothing flows', () => {
    expect(capacityFromSnapshot(snapshot())).toEqual({ users: 0, rooms: 1, intervalSec: DEFAULT_INTERVAL_S });
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
