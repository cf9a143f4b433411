// Table tests of which connections a room-aware redistribute moves, and where a draining server's connections go.
import { describe, expect, it } from 'vitest';
import { pickMovers, routeMap, routeOf, type Movable } from './movers.js';

interface Fake extends Movable {
  name: string;
}
const conn = (name: string, rooms: string[], over: Partial<Fake> = {}): Fake => ({
  name,
  closing: false,
  moving: false,
  roomCount: rooms.length,
  roomIds: () => rooms,
  ...over,
});

const connections = [
  conn('a1', ['a', 'b']), // oldest, in two rooms
  conn('a2', ['a']),
  conn('a3', ['a']),
  conn('b1', ['b']),
  conn('a4', ['a'], { moving: true }),
  conn('a5', ['a'], { closing: true }),
  conn('c1', ['c']),
];

describe('pickMovers', () => {
  it.each([
    {
      name: 'moves members of the listed rooms, single-room members first, oldest first',
      moves: [{ room: 'a', n: 2 }],
      cap: 10,
      picked: [['a2', 'a'], ['a3', 'a']],
    },
    {
      name: 'takes a member of several rooms once single-room members run out',
      moves: [{ room: 'a', n: 3 }],
      cap: 10,
      picked: [['a2', 'a'], ['a3', 'a'], ['a1', 'a']],
    },
    {
      name: 'counts a connection once across rooms',
      moves: [{ room: 'a', n: 3 }, { room: 'b', n: 2 }],
      cap: 10,
      picked: [['a2', 'a'], ['a3', 'a'], ['a1', 'a'], ['b1', 'b']],
    },
    {
      name: 'stops at the cap',
      moves: [{ room: 'a', n: 3 }, { room: 'c', n: 1 }],
      cap: 2,
      picked: [['a2', 'a'], ['a3', 'a']],
    },
    {
      name: 'without moves, the first n not closing or moving',
      moves: undefined,
      cap: 5,
      picked: [['a1', undefined], ['a2', undefined], ['a3', undefined], ['b1', undefined], ['c1', undefined]],
    },
    { name: 'a room with no members here moves nobody', moves: [{ room: 'zzz', n: 4 }], cap: 10, picked: [] },
  ])('$name', ({ moves, cap, picked }) => {
    expect(pickMovers(connections, moves, cap).map(({ connection, room }) => [connection.name, room])).toEqual(picked);
  });
});

describe('routeOf', () => {
  const routes = routeMap([{ room: 'b', redirect: 'ws://b/' }, { room: 'c', redirect: 'ws://c/' }]);
  it.each([
    { rooms: ['b'], route: 'ws://b/' },
    { rooms: ['a', 'c'], route: 'ws://c/' },
    { rooms: ['a'], route: undefined },
    { rooms: [], route: undefined },
  ])('a connection in $rooms goes to $route', ({ rooms, route }) => {
    expect(routeOf(rooms, routes)).toBe(route);
  });
});
