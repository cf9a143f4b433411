// The balancers panel: leader first, then by host; heartbeat ages in whole seconds.
import { describe, expect, it } from 'vitest';
import { balancerRows } from './balancers.js';

describe('balancerRows', () => {
  it('puts the leader first, then sorts by host, with the age of each heartbeat', () => {
    const rows = balancerRows({
      ts: 10_000,
      balancers: [
        { id: 'b-2', url: 'http://h2:3000', host: 'h2', leader: false, startedAt: 0, heartbeat: 9_600 },
        { id: 'b-3', url: 'http://h3:3000', host: 'h3', leader: true, startedAt: 0, heartbeat: 10_000 },
        { id: 'b-1', url: 'http://h1:3000', host: 'h1', leader: false, startedAt: 0, heartbeat: 7_000 },
      ],
    });
    expect(rows.map((r) => [r.id, r.leader, r.heardSecondsAgo])).toEqual([
      ['b-3', true, 0],
      ['b-1', false, 3],
      ['b-2', false, 0],
    ]);
  });

  it('has no rows for a snapshot without balancers', () => {
    expect(balancerRows({ ts: 1 })).toEqual([]);
  });
});
