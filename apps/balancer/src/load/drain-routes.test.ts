// Table tests of drain routes: each room of a draining server goes where the room lives, so the drain splits no room.
import { describe, expect, it } from 'vitest';
import { planDrain } from './drain-routes.js';
import type { PlacementConfig, PlacementRoom, PlacementServer } from './placement.js';

const config: PlacementConfig = { spawnWritesPerSec: 50_000, maxMovesPerStep: 1000, settleMs: 5000, redirectRatePerSec: 100 };
const room = (rate: number, members: Record<string, number>): PlacementRoom => ({ messagesPerSec: rate, members: new Map(Object.entries(members)) });
const server = (id: string, writesPerSec: number): PlacementServer => ({ id, status: 'ready', writesPerSec, clients: 0 });
const input = (servers: PlacementServer[], rooms: Record<string, PlacementRoom>) => ({ servers, rooms: new Map(Object.entries(rooms)), inFlight: [], now: 0 });

describe('planDrain', () => {
  it('sends each room to its biggest holder, the rest to the least-loaded server', () => {
    const plan = planDrain(
      'x',
      input([server('x', 3000), server('a', 20_000), server('b', 5000)], {
        big: room(10, { x: 50, a: 500 }),
        mine: room(20, { x: 100 }),
        small: room(1, { x: 5, b: 30 }),
      }),
      config,
    );
    expect(plan).toEqual({
      routes: [{ room: 'big', to: 'a', n: 50 }],
      fallback: 'b',
      reason: '3 rooms (155 members) of x go where each room lives: b 2 rooms, a 1 room',
    });
  });

  it('does not pile a room onto a holder without room; it goes to the least-loaded server with room', () => {
    const plan = planDrain(
      'x',
      input([server('x', 10_000), server('a', 39_000), server('b', 30_000), server('c', 31_000)], { big: room(20, { x: 500, a: 100 }) }),
      config,
    );
    // 500 x 20 = 10,000 writes/s: a (39,000) and c would pass 40,000; b has room but is not the fallback... it is the least loaded.
    expect(plan.routes).toEqual([]);
    expect(plan.fallback).toBe('b');
  });

  it('says so when no other server is ready', () => {
    expect(planDrain('x', input([server('x', 0)], { r: room(1, { x: 3 }) }), config)).toEqual({
      routes: [],
      fallback: undefined,
      reason: 'no other ready server for the members of x',
    });
  });
});
