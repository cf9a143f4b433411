// Table tests of the host figures and the spawn-host rule: a host saturated by others gets no spawn, and says so with numbers.
import { describe, expect, it } from 'vitest';
import { chooseSpawnHost, hostFigures, parsePidStat, parseProcStat, type HostFigures, type HostSample } from './host-load.js';

describe('parseProcStat', () => {
  it('reads the aggregate line and counts the cores', () => {
    const text = 'cpu  100 10 50 800 40 0 5 0 7 0\ncpu0 50 5 25 400 20 0 2 0 0 0\ncpu1 50 5 25 400 20 0 3 0 0 0\nintr 1 2\n';
    // total = user+nice+system+idle+iowait+irq+softirq+steal; idle = idle+iowait; guest is inside user
    expect(parseProcStat(text)).toEqual({ cores: 2, cpu: { idle: 840, total: 1005 } });
  });

  it('refuses text without a cpu line', () => {
    expect(() => parseProcStat('intr 1\n')).toThrow(/cpu line/);
  });
});

describe('parsePidStat', () => {
  it.each([
    { name: 'a plain command', text: '42 (node) S 1 42 42 0 -1 4194304 100 0 0 0 250 30 0 0 20 0 11 0 1 2 3', ticks: 280 },
    { name: 'a command with spaces and parentheses', text: '42 (my (odd) proc) R 1 42 42 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 1 2 3', ticks: 10 },
  ])('sums utime and stime of $name', ({ text, ticks }) => {
    expect(parsePidStat(text)).toBe(ticks);
  });
});

describe('hostFigures', () => {
  const sample = (at: number, idle: number, total: number, processes: Array<[number, number]>): HostSample => ({
    at,
    cores: 2,
    cpu: { idle, total },
    processes: new Map(processes),
  });

  it('splits busy time into the fleet (processes in both samples) and others', () => {
    // 200 ticks over 2 cores in 1 s; 150 busy; pid 1 used 40, pid 2 used 20, pid 3 is new (not counted)
    const figures = hostFigures('h1', sample(0, 1000, 2000, [[1, 100], [2, 50]]), sample(1000, 1050, 2200, [[1, 140], [2, 70], [3, 500]]));
    expect(figures).toMatchObject({ hostId: 'h1', cores: 2, busyShare: 0.75, fleetShare: 0.3, windowMs: 1000 });
    expect(figures.othersShare).toBeCloseTo(0.45);
    expect(figures.processCores.get(1)).toBeCloseTo(0.4);
    expect(figures.processCores.has(3)).toBe(false);
  });

  it('says nothing is busy when no time passed', () => {
    expect(hostFigures('h1', sample(0, 10, 20, []), sample(0, 10, 20, []))).toMatchObject({ busyShare: 0, fleetShare: 0, othersShare: 0 });
  });
});

describe('chooseSpawnHost', () => {
  const host = (hostId: string, cores: number, busyShare: number, fleetShare: number, at = 10_000): HostFigures => ({
    hostId,
    cores,
    busyShare,
    fleetShare,
    othersShare: busyShare - fleetShare,
    processCores: new Map(),
    windowMs: 3000,
    at,
  });
  const config = { minSpareCores: 0.5, maxAgeMs: 5000 };

  it.each([
    {
      name: 'refuses a host saturated by other programs, with its numbers',
      hosts: [host('h1', 2, 0.95, 0.15)],
      expected: {
        ok: false,
        hostId: undefined,
        reason: 'no host with 0.5 spare cores (h1: 2 cores, 1.9 busy (1.6 others, 0.3 fleet), 0.1 spare, saturated by other programs): no spawn',
      },
    },
    {
      name: 'refuses a host whose cores the fleet itself fills',
      hosts: [host('h1', 2, 0.9, 0.85)],
      expected: {
        ok: false,
        hostId: undefined,
        reason: 'no host with 0.5 spare cores (h1: 2 cores, 1.8 busy (0.1 others, 1.7 fleet), 0.2 spare, saturated by the fleet): no spawn',
      },
    },
    {
      name: 'spawns on the host with the most spare cores',
      hosts: [host('h1', 2, 0.95, 0.15), host('h2', 8, 0.5, 0.25), host('h3', 4, 0.25, 0.25)],
      expected: { ok: true, hostId: 'h2', reason: 'on h2: 8 cores, 4.0 busy (2.0 others, 2.0 fleet), 4.0 spare' },
    },
    {
      name: 'breaks a tie by fewer fleet cores',
      hosts: [host('h1', 4, 0.5, 0.5), host('h2', 4, 0.5, 0.1)],
      expected: { ok: true, hostId: 'h2', reason: 'on h2: 4 cores, 2.0 busy (1.6 others, 0.4 fleet), 2.0 spare' },
    },
    {
      name: 'ignores figures older than maxAgeMs',
      hosts: [host('old', 16, 0, 0, 1000), host('h1', 2, 0.95, 0.15)],
      expected: expect.objectContaining({ ok: false }),
    },
    {
      name: 'allows a spawn without any figures',
      hosts: [],
      expected: { ok: true, hostId: undefined, reason: 'where the balancer runs (no host figures)' },
    },
  ])('$name', ({ hosts, expected }) => {
    expect(chooseSpawnHost(hosts, config, 10_000)).toEqual(expected);
  });
});
