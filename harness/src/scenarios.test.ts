import { describe, expect, it } from 'vitest';
import {
  assignRooms,
  evenSizes,
  predictedWritesBySizes,
  predictedWritesPerSec,
  randomInterval,
  roomName,
  roomSizes,
  zipfSizes,
} from './scenarios.js';

describe('room sizes', () => {
  it.each([
    [10, 5, [2, 2, 2, 2, 2]],
    [11, 5, [3, 2, 2, 2, 2]],
    [200, 4, [50, 50, 50, 50]],
    [3, 3, [1, 1, 1]],
    [7, 1, [7]],
  ])('even: %i users in %i rooms -> %j', (users, rooms, sizes) => {
    expect(evenSizes(users, rooms)).toEqual(sizes);
  });

  it.each([
    [100, 5, 1.1],
    [2000, 5, 1.1],
    [5000, 50, 1.0],
    [5000, 50, 2.5],
    [10, 10, 3],
    [17, 4, 0.5],
    [1000, 999, 1.2],
  ])('zipf: %i users in %i rooms (s=%f) sum to the users, every room non-empty, sizes non-increasing', (users, rooms, s) => {
    const sizes = zipfSizes(users, rooms, s);
    expect(sizes).toHaveLength(rooms);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(users);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(1);
    for (let i = 1; i < sizes.length; i++) expect(sizes[i]).toBeLessThanOrEqual(sizes[i - 1] as number);
  });

  it('zipf with s=1 follows 1/k', () => {
    // 1 + 1/2 + 1/3 + 1/4 = 25/12; the 96 users left after one each split 46.08/23.04/15.36/11.52.
    expect(zipfSizes(100, 4, 1)).toEqual([47, 24, 16, 13]);
  });

  it('roomSizes picks even without --zipf', () => {
    expect(roomSizes(10, 3, undefined)).toEqual([4, 3, 3]);
    expect(roomSizes(10, 3, 1)).toEqual(zipfSizes(10, 3, 1));
  });

  it('names rooms chat-room-1 .. chat-room-R', () => {
    expect([0, 1, 4].map((i) => roomName('chat-room-', i))).toEqual(['chat-room-1', 'chat-room-2', 'chat-room-5']);
  });
});

describe('assignRooms', () => {
  it('gives every room exactly its size', () => {
    const sizes = zipfSizes(1000, 7, 1.1);
    const rooms = assignRooms(sizes);
    const counts = new Array<number>(sizes.length).fill(0);
    for (const room of rooms) counts[room] = (counts[room] as number) + 1;
    expect(counts).toEqual(sizes);
  });

  it('spreads rooms over the connect order', () => {
    const rooms = assignRooms([500, 500]);
    const firstHalf = rooms.slice(0, 500).filter((r) => r === 0).length;
    expect(firstHalf).toBeGreaterThan(150);
    expect(firstHalf).toBeLessThan(350);
  });
});

describe('predicted socket writes', () => {
  it.each([
    // users, mean interval s, rooms, u^2/(m r)
    [2000, 15, 5, 53_333.33],
    [200, 0.3, 4, 33_333.33],
    [100, 1, 1, 10_000],
  ])('%i users every %f s in %i rooms -> %f writes/s', (users, m, rooms, expected) => {
    expect(predictedWritesPerSec(users, m, rooms)).toBeCloseTo(expected, 1);
    expect(predictedWritesBySizes(evenSizes(users, rooms), m)).toBeCloseTo(expected, 1);
  });

  it('weights big rooms more when sizes are skewed', () => {
    expect(predictedWritesBySizes([3, 1], 1)).toBe(10);
    expect(predictedWritesPerSec(4, 1, 2)).toBe(8);
  });
});

describe('randomInterval', () => {
  it.each([
    [0, 200],
    [0.5, 300],
    [0.999999, 400],
  ])('random %f in 200-400 -> %i', (r, expected) => {
    expect(randomInterval(200, 400, () => r)).toBe(expected);
  });
});
