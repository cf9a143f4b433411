import { describe, expect, it } from 'vitest';
import { roomDeltas } from './metrics.js';

describe('roomDeltas', () => {
  it.each([
    [{}, { a: 2 }, { a: 2 }],
    [{ a: 2 }, { a: 2 }, {}],
    [{ a: 2 }, { a: 5 }, { a: 3 }],
    [{ a: 2, b: 1 }, { a: 1 }, { a: -1, b: -1 }],
    [{ a: 0 }, {}, {}],
  ])('from %j to %j moves %j', (reported, now, expected) => {
    const deltas = roomDeltas(new Map(Object.entries(reported)), new Map(Object.entries(now)));
    expect(Object.fromEntries(deltas)).toEqual(expected);
  });
});
