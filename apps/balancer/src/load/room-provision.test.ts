// Table tests of provisioning by the plan: members join where their room lives, a giant room's shares stay even, new rooms go least-loaded.
import { describe, expect, it } from 'vitest';
import { placementView, type PlacementConfig, type PlacementRoom, type PlacementServer } from './placement.js';
import { chooseProvision, countProvision } from './room-provision.js';

const config: PlacementConfig = { spawnWritesPerSec: 50_000, maxMovesPerStep: 1000, settleMs: 5000, redirectRatePerSec: 100 };
const room = (rate: number, members: Record<string, number>): PlacementRoom => ({ messagesPerSec: rate, members: new Map(Object.entries(members)) });
const server = (id: string, writesPerSec: number, clients = 0, status: PlacementServer['status'] = 'ready'): PlacementServer => ({
  id,
  status,
  writesPerSec,
  clients,
});
const viewOf = (servers: PlacementServer[], rooms: Record<string, PlacementRoom>) =>
  placementView({ servers, rooms: new Map(Object.entries(rooms)), inFlight: [], now: 0 }, config);

describe('chooseProvision', () => {
  it.each([
    {
      name: 'a member joins the server holding most of its room',
      servers: [server('a', 30_000), server('b', 1000)],
      rooms: { lobby: room(5, { a: 300, b: 2 }) },
      request: { room: 'lobby', user: 'u1' },
      expected: { serverId: 'a', reason: 'lobby lives on a (300 of 302 members)' },
    },
    {
      name: 'a full home sends the member to another holder with room',
      servers: [server('a', 39_990), server('b', 20_000), server('c', 100)],
      rooms: { lobby: room(20, { a: 500, b: 10 }) },
      request: { room: 'lobby' },
      expected: { serverId: 'b', reason: 'a holding lobby is full (39,990 writes/s): b holds 10 of it' },
    },
    {
      name: 'a new room goes to the least-loaded server',
      servers: [server('a', 30_000), server('b', 1000), server('c', 1000, 5)],
      rooms: {},
      request: { room: 'fresh' },
      expected: { serverId: 'b', reason: 'new room fresh: least-loaded b at 1,000 writes/s' },
    },
    {
      name: 'no room: the least-loaded server',
      servers: [server('a', 30_000), server('b', 1000)],
      rooms: { lobby: room(5, { a: 300 }) },
      request: {},
      expected: { serverId: 'b', reason: 'no room: least-loaded b at 1,000 writes/s' },
    },
    {
      name: 'a giant room on fewer servers than it needs opens one more',
      // 3,000 members x 40 msg/s = 120,000 writes/s; fleet mean 25,333 -> fair share 30,400 -> needs 4 servers; it is on 2.
      servers: [server('a', 38_000), server('b', 38_000), server('c', 0)],
      rooms: { giant: room(40, { a: 1500, b: 1500 }) },
      request: { room: 'giant' },
      expected: { serverId: 'c', reason: 'giant at 120,000 writes/s needs 4 servers: c holds the fewest (0 of 3,000)' },
    },
    {
      name: 'a giant room whose servers are all full goes to the least-loaded server',
      // 2,000 members x 35 msg/s = 70,000 writes/s: needs 2 servers at the 35,000 fill cap, and holds 2.
      servers: [server('a', 40_000), server('b', 40_000), server('c', 0), server('d', 5000)],
      rooms: { giant: room(35, { a: 1000, b: 1000 }), other: room(1, { d: 10 }) },
      request: { room: 'giant' },
      expected: { serverId: 'c', reason: 'giant needs 2 servers and none of them has room: least-loaded c at 0 writes/s' },
    },
    {
      name: 'draining and starting servers are never chosen',
      servers: [server('a', 0, 0, 'draining'), server('b', 0, 0, 'starting'), server('c', 45_000)],
      rooms: { lobby: room(5, { a: 300 }) },
      request: { room: 'lobby' },
      expected: { serverId: 'c', reason: 'new room lobby: least-loaded c at 45,000 writes/s' },
    },
  ])('$name', ({ servers, rooms, request, expected }) => {
    expect(chooseProvision(viewOf(servers, rooms), request)).toEqual(expected);
  });

  it('answers undefined without a ready server', () => {
    expect(chooseProvision(viewOf([server('a', 0, 0, 'starting')], {}), { room: 'r' })).toBeUndefined();
  });

  it('keeps the shares of a room split on purpose even, burst after burst', () => {
    // 3,000 members x 40 = 120,000 writes/s: needs 3 servers; c has the fewest.
    const view = viewOf([server('a', 36_000), server('b', 30_000), server('c', 24_000)], { giant: room(40, { a: 1200, b: 1000, c: 800 }) });
    const picks: string[] = [];
    for (let i = 0; i < 300; i++) {
      const choice = chooseProvision(view, { room: 'giant', user: `u${i}` })!;
      picks.push(choice.serverId);
      countProvision(view, choice.serverId, 'giant');
    }
    // Not one to a: c fills up to b's share, then the two alternate.
    expect(picks.filter((id) => id === 'a')).toHaveLength(0);
    expect(picks.slice(0, 200).every((id) => id === 'c')).toBe(true);
    expect(picks.filter((id) => id === 'b').length).toBeGreaterThan(40);
  });

  it('counts a provision of a new room, so the room\'s next member follows the first', () => {
    const view = viewOf([server('a', 1000), server('b', 1000)], {});
    const first = chooseProvision(view, { room: 'brand-new', user: 'x' })!;
    countProvision(view, first.serverId, 'brand-new');
    expect(chooseProvision(view, { room: 'brand-new', user: 'y' })!.serverId).toBe(first.serverId);
  });
});
