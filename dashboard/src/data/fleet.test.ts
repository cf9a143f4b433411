import { describe, expect, it } from 'vitest';
import { abuseSummary, fleetTotals, medianOfLast, serverRows } from './fleet.js';
import { server, snapshot } from './test-snapshot.js';

const rooms = (clients: number) => ({ clients: [clients], messages: [0], socketWrites: [0] });

describe('abuseSummary', () => {
  it('lists what a server refused and closed, largest first, leaving out zeros', () => {
    const abuse = {
      refused: { rate_limited: 1200, too_large: 0, bad_frame: 3 },
      closed: { '1002': 0, '1007': 0, '1008': 40, '1009': 0, '4000': 0 },
      upgradesRefused: { unauthorized: 12, timeout: 0 },
      perSecond: 300,
    };
    expect(abuseSummary(abuse)).toBe('rate_limited 1,200 · closed 1008 (flood) 40 · upgrade unauthorized 12 · bad_frame 3');
  });

  it('is empty for a quiet server and for a balancer that sends no abuse figures', () => {
    expect(abuseSummary(undefined)).toBe('');
    expect(abuseSummary({ refused: { rate_limited: 0 }, closed: {}, upgradesRefused: {}, perSecond: 0 })).toBe('');
  });

  it('reaches the row: the rate shows a flood', () => {
    const row = serverRows(
      snapshot({ servers: [server('srv-a', { abuse: { refused: { rate_limited: 50 }, closed: {}, upgradesRefused: {}, perSecond: 25 } })] }),
    )[0]!;
    expect(row.abusePerSecond).toBe(25);
    expect(row.abuseSummary).toBe('rate_limited 50');
  });
});

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

describe('fleet totals across moves', () => {
  const history = (clients: number[]) => ({ clients, socketWrites: clients.map((c) => c * 10), eventLoopMs: [], fanouts: [], rssBytes: [] });

  it('does not spike while clients are counted on two servers during a move', () => {
    // 50 clients move from srv-a to srv-b; for one second both count them.
    const totals = fleetTotals(
      snapshot({
        servers: [
          server('srv-a', { clients: 0, history: history([50, 50, 50, 50, 0]) }),
          server('srv-b', { clients: 50, history: history([0, 0, 0, 50, 50]) }),
        ],
      }),
    );
    expect(totals.clients).toBe(50);
    expect(totals.writesPerSec).toBe(500);
  });

  it('does not drop while the clients of a server that went reconnect elsewhere', () => {
    const totals = fleetTotals(
      snapshot({
        servers: [
          server('srv-a', { status: 'gone', clients: 0, history: history([30, 30, 30, 0, 0]) }),
          server('srv-b', { clients: 30, history: history([10, 10, 10, 10, 40]) }),
        ],
      }),
    );
    expect(totals.clients).toBe(40);
  });

  it('follows a real change within a few seconds', () => {
    const totals = fleetTotals(snapshot({ servers: [server('srv-a', { clients: 80, history: history([10, 10, 80, 80, 80]) })] }));
    expect(totals.clients).toBe(80);
  });

  it.each([
    [[1, 2, 3, 4, 5, 6, 7], 5, 5],
    [[9, 1, null, 3], 5, 3],
    [[null, null], 5, 42],
    [[4, 2], 5, 3],
  ])('medianOfLast(%j, %i) = %i', (series, count, want) => {
    expect(medianOfLast(series, count, 42)).toBe(want);
  });
});
