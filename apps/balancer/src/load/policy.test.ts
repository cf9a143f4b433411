// Table tests of the scaling policy: when to spawn and which hot servers shed clients.
import { describe, expect, it } from 'vitest';
import { planActions, type PolicyInput, type PolicyServer } from './policy.js';

const server = (id: string, writes: number, over: Partial<PolicyServer> = {}): PolicyServer => ({
  id,
  status: 'ready',
  socketWrites: [writes, writes, writes],
  eventLoopMs: [1, 1, 1],
  clients: 100,
  rooms: [],
  ...over,
});

const input = (servers: PolicyServer[], over: Partial<PolicyInput> = {}): PolicyInput => ({
  servers,
  managedCount: servers.length,
  startingCount: 0,
  fleetMax: 8,
  spawnWritesPerSec: 1000,
  eventLoopLagMs: 15,
  redistributeFraction: 0.04,
  cooldownMs: 5000,
  lastRedistributedAt: new Map(),
  now: 100_000,
  ...over,
});

describe('planActions', () => {
  it('does nothing while every server is under the limits', () => {
    expect(planActions(input([server('a', 999), server('b', 10)]))).toEqual([]);
  });

  it('spawns when every ready server is hot', () => {
    expect(planActions(input([server('a', 1000), server('b', 2000)]))).toEqual([
      { type: 'spawn', reason: 'all 2 ready servers are hot' },
    ]);
  });

  it.each([
    { name: 'a server is already starting', over: { startingCount: 1 } },
    { name: 'the fleet is at FLEET_MAX', over: { managedCount: 8 } },
  ])('does not spawn when $name', ({ over }) => {
    expect(planActions(input([server('a', 5000)], over))).toEqual([]);
  });

  it('moves REDISTRIBUTE_FRACTION of a hot server\'s clients to the least-loaded cool server', () => {
    const actions = planActions(input([server('a', 1500, { clients: 250 }), server('b', 300), server('c', 100)]));
    expect(actions).toEqual([{ type: 'redistribute', from: 'a', to: 'c', n: 10, reason: 'hot: 1500 writes/s' }]);
  });

  it('counts a lagging event loop as hot', () => {
    const actions = planActions(input([server('a', 10, { eventLoopMs: [40, 40, 40], clients: 10 }), server('b', 10)]));
    expect(actions).toEqual([{ type: 'redistribute', from: 'a', to: 'b', n: 1, reason: 'hot: event loop lag 40.0 ms' }]);
  });

  it('waits out the cooldown before redistributing the same server again', () => {
    const servers = [server('a', 1500), server('b', 10)];
    expect(planActions(input(servers, { lastRedistributedAt: new Map([['a', 97_000]]) }))).toEqual([]);
    expect(planActions(input(servers, { lastRedistributedAt: new Map([['a', 95_000]]) }))).toHaveLength(1);
  });

  it('ignores servers that are not ready', () => {
    expect(planActions(input([server('a', 5000, { status: 'draining' }), server('b', 10)]))).toEqual([]);
    expect(planActions(input([server('a', 5000, { status: 'starting' })]))).toEqual([]);
  });
});
