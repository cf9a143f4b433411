import { describe, expect, it } from 'vitest';
import { RoomCursors } from './room-cursors.js';

describe('RoomCursors.accept', () => {
  it.each([
    // sequence of ids, expected verdicts
    [['1-0', '2-0', '3-0'], ['new', 'new', 'new']],
    [['1-0', '1-0'], ['new', 'duplicate']],
    [['5-1', '5-0', '5-2'], ['new', 'duplicate', 'new']],
    [['9-0', '10-0'], ['new', 'new']], // numeric order, not string order
    [['10-0', '9-5'], ['new', 'duplicate']],
    [['1700000000000-0', '1700000000000-10', '1700000000000-9'], ['new', 'new', 'duplicate']],
  ])('ids %j are judged %j', (ids, verdicts) => {
    const cursors = new RoomCursors();
    cursors.add('r');
    expect(ids.map((id) => cursors.accept('r', id))).toEqual(verdicts);
  });

  it('keeps one cursor per room', () => {
    const cursors = new RoomCursors();
    cursors.add('a');
    cursors.add('b');
    expect(cursors.accept('a', '5-0')).toBe('new');
    expect(cursors.accept('b', '3-0')).toBe('new');
    expect(cursors.accept('b', '4-0')).toBe('new');
    expect(cursors.accept('a', '4-0')).toBe('duplicate');
    expect(cursors.last('a')).toBe('5-0');
    expect(cursors.last('b')).toBe('4-0');
  });

  it('drops messages of rooms it is not in', () => {
    const cursors = new RoomCursors();
    expect(cursors.accept('x', '1-0')).toBe('not-joined');
    cursors.add('x');
    cursors.remove('x');
    expect(cursors.accept('x', '1-0')).toBe('not-joined');
  });
});

describe('RoomCursors.since', () => {
  it('is undefined before the first registration and for unknown rooms', () => {
    const cursors = new RoomCursors();
    cursors.add('r');
    expect(cursors.since('r')).toBeUndefined();
    expect(cursors.since('other')).toBeUndefined();
  });

  it('is the floor from the first registration until a message is seen, then the last id', () => {
    const cursors = new RoomCursors();
    cursors.add('r');
    cursors.registered('r', 10_000, 1_000);
    expect(cursors.since('r')).toBe('9000-0');
    cursors.registered('r', 50_000, 1_000); // later registrations keep the first floor
    expect(cursors.since('r')).toBe('9000-0');
    cursors.accept('r', '9500-3');
    expect(cursors.since('r')).toBe('9500-3');
  });

  it('takes the lastId of the first registration as the floor, in place of the clock', () => {
    const cursors = new RoomCursors();
    cursors.add('r');
    cursors.registered('r', 10_000, 1_000, '12000-4');
    expect(cursors.since('r')).toBe('12000-4');
    cursors.registered('r', 50_000, 1_000, '40000-0'); // later registrations keep the first floor
    expect(cursors.since('r')).toBe('12000-4');
    cursors.accept('r', '12000-5');
    expect(cursors.since('r')).toBe('12000-5');
  });

  it('does not set a floor once a message was seen, and clamps it at zero', () => {
    const cursors = new RoomCursors();
    cursors.add('r');
    cursors.accept('r', '7-0');
    cursors.registered('r', 10_000, 1_000);
    expect(cursors.since('r')).toBe('7-0');
    cursors.add('s');
    cursors.registered('s', 100, 1_000);
    expect(cursors.since('s')).toBe('0-0');
  });

  it('forgets a room on remove, so joining again starts afresh', () => {
    const cursors = new RoomCursors();
    cursors.add('r');
    cursors.accept('r', '7-0');
    cursors.add('r'); // adding again keeps the cursor
    expect(cursors.since('r')).toBe('7-0');
    cursors.remove('r');
    cursors.add('r');
    expect(cursors.since('r')).toBeUndefined();
    expect(cursors.rooms()).toEqual(['r']);
  });
});
