// Table tests of where the leader spawns, and of the spawn requests it waits for.
import { describe, expect, it } from 'vitest';
import { chooseSpawnSite, SpawnRequests, type SpawnSite } from './spawn-host.js';

const site = (id: string, host: string, servers: number, spawns = 0): SpawnSite => ({ id, host, servers, spawns });

describe('chooseSpawnSite', () => {
  it.each([
    ['alone: its own host', [site('a', 'h1', 3)], 'a'],
    ['the host with fewer servers', [site('a', 'h1', 2), site('b', 'h2', 1)], 'b'],
    ['a tie goes to the leader', [site('b', 'h2', 1), site('a', 'h1', 1)], 'a'],
    ['a tie between other hosts goes to the smaller name', [site('a', 'h9', 3), site('c', 'h3', 1), site('b', 'h2', 1)], 'b'],
    ['servers of every balancer of a host count together', [site('a', 'h1', 1), site('x', 'h1', 1), site('b', 'h2', 1)], 'b'],
    ['on the chosen host, the balancer with fewer servers', [site('a', 'h1', 4), site('b', 'h2', 2), site('c', 'h2', 0)], 'c'],
  ])('%s', (_name, sites, expected) => {
    expect(chooseSpawnSite(sites, 'a')?.id).toBe(expected);
  });

  it('no balancer, no site', () => {
    expect(chooseSpawnSite([], 'a')).toBeUndefined();
  });
});

describe('SpawnRequests', () => {
  it('counts a request until the asked balancer spawned, or it expires', () => {
    const requests = new SpawnRequests();
    requests.add(site('b', 'h2', 1, 5), 10_000);
    expect(requests.pending([site('b', 'h2', 1, 5)], 1000)).toBe(1);
    expect(requests.pending([site('b', 'h2', 2, 6)], 2000)).toBe(0);
    requests.add(site('b', 'h2', 2, 6), 10_000);
    expect(requests.pending([site('b', 'h2', 2, 6)], 10_000)).toBe(0);
  });

  it('drops a request to a balancer that is gone', () => {
    const requests = new SpawnRequests();
    requests.add(site('b', 'h2', 1, 5), 10_000);
    expect(requests.pending([], 1000)).toBe(0);
  });
});
