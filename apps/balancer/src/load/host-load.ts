// The balancer's host in figures (cores, busy, busy with the fleet, busy with others) and the pure rule of where a spawn may go.
/** CPU time of the whole machine, in clock ticks summed over every core. */
export interface CpuTimes {
  /** Ticks doing nothing (idle + iowait). */
  idle: number;
  /** Every tick. */
  total: number;
}

/** One reading of the host: the machine's CPU times and the ticks of each process of the fleet. */
export interface HostSample {
  at: number;
  cores: number;
  cpu: CpuTimes;
  /** utime + stime ticks of each of the fleet's processes on this host (the balancer and its children), by pid. */
  processes: ReadonlyMap<number, number>;
}

/**
 * What one balancer reports about its host; with several balancers (one per
 * host) the spawn rule weighs them all. Shares are of the whole machine
 * (cores x time), so `busyShare * cores` is the cores in use.
 */
export interface HostFigures {
  hostId: string;
  cores: number;
  /** Share of all cores busy over the window. */
  busyShare: number;
  /** Share of all cores used by this fleet's processes on the host (balancer and chat servers). */
  fleetShare: number;
  /** busyShare - fleetShare: other programs (and the kernel on their behalf). */
  othersShare: number;
  /** Cores each fleet process used over the window, by pid (a chat server's own work, for hotness). */
  processCores: ReadonlyMap<number, number>;
  /** Length of the window the shares cover, ms. */
  windowMs: number;
  /** When the window ended (ms epoch). */
  at: number;
}

/**
 * Parses `/proc/stat`: the aggregate `cpu` line (user nice system idle iowait
 * irq softirq steal ...; guest times are already inside user and nice) and
 * the number of `cpuN` lines. Throws on text without a `cpu` line.
 */
export function parseProcStat(text: string): { cores: number; cpu: CpuTimes } {
  let cpu: CpuTimes | undefined;
  let cores = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('cpu ')) {
      const f = line.trim().split(/\s+/).slice(1).map(Number);
      // user nice system idle iowait irq softirq steal (guest and guest_nice are counted in user/nice)
      const total = f.slice(0, 8).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
      cpu = { idle: (f[3] ?? 0) + (f[4] ?? 0), total };
    } else if (/^cpu\d+ /.test(line)) {
      cores++;
    }
  }
  if (cpu === undefined) throw new Error('no aggregate cpu line in /proc/stat');
  return { cores: Math.max(1, cores), cpu };
}

/**
 * Parses `/proc/<pid>/stat` into the process's utime + stime ticks (fields 14
 * and 15). The command name (field 2) may hold spaces and parentheses, so the
 * fields are counted from its last ')'.
 */
export function parsePidStat(text: string): number {
  const close = text.lastIndexOf(')');
  if (close === -1) throw new Error('malformed /proc/<pid>/stat');
  const rest = text.slice(close + 2).trim().split(/\s+/);
  // rest[0] is field 3 (state); utime is field 14, stime field 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('malformed /proc/<pid>/stat');
  return utime + stime;
}

/**
 * The host's figures between two samples. Only processes present in both
 * count toward the fleet (a child that exited or was born in between has no
 * clean difference); shares are clamped to [0, 1] and the fleet's to the busy share.
 */
export function hostFigures(hostId: string, older: HostSample, newer: HostSample): HostFigures {
  const total = newer.cpu.total - older.cpu.total;
  const idle = newer.cpu.idle - older.cpu.idle;
  const windowMs = newer.at - older.at;
  const cores = newer.cores;
  const processCores = new Map<number, number>();
  if (total <= 0) {
    return { hostId, cores, busyShare: 0, fleetShare: 0, othersShare: 0, processCores, windowMs, at: newer.at };
  }
  const busyShare = clamp01((total - idle) / total);
  let fleetTicks = 0;
  for (const [pid, ticks] of newer.processes) {
    const before = older.processes.get(pid);
    if (before === undefined || ticks < before) continue;
    fleetTicks += ticks - before;
    processCores.set(pid, ((ticks - before) / total) * cores);
  }
  const fleetShare = Math.min(busyShare, clamp01(fleetTicks / total));
  return { hostId, cores, busyShare, fleetShare, othersShare: busyShare - fleetShare, processCores, windowMs, at: newer.at };
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

/** Cores not in use on a host. */
export function spareCores(host: HostFigures): number {
  return host.cores * (1 - host.busyShare);
}

/** One line with a host's numbers, e.g. "h1: 2 cores, 1.9 busy (1.6 others, 0.3 fleet), 0.1 spare". */
export function describeHost(host: HostFigures): string {
  const c = host.cores;
  return (
    `${host.hostId}: ${c} cores, ${(host.busyShare * c).toFixed(1)} busy ` +
    `(${(host.othersShare * c).toFixed(1)} others, ${(host.fleetShare * c).toFixed(1)} fleet), ${spareCores(host).toFixed(1)} spare`
  );
}

export interface SpawnHostConfig {
  /** A host needs at least this many idle cores to take one more chat server. */
  minSpareCores: number;
  /** Figures older than this are not trusted (a balancer that stopped reporting), ms. */
  maxAgeMs: number;
}

/** Where a spawn may go: a host, or nowhere with why. */
export type SpawnPlace =
  | { ok: true; hostId: string | undefined; reason: string }
  | { ok: false; hostId: undefined; reason: string };

/**
 * Picks the host for one more chat server: the one with the most spare cores,
 * provided it has at least `minSpareCores` (ties: fewer fleet cores, then the
 * smaller id). A host whose cores are taken (by other programs or the fleet
 * itself) gains no capacity from one more process, so with none fit the
 * answer is no, with every host's numbers. Without fresh figures (none
 * reported yet, or not Linux) the spawn is allowed: unknown is not busy.
 */
export function chooseSpawnHost(hosts: readonly HostFigures[], config: SpawnHostConfig, now: number): SpawnPlace {
  const fresh = hosts.filter((h) => now - h.at <= config.maxAgeMs && h.windowMs > 0);
  if (fresh.length === 0) return { ok: true, hostId: undefined, reason: 'where the balancer runs (no host figures)' };
  const fit = fresh
    .filter((h) => spareCores(h) >= config.minSpareCores)
    .sort((a, b) => spareCores(b) - spareCores(a) || a.fleetShare * a.cores - b.fleetShare * b.cores || (a.hostId < b.hostId ? -1 : 1));
  const best = fit[0];
  if (best !== undefined) return { ok: true, hostId: best.hostId, reason: `on ${describeHost(best)}` };
  const details = fresh.map((h) => {
    const by = h.othersShare >= h.fleetShare ? 'saturated by other programs' : 'saturated by the fleet';
    return `${describeHost(h)}, ${by}`;
  });
  return {
    ok: false,
    hostId: undefined,
    reason: `no host with ${config.minSpareCores} spare cores (${details.join('; ')}): no spawn`,
  };
}
