import { describe, expect, it } from 'vitest';
import { drainTargets, spreadClients, type Peer } from './control.js';

const peer = (id: string, clients: number, extra: Partial<Peer> = {}): Peer => ({
  id,
  url: `ws://h/${id}/`,
  status: 'ready',
  heartbeat: 10_000,
  clients,
  ...extra,
});

describe('drainTargets', () => {
  it('keeps ready peers with a fresh heartbeat other than itself, least loaded first', () => {
    const peers = [
      peer('self', 0),
      peer('busy', 50),
      peer('idle', 5),
      peer('stale', 0, { heartbeat: 5000 }),
      peer('leaving', 0, { status: 'draining' }),
      peer('starting', 0, { status: 'starting' }),
      peer('nourl', 0, { url: '' }),
      peer('full', 20, { maxClients: 20 }),
    ];
    expect(drainTargets(peers, 'self', 11_000, 3000).map((p) => p.id)).toEqual(['idle', 'busy']);
  });
});

describe('spreadClients', () => {
  it.each([
    // [loads, clients, expected count per target]
    [[0, 0], 4, [2, 2]],
    [[10, 0], 4, [0, 4]],
    [[10, 0], 14, [2, 12]],
    [[3, 3, 3], 3, [1, 1, 1]],
  ])('loads %j with %d clients gives %j', (loads, count, expected) => {
    const targets = loads.map((clients, i) => peer(`s${i}`, clients));
    const urls = spreadClients(targets, count);
    expect(targets.map((t) => urls.filter((u) => u === t.url).length)).toEqual(expected);
  });

  it.each([
    // [loads, caps, clients, expected count per target, clients with no room]
    [[0, 0], [3, 0], 6, [3, 3], 0],
    [[10, 0], [12, 5], 10, [2, 5], 3],
    [[0, 0], [1, 1], 2, [1, 1], 0],
  ])('loads %j with caps %j and %d clients gives %j, %d left to provision again', (loads, caps, count, expected, none) => {
    const targets = loads.map((clients, i) => peer(`s${i}`, clients, { maxClients: caps[i] }));
    const urls = spreadClients(targets, count);
    expect(targets.map((t) => urls.filter((u) => u === t.url).length)).toEqual(expected);
    expect(urls.filter((u) => u === '')).toHaveLength(none);
  });

  it("gives '' to every client when there is no target", () => {
    expect(spreadClients([], 3)).toEqual(['', '', '']);
  });
});
