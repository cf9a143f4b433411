import { describe, expect, it } from 'vitest';
import { snapshotProblem } from './snapshot.js';
import { server, snapshot } from './test-snapshot.js';

describe('snapshotProblem', () => {
  it.each([
    { name: 'a proper snapshot', value: snapshot({ servers: [server('srv-a')] }), want: null },
    { name: 'null', value: null, want: 'not an object' },
    { name: 'a missing ts', value: { ...snapshot(), ts: 'now' }, want: 'ts is not a number' },
    { name: 'servers not an array', value: { ...snapshot(), servers: {} }, want: 'servers is not an array' },
    { name: 'a server without history', value: { ...snapshot(), servers: [{ id: 'srv-a', rooms: [] }] }, want: 'server srv-a has no history' },
    { name: 'rooms as an array', value: { ...snapshot(), rooms: [] }, want: 'rooms is not an object' },
    { name: 'no events', value: { ...snapshot(), events: undefined }, want: 'events is not an array' },
  ])('$name -> $want', ({ value, want }) => {
    expect(snapshotProblem(value)).toBe(want);
  });
});
