// The provision fast path's query reading: the three parameters, and a repeated one left to the route (which answers 400).
import { describe, expect, it } from 'vitest';
import { parseQuery } from './provision.js';

describe('parseQuery', () => {
  it.each([
    { search: '', expected: {} },
    { search: 'room=lobby', expected: { room: 'lobby' } },
    { search: 'room=lobby&user=alice&sig=ab', expected: { room: 'lobby', user: 'alice', sig: 'ab' } },
    { search: 'user=a%20b&other=1', expected: { user: 'a b' } },
    { search: 'room=a+b', expected: { room: 'a b' } },
    { search: 'room=a&room=b', expected: undefined },
    { search: 'user=a&user=a', expected: undefined },
  ])('reads ?$search', ({ search, expected }) => {
    expect(parseQuery(search)).toEqual(expected);
  });
});
