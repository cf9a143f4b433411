// Table tests of the scaling policy: when to spawn, which hot servers shed clients, and when to drain one.
import { describe, expect, it } from 'vitest';
import { planActions as plan, type PolicyInput, type PolicyServer } from './policy.js';

const server = (id: string, writes: number, over: Partial<PolicyServer> = {}): PolicyServer => ({
  id,
  status: 'ready',
  socketWrites: [writes, writes, writes],
  eventLoopMs: [1, 1, 1],
  clients: 100,
  rooms: [],
  managed: true,
  ...over,
});

const input = (servers: PolicyServer[], over: Partial<PolicyInput> = {}): PolicyInput => ({
  servers,
  managedCount: servers.length,
  startingCount: 0,
  fleetMin: 1,
  fleetMax: 8,
  spawnWritesPerSec: 1000,
  eventLoopLagMs: 15,
  redistributeFraction: 0.04,
  cooldownMs: 5000,
  scaleDownAfterMs: 30_000,
  lastRedistributedAt: new Map(),
  lastSpawnAt: undefined,
  calmSince: undefined,
  now: 100_000,
  ...over,
});

/** The actions of one plan. */
const planActions = (i: PolicyInput) => plan(i).actions;

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

describe('planActions scale-down', () => {
  // spawnWritesPerSec 1000: the low-water mark is 500 writes/s on every remaining server.
  const idle = () => [server('a', 100, { clients: 30 }), server('b', 20, { clients: 5 }), server('c', 60, { clients: 10 })];
  /** Calm for 31 s, last spawn 60 s ago. */
  const long = { calmSince: 69_000, lastSpawnAt: 40_000 };

  it('drains the least-loaded managed server once the fleet has fit on one fewer for SCALE_DOWN_AFTER_MS', () => {
    expect(plan(input(idle(), long))).toEqual({
      actions: [
        {
          type: 'drain',
          id: 'b',
          reason: 'scale-down: fleet load 180 writes/s, 45 clients fits on 2 servers under 50% of SPAWN_WRITES_PER_SEC for 31.0 s',
        },
      ],
      calmSince: undefined,
    });
  });

  it('starts the window the first time the fleet fits, and keeps it while it still does', () => {
    expect(plan(input(idle()))).toEqual({ actions: [], calmSince: 100_000 });
    expect(plan(input(idle(), { calmSince: 80_000 }))).toEqual({ actions: [], calmSince: 80_000 });
  });

  it.each([
    { name: 'before the window has passed', calmSince: 70_001, lastSpawnAt: 40_000 },
    { name: 'within SCALE_DOWN_AFTER_MS of the last spawn', calmSince: 69_000, lastSpawnAt: 80_000 },
  ])('waits, keeping the window, $name', ({ calmSince, lastSpawnAt }) => {
    expect(plan(input(idle(), { calmSince, lastSpawnAt }))).toEqual({ actions: [], calmSince });
  });

  it.each([
    { name: 'at FLEET_MIN', over: { fleetMin: 3 }, servers: idle() },
    { name: 'while a server is starting', over: { startingCount: 1 }, servers: [...idle(), server('d', 0, { status: 'starting' })] },
    { name: 'while a server is draining', over: {}, servers: [...idle(), server('d', 0, { status: 'draining' })] },
    {
      name: 'when a remaining server would pass the low-water mark',
      over: {},
      servers: [server('a', 300), server('b', 250)],
    },
    { name: 'when a remaining server is at the low-water mark already', over: {}, servers: [server('a', 500), server('b', 10), server('c', 10)] },
    { name: 'when a server lags', over: {}, servers: [...idle(), server('d', 0, { eventLoopMs: [40, 40, 40] })] },
    { name: 'when only one managed server is ready beside remote ones', over: {}, servers: [server('a', 0), server('r1', 0, { managed: false }), server('r2', 0, { managed: false })] },
  ])('does not drain $name', ({ over, servers }) => {
    const result = plan(input(servers, { ...long, ...over }));
    expect(result.actions.filter((a) => a.type === 'drain')).toEqual([]);
    expect(result.calmSince).toBeUndefined();
  });

  it('never drains a remote server, even the least-loaded one', () => {
    const servers = [server('r', 0, { clients: 0, managed: false }), server('a', 50, { clients: 20 }), server('b', 30, { clients: 40 })];
    expect(planActions(input(servers, long))).toEqual([expect.objectContaining({ type: 'drain', id: 'b' })]);
  });

  it('picks the least-loaded managed server, then the one with fewer clients', () => {
    expect(planActions(input([server('a', 10, { clients: 9 }), server('b', 10, { clients: 3 }), server('c', 200)], long))).toEqual([
      expect.objectContaining({ type: 'drain', id: 'b' }),
    ]);
  });

  it('drains down to FLEET_MIN one server at a time', () => {
    const actions = planActions(input([server('a', 0), server('b', 0), server('c', 0), server('d', 0)], long));
    expect(actions.filter((a) => a.type === 'drain')).toHaveLength(1);
  });

  it('counts a remote server as room for the load, so a managed one can go', () => {
    expect(planActions(input([server('a', 200), server('r', 100, { managed: false })], { ...long, fleetMin: 0 }))).toEqual([
      expect.objectContaining({ type: 'drain', id: 'a' }),
    ]);
  });

  describe('full servers (MAX_CONNECTIONS reached)', () => {
    it.each([
      { name: 'every ready server is full', servers: [server('a', 0, { full: true }), server('b', 0, { full: true })], reason: 'all 2 ready servers are full' },
      { name: 'the ready servers are hot or full', servers: [server('a', 1000), server('b', 0, { full: true })], reason: 'all 2 ready servers are hot or full' },
      { name: 'the only ready server is full', servers: [server('a', 0, { full: true }), server('s', 0, { status: 'draining' })], reason: 'all 1 ready servers are full' },
    ])('spawns when $name', ({ servers }) => {
      expect(planActions(input(servers)).filter((a) => a.type === 'spawn')).toEqual([{ type: 'spawn', reason: expect.stringMatching(/ready servers are (hot or )?full$/) }]);
    });

    it.each([
      { name: 'one ready server has room', servers: [server('a', 0, { full: true }), server('b', 0)], over: {} },
      { name: 'a server is starting', servers: [server('a', 0, { full: true })], over: { startingCount: 1 } },
      { name: 'the fleet is at FLEET_MAX', servers: [server('a', 0, { full: true })], over: { fleetMax: 1 } },
    ])('does not spawn when $name', ({ servers, over }) => {
      expect(planActions(input(servers, over)).filter((a) => a.type === 'spawn')).toEqual([]);
    });

    it('moves a hot server\'s clients to a cool server with room, never to a full one', () => {
      const servers = [server('hot', 2000), server('idle-full', 0, { full: true }), server('cool', 500)];
      expect(planActions(input(servers))).toEqual([expect.objectContaining({ type: 'redistribute', from: 'hot', to: 'cool' })]);
    });

    it('does not drain while a server is full, however idle the fleet', () => {
      const servers = [server('a', 0, { full: true }), server('b', 0), server('c', 0)];
      const result = plan(input(servers, { calmSince: 0, lastSpawnAt: 0 }));
      expect(result.actions).toEqual([]);
      expect(result.calmSince).toBeUndefined();
    });
  });
});
