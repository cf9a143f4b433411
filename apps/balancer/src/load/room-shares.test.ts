// Table test of the room view built from per-server shares.
import { describe, expect, it } from 'vitest';
import { roomShares } from './room-shares.js';

describe('roomShares', () => {
  it('turns per-server shares and rates into rooms, split rooms and servers per room', () => {
    const shares = new Map([
      ['s1', new Map([['lobby', 90], ['quiet', 2], ['gone', 0]])],
      ['s2', new Map([['lobby', 10]])],
    ]);
    const rates: Record<string, number> = { lobby: 5, quiet: 0.1 };
    const view = roomShares(shares, (room) => rates[room] ?? 0);
    expect(view.rooms).toEqual(
      new Map([
        ['lobby', { messagesPerSec: 5, members: new Map([['s1', 90], ['s2', 10]]) }],
        ['quiet', { messagesPerSec: 0.1, members: new Map([['s1', 2]]) }],
      ]),
    );
    expect(view.splitRooms).toEqual(new Set(['lobby']));
    expect(view.roomServers).toEqual(new Map([['lobby', 2], ['quiet', 1]]));
  });
});
