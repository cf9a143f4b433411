import { describe, expect, it } from 'vitest';
import { blockedSpawn, heaviestRooms } from './planner.js';
import type { Capacity, FleetEvent } from './snapshot.js';

const room = (members: number, messagesPerSec: number, servers = 1) => ({
  members,
  messagesPerSec,
  predictedWritesPerSec: members * messagesPerSec,
  measuredWritesPerSec: members * messagesPerSec,
  serversNeeded: 1,
  servers,
});

describe('heaviestRooms', () => {
  const capacity: Capacity = {
    windowSeconds: 10,
    predictedWritesPerSec: 0,
    measuredWritesPerSec: 0,
    serversNeeded: 1,
    messagesPerSec: 0,
    deliveriesPerSec: 0,
    copiesPerMessage: 1,
    rooms: { small: room(2, 1), big: room(40, 20, 2), empty: room(0, 0, 0), mid: room(10, 5), tie: room(10, 5) },
  };
  it.each([
    [undefined, 8, []],
    [capacity, 8, ['big', 'mid', 'tie', 'small']],
    [capacity, 2, ['big', 'mid']],
  ] as const)('orders rooms by predicted writes (%#)', (c, limit, ids) => {
    expect(heaviestRooms(c, limit).map((r) => r.id)).toEqual(ids);
  });
});

describe('blockedSpawn', () => {
  const e = (ts: number, kind: string): FleetEvent => ({ ts, kind, serverId: null, detail: kind });
  it.each([
    ['no events', [], undefined],
    ['a recent no-spawn', [e(1000, 'spawn'), e(50_000, 'no-spawn')], 50_000],
    ['a spawn after it', [e(40_000, 'no-spawn'), e(50_000, 'spawn')], undefined],
    ['an old no-spawn', [e(1000, 'no-spawn')], undefined],
    ['other events after it', [e(50_000, 'no-spawn'), e(55_000, 'redistribute')], 50_000],
  ] as const)('%s', (_name, events, ts) => {
    expect(blockedSpawn(events, 70_000)?.ts).toBe(ts);
  });
});
