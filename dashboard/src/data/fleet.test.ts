import { describe, expect, it } from 'vitest';
import { fleetTotals, serverRows } from './fleet.js';
import { server, snapshot } from './test-snapshot.js';

const rooms = (clients: number) => ({ clients: [clients], messages: [0], socketWrites: [0] });

describe('serverRows', () => {
  it('orders ready, starting, draining, gone, then by id', () => {
    const rows = serverRows(
      snapshot({
        servers: [
          server('srv-d', { status: 'gone' }),
          server('srv-c', { status: 'draining' }),
          server('srv-b', { status: 'ready' }),
          server('srv-e', { status: 'starting' }),
          server('srv-a', { status: 'ready' }),
        ],
      }),
    );
    expect(rows.map((r) => `${r.id}:${r.status}`)).toEqual(['srv-a:ready', 'srv-b:ready', 'srv-e:starting', 'srv-c:draining', 'srv-d:gone']);
  });

  it.each([
    { startedAt: 1_000, ts: 61_000, want: 60_000 },
    { startedAt: 70_000, ts: 61_000, want: 0 },
  ])('measures uptime against the snapshot clock: started $startedAt at $ts -> $want ms', ({ startedAt, ts, want }) => {
    expect(serverRows(snapshot({ ts, servers: [server('srv-a', { startedAt })] }))[0]?.uptimeMs).toBe(want);
  });
});

describe('fleetTotals', () => {
  it('sums the live servers and ignores gone ones', () => {
    const totals = fleetTotals(
      snapshot({
        servers: [
          server('srv-a', { clients: 10, writesPerSec: 100, rssBytes: 1000, eventLoopMs: 3 }),
          server('srv-b', { status: 'draining', clients: 5, writesPerSec: 50, rssBytes: 500, eventLoopMs: 12 }),
          server('srv-c', { status: 'gone', clients: 99, writesPerSec: 999, rssBytes: 9999, eventLoopMs: 99 }),
        ],
        rooms: { r1: rooms(3), r2: rooms(0), r3: rooms(12) },
      }),
    );
    expect(totals).toEqual({
      servers: 2,
      byStatus: { ready: 1, starting: 0, draining: 1, gone: 1 },
      clients: 15,
      writesPerSec: 150,
      rssBytes: 1500,
      maxEventLoopMs: 12,
      activeRooms: 2,
    });
  });
});
