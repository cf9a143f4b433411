// Table tests of the room-aware policy: no spawn on lag at idle or on a saturated host, spawns where cores are spare, moves and drains that keep rooms whole.
import { describe, expect, it } from 'vitest';
import { initialAutoscaleState, planAutoscale, type AutoscaleConfig, type AutoscaleInput, type AutoscaleServer } from './autoscale.js';
import type { HostFigures } from './host-load.js';
import type { PlacementRoom } from './placement.js';

const config: AutoscaleConfig = {
  fleetMin: 1,
  fleetMax: 8,
  spawnWritesPerSec: 50_000,
  eventLoopLagMs: 15,
  scaleDownAfterMs: 30_000,
  placement: { maxMovesPerStep: 1000, settleMs: 5000, redirectRatePerSec: 100 },
  spawnHost: { minSpareCores: 0.5, maxAgeMs: 10_000 },
};

const server = (id: string, writes: number, over: Partial<AutoscaleServer> = {}): AutoscaleServer => ({
  id,
  status: 'ready',
  managed: true,
  socketWrites: [writes, writes, writes],
  eventLoopMs: [1, 1, 1],
  clients: 100,
  ...over,
});
const room = (rate: number, members: Record<string, number>): PlacementRoom => ({ messagesPerSec: rate, members: new Map(Object.entries(members)) });
const host = (hostId: string, cores: number, busyShare: number, fleetShare: number): HostFigures => ({
  hostId,
  cores,
  busyShare,
  fleetShare,
  othersShare: busyShare - fleetShare,
  processCores: new Map(),
  windowMs: 3000,
  at: 100_000,
});

const input = (servers: AutoscaleServer[], over: Partial<AutoscaleInput> = {}): AutoscaleInput => ({
  servers,
  rooms: new Map(),
  hosts: [],
  managedCount: servers.filter((s) => s.managed && s.status !== 'gone').length,
  startingCount: 0,
  state: initialAutoscaleState(),
  now: 100_000,
  ...over,
});

describe('planAutoscale', () => {
  it('does not spawn for an idle fleet lagging on a busy host, and says so once', () => {
    const idle = [server('srv-a1', 0, { clients: 0, eventLoopMs: [18, 19, 20] })];
    const first = planAutoscale(input(idle, { hosts: [host('h1', 2, 0.97, 0.05)] }), config);
    expect(first.actions).toEqual([
      {
        type: 'note',
        kind: 'idle-lag',
        serverId: 'srv-a1',
        reason:
          'srv-a1 event loop lag 19.0 ms for 3 s but little work of its own (0 clients, 0 writes/s; lag counts with ≥1 clients and ≥5,000 writes/s or ≥0.5 cores): not hot',
      },
    ]);
    const second = planAutoscale(input(idle, { state: first.state, now: 101_000 }), config);
    expect(second.actions).toEqual([]);
  });

  it('does not spawn on a host whose cores other programs saturate, and says so with numbers', () => {
    const rooms = new Map([
      ['r1', room(40, { 'srv-a1': 800, 'srv-b2': 10 })],
      ['r2', room(40, { 'srv-a1': 730 })],
      ['r3', room(1, { 'srv-a1': 5, 'srv-b2': 5 })],
      ['r4', room(1, { 'srv-a1': 5, 'srv-b2': 5 })],
    ]);
    const servers = [server('srv-a1', 61_200), server('srv-b2', 60_000)];
    const plan = planAutoscale(input(servers, { rooms, hosts: [host('h1', 2, 0.95, 0.15)] }), config);
    const notes = plan.actions.filter((a) => a.type === 'note');
    expect(plan.actions.filter((a) => a.type === 'spawn')).toEqual([]);
    expect(notes).toEqual([
      {
        type: 'note',
        kind: 'no-spawn',
        serverId: 'srv-a1',
        reason:
          'srv-a1 at 61,200 writes/s for 3 s, 3 of 4 rooms split; srv-b2 at 60,000 writes/s for 3 s, 3 of 3 rooms split; all 2 ready servers hot; ' +
          'no host with 0.5 spare cores (h1: 2 cores, 1.9 busy (1.6 others, 0.3 fleet), 0.1 spare, saturated by other programs): no spawn',
      },
    ]);
    // Said once while it lasts.
    const again = planAutoscale(input(servers, { rooms, hosts: [host('h1', 2, 0.95, 0.15)], state: plan.state, now: 101_000 }), config);
    expect(again.actions.filter((a) => a.type === 'note')).toEqual([]);
  });

  it('spawns on the host with spare cores when every ready server is hot', () => {
    const servers = [server('srv-a1', 61_200)];
    const hosts = [host('h1', 2, 0.95, 0.15), host('h2', 8, 0.25, 0.125)];
    const plan = planAutoscale(input(servers, { hosts, rooms: new Map([['r', room(50, { 'srv-a1': 1224 })]]) }), config);
    expect(plan.actions.filter((a) => a.type === 'spawn')).toEqual([
      {
        type: 'spawn',
        hostId: 'h2',
        reason: 'srv-a1 at 61,200 writes/s for 3 s, 0 of 1 room split; all 1 ready servers hot: spawn on h2: 8 cores, 2.0 busy (1.0 others, 1.0 fleet), 6.0 spare',
      },
    ]);
    expect(plan.state.lastSpawnAt).toBe(100_000);
  });

  it('spawns before servers are hot when one past the relieve line finds no server with room', () => {
    // Both at 44,000 writes/s (88%): not hot, but past the 40,000 line, and neither has room for the other's rooms.
    const rooms = new Map([['r1', room(40, { a: 1100 })], ['r2', room(40, { b: 1100 })]]);
    const plan = planAutoscale(input([server('a', 44_000), server('b', 44_000)], { rooms }), config);
    expect(plan.actions).toEqual([
      {
        type: 'spawn',
        hostId: undefined,
        reason:
          'a at 44,000 writes/s for 3 s past the 40,000 line, 0 of 1 room split; b at 44,000 writes/s for 3 s past the 40,000 line, 0 of 1 room split; ' +
          'no server with room for its load: spawn where the balancer runs (no host figures)',
      },
    ]);
  });

  it('does not spawn for a server whose rooms only fit nowhere whole, until it is hot', () => {
    // a: two rooms (22,000 + 21,000 = 43,000, past the 40,000 line); b and c have 10,000 of room each:
    // 20,000 in all for 8,000 of excess, but neither room fits either whole.
    const rooms = (r1: number, r2: number) =>
      new Map([['r1', room(r1, { a: 440 })], ['r2', room(r2, { a: 500 })], ['rb', room(25, { b: 1000 })], ['rc', room(25, { c: 1000 })]]);
    const servers = (a: number) => [server('a', a), server('b', 25_000), server('c', 25_000)];
    expect(planAutoscale(input(servers(43_000), { rooms: rooms(50, 42) }), config).actions).toEqual([]);
    // Hot (52,000 for 3 s) and still nowhere to go: a server is the way out.
    const hot = planAutoscale(input(servers(52_000), { rooms: rooms(60, 51.2) }), config);
    expect(hot.actions).toEqual([
      {
        type: 'spawn',
        hostId: undefined,
        reason: 'a at 52,000 writes/s for 3 s, 0 of 2 rooms split; no server with room for its load: spawn where the balancer runs (no host figures)',
      },
    ]);
  });

  it('moves load to a server with room instead of spawning', () => {
    const rooms = new Map([
      ['big', room(50, { 'srv-a1': 700 })],
      ['mid', room(50, { 'srv-a1': 524 })],
      ['own', room(10, { 'srv-b2': 500 })],
    ]);
    const plan = planAutoscale(input([server('srv-a1', 61_200), server('srv-b2', 5000)], { rooms }), config);
    expect(plan.actions).toEqual([
      {
        type: 'redistribute',
        from: 'srv-a1',
        to: 'srv-b2',
        n: 524,
        moves: [{ room: 'mid', n: 524 }],
        kinds: { relieve: 524 },
        reason: 'relieve: srv-a1 at 61,200 writes/s over the 35,000 line: mid (524 members, 26,200 writes/s) moves whole to srv-b2',
      },
    ]);
    expect(plan.state.inFlight).toHaveLength(1);
  });

  it('sheds load from a server hot on lag with work, toward a cooler one', () => {
    const rooms = new Map([['r1', room(30, { a: 300 })], ['r2', room(10, { a: 200 })], ['r3', room(1, { b: 10 })]]);
    // Hot on lag with work (500 clients, 11,000 writes/s); well under the writes cap.
    const servers = [server('a', 11_000, { eventLoopMs: [40, 40, 40], clients: 500 }), server('b', 10, { clients: 10 })];
    const plan = planAutoscale(input(servers, { rooms }), config);
    // a at 11,000 sheds 20% (to 8,800): r1 is the one room that covers it alone.
    expect(plan.actions).toEqual([
      {
        type: 'redistribute',
        from: 'a',
        to: 'b',
        n: 300,
        moves: [{ room: 'r1', n: 300 }],
        kinds: { relieve: 300 },
        reason: 'relieve: a at 11,000 writes/s over the 8,800 line: r1 (300 members, 9,000 writes/s) moves whole to b',
      },
    ]);
  });

  it('says once that a needed spawn is blocked at FLEET_MAX', () => {
    const plan = planAutoscale(input([server('a', 60_000)], { managedCount: 8 }), config);
    expect(plan.actions).toEqual([
      { type: 'note', kind: 'no-spawn', serverId: 'a', reason: 'a at 60,000 writes/s for 3 s, 0 of 0 rooms split; all 1 ready servers hot; the fleet is at FLEET_MAX=8: no spawn' },
    ]);
  });

  it('drains a server the fleet no longer needs once calm long enough, routing each room to where it lives', () => {
    const rooms = new Map([
      ['shared', room(5, { a: 300, b: 20 })],
      ['solo', room(2, { b: 40 })],
    ]);
    const servers = [server('a', 1600, { clients: 300 }), server('b', 180, { clients: 60 })];
    const start = planAutoscale(input(servers, { rooms }), config);
    expect(start.actions).toEqual([expect.objectContaining({ type: 'redistribute', from: 'b', to: 'a', n: 20 })]);
    // Once the move settled and the fleet stayed calm for SCALE_DOWN_AFTER_MS, b is drained; its rooms go to a.
    const settled = new Map([['shared', room(5, { a: 320 })], ['solo', room(2, { b: 40 })]]);
    const calm = planAutoscale(input(servers, { rooms: settled, now: 200_000 }), config);
    expect(calm.actions).toEqual([]);
    const later = planAutoscale(input(servers, { rooms: settled, state: calm.state, now: 230_000 }), config);
    expect(later.actions).toEqual([
      {
        type: 'drain',
        id: 'b',
        routes: [],
        fallback: 'a',
        reason:
          'scale-down: fleet load 1,780 writes/s, 360 clients fits on 1 server under 50% of SPAWN_WRITES_PER_SEC for 30.0 s; ' +
          '1 rooms (40 members) of b go where each room lives: a 1 room',
      },
    ]);
  });

  it('leaves a balanced, cool fleet alone', () => {
    const rooms = new Map([['r1', room(20, { a: 500 })], ['r2', room(20, { b: 450 })]]);
    const plan = planAutoscale(input([server('a', 10_000), server('b', 9000)], { rooms, managedCount: 2 }), { ...config, fleetMin: 2 });
    expect(plan.actions).toEqual([]);
  });

  describe('full servers (MAX_CONNECTIONS reached)', () => {
    const spawns = (servers: AutoscaleServer[], over: Partial<AutoscaleInput> = {}) =>
      planAutoscale(input(servers, over), config).actions.filter((a) => a.type === 'spawn' || a.type === 'note');

    it.each([
      {
        name: 'every ready server is full',
        servers: [server('a', 0, { full: true, clients: 19_500 }), server('b', 10, { full: true, clients: 19_500 })],
        reason: 'a full at 19,500 clients; b full at 19,500 clients; all 2 ready servers full: spawn where the balancer runs (no host figures)',
      },
      {
        name: 'the ready servers are hot or full',
        servers: [server('a', 61_200), server('b', 0, { full: true, clients: 20 })],
        reason: 'a at 61,200 writes/s for 3 s, 0 of 0 rooms split; b full at 20 clients; all 2 ready servers hot or full: spawn where the balancer runs (no host figures)',
      },
    ])('spawns when $name', ({ servers, reason }) => {
      expect(spawns(servers)).toEqual([{ type: 'spawn', hostId: undefined, reason }]);
    });

    it.each([
      { name: 'one ready server has room', servers: [server('a', 0, { full: true }), server('b', 0)], over: {} },
      { name: 'a server is starting', servers: [server('a', 0, { full: true })], over: { startingCount: 1 } },
    ])('does not spawn when $name', ({ servers, over }) => {
      expect(spawns(servers, over)).toEqual([]);
    });

    it('notes once that the fleet is full at FLEET_MAX', () => {
      const servers = [server('a', 0, { full: true, clients: 20 })];
      expect(spawns(servers, { managedCount: 8 })).toEqual([
        { type: 'note', kind: 'no-spawn', serverId: 'a', reason: 'a full at 20 clients; all 1 ready servers full; the fleet is at FLEET_MAX=8: no spawn' },
      ]);
    });

    it('never moves clients to a full server, nor drains while one is full', () => {
      const rooms = new Map([['r1', room(100, { a: 500 })], ['r2', room(100, { b: 10 })]]);
      const servers = [server('a', 50_000, { clients: 500 }), server('b', 1000, { clients: 10, full: true })];
      const plan = planAutoscale(input(servers, { rooms, state: { ...initialAutoscaleState(), calmSince: 0 } }), config);
      expect(plan.actions.filter((a) => a.type === 'redistribute' && a.to === 'b')).toEqual([]);
      expect(plan.actions.filter((a) => a.type === 'drain')).toEqual([]);
    });
  });
});
