// Table tests of the least-loaded choice with room affinity.
import { describe, expect, it } from 'vitest';
import { chooseServer, loadOf, type Candidate } from './selection.js';

const server = (id: string, over: Partial<Candidate> = {}): Candidate => ({
  id,
  status: 'ready',
  socketWrites: [],
  clients: 0,
  rooms: [],
  ...over,
});

describe('loadOf', () => {
  it.each([
    { history: [], load: 0 },
    { history: [30], load: 10 }, // two missing seconds count as 0
    { history: [900, 3, 3, 3], load: 3 }, // only the last 3 s count
    { history: [10, 20, 30], load: 20 },
  ])('mean socket writes/s over the last 3 s of $history is $load', ({ history, load }) => {
    expect(loadOf(history)).toBe(load);
  });
});

describe('chooseServer', () => {
  const spawnWritesPerSec = 1000; // affinity limit = 800 writes/s
  it.each([
    {
      name: 'picks the least-loaded ready server',
      servers: [server('a', { socketWrites: [500, 500, 500] }), server('b', { socketWrites: [100, 100, 100] })],
      room: undefined,
      expected: 'b',
    },
    {
      name: 'breaks a load tie by fewer clients',
      servers: [server('a', { clients: 9 }), server('b', { clients: 3 }), server('c', { clients: 5 })],
      room: undefined,
      expected: 'b',
    },
    {
      name: 'breaks a full tie by the smaller id',
      servers: [server('b'), server('a')],
      room: undefined,
      expected: 'a',
    },
    {
      name: 'sends a room member to the server hosting the room while it is under 80%',
      servers: [server('a', { socketWrites: [700, 700, 700], rooms: ['r'] }), server('b')],
      room: 'r',
      expected: 'a',
    },
    {
      name: 'ignores affinity once the hosting server reaches 80%',
      servers: [server('a', { socketWrites: [800, 800, 800], rooms: ['r'] }), server('b', { socketWrites: [50, 50, 50] })],
      room: 'r',
      expected: 'b',
    },
    {
      name: 'picks the least-loaded of several hosting servers',
      servers: [
        server('a', { socketWrites: [600, 600, 600], rooms: ['r'] }),
        server('b', { socketWrites: [200, 200, 200], rooms: ['r'] }),
        server('c'),
      ],
      room: 'r',
      expected: 'b',
    },
    {
      name: 'falls back to the least loaded when no server hosts the room',
      servers: [server('a', { socketWrites: [10, 10, 10], rooms: ['x'] }), server('b')],
      room: 'r',
      expected: 'b',
    },
    {
      name: 'never picks a starting, draining or gone server, however idle',
      servers: [
        server('a', { status: 'starting' }),
        server('b', { status: 'draining', rooms: ['r'] }),
        server('c', { status: 'gone' }),
        server('d', { socketWrites: [5000, 5000, 5000] }),
      ],
      room: 'r',
      expected: 'd',
    },
    {
      name: 'judges load by the 3-second mean, not the last second',
      servers: [server('a', { socketWrites: [900, 900, 0] }), server('b', { socketWrites: [0, 0, 300] })],
      room: undefined,
      expected: 'b',
    },
    {
      name: 'skips a full server, however idle',
      servers: [server('a', { full: true }), server('b', { socketWrites: [700, 700, 700], clients: 900 })],
      room: undefined,
      expected: 'b',
    },
    {
      name: 'skips a full server that hosts the room',
      servers: [server('a', { full: true, rooms: ['r1'] }), server('b', { socketWrites: [100, 100, 100] })],
      room: 'r1',
      expected: 'b',
    },
    {
      name: 'treats a server without metrics yet as idle',
      servers: [server('a', { socketWrites: [1, 1, 1] }), server('new')],
      room: undefined,
      expected: 'new',
    },
  ])('$name', ({ servers, room, expected }) => {
    expect(chooseServer(servers, { room, spawnWritesPerSec })?.id).toBe(expected);
  });

  it('returns undefined when no server is ready', () => {
    expect(chooseServer([server('a', { status: 'starting' }), server('b', { status: 'draining' })], { spawnWritesPerSec })).toBeUndefined();
    expect(chooseServer([], { spawnWritesPerSec })).toBeUndefined();
  });

  it('returns undefined when every ready server is full', () => {
    expect(chooseServer([server('a', { full: true }), server('b', { full: true, rooms: ['r1'] })], { room: 'r1', spawnWritesPerSec })).toBeUndefined();
  });
});
