import { describe, expect, it } from 'vitest';
import { roomRows, selectRooms, type RoomQuery, type RoomRow } from './rooms.js';
import { server, snapshot } from './test-snapshot.js';

describe('roomRows', () => {
  it('takes the newest clients, 3 s means of rates, and counts live hosting servers', () => {
    const rows = roomRows(
      snapshot({
        servers: [server('srv-a', { rooms: ['r1', 'r2'] }), server('srv-b', { rooms: ['r1'] }), server('srv-c', { status: 'gone', rooms: ['r1', 'r2'] })],
        rooms: {
          r1: { clients: [1, 4, 6], messages: [9, 1, 2, 3], socketWrites: [0, 10, 20, 30] },
          r2: { clients: [], messages: [], socketWrites: [] },
        },
      }),
    );
    expect(rows).toEqual([
      { id: 'r1', clients: 6, messagesPerSec: 2, writesPerSec: 20, servers: 2 },
      { id: 'r2', clients: 0, messagesPerSec: 0, writesPerSec: 0, servers: 1 },
    ]);
  });
});

describe('selectRooms', () => {
  const rows: RoomRow[] = [
    { id: 'chat-room-10', clients: 5, messagesPerSec: 1, writesPerSec: 5, servers: 1 },
    { id: 'chat-room-2', clients: 50, messagesPerSec: 3, writesPerSec: 150, servers: 2 },
    { id: 'lobby', clients: 5, messagesPerSec: 0, writesPerSec: 0, servers: 1 },
    { id: 'chat-room-1', clients: 20, messagesPerSec: 2, writesPerSec: 40, servers: 1 },
  ];
  const base: RoomQuery = { filter: '', sortKey: 'clients', direction: 'desc', limit: Infinity };

  it.each([
    { name: 'clients descending, ties by id', query: base, want: ['chat-room-2', 'chat-room-1', 'chat-room-10', 'lobby'] },
    { name: 'ids in natural order', query: { ...base, sortKey: 'id' as const, direction: 'asc' as const }, want: ['chat-room-1', 'chat-room-2', 'chat-room-10', 'lobby'] },
    { name: 'writes ascending', query: { ...base, sortKey: 'writesPerSec' as const, direction: 'asc' as const }, want: ['lobby', 'chat-room-10', 'chat-room-1', 'chat-room-2'] },
    { name: 'case-insensitive filter', query: { ...base, filter: ' CHAT-room-1' }, want: ['chat-room-1', 'chat-room-10'] },
    { name: 'top N after sorting', query: { ...base, limit: 2 }, want: ['chat-room-2', 'chat-room-1'] },
    { name: 'no match', query: { ...base, filter: 'nope' }, want: [] },
  ])('$name', ({ query, want }) => {
    expect(selectRooms(rows, query).rows.map((r) => r.id)).toEqual(want);
  });

  it('reports how many matched before the limit and how many there are', () => {
    const sel = selectRooms(rows, { ...base, filter: 'chat', limit: 1 });
    expect([sel.rows.length, sel.matched, sel.total]).toEqual([1, 3, 4]);
  });

  it('hides rooms with no client unless asked, and says how many it hid', () => {
    const withEmpty = [...rows, { id: 'gone-quiet', clients: 0, messagesPerSec: 0.3, writesPerSec: 2, servers: 0 }];
    const hidden = selectRooms(withEmpty, base);
    expect(hidden.rows.map((r) => r.id)).not.toContain('gone-quiet');
    expect([hidden.hiddenEmpty, hidden.total]).toEqual([1, 4]);
    const shown = selectRooms(withEmpty, { ...base, includeEmpty: true });
    expect(shown.rows.map((r) => r.id)).toContain('gone-quiet');
    expect([shown.hiddenEmpty, shown.total]).toEqual([0, 5]);
  });

  it('does not reorder its input', () => {
    const copy = rows.map((r) => r.id);
    selectRooms(rows, base);
    expect(rows.map((r) => r.id)).toEqual(copy);
  });

  it('cuts 1000 rooms to the limit', () => {
    const many = Array.from({ length: 1000 }, (_, i) => ({ id: `chat-room-${i}`, clients: i % 37, messagesPerSec: 0, writesPerSec: 0, servers: 1 }));
    const sel = selectRooms(many, { ...base, limit: 25 });
    expect(sel.rows).toHaveLength(25);
    expect(sel.rows[0]?.clients).toBe(36);
  });
});
