// Whether a server is hot, on evidence: sustained writes, or sustained lag with work to show for it; never lag alone at idle.
import { LOAD_WINDOW_SECONDS } from './selection.js';

/** What the judgement needs to know about one server. */
export interface HeatServer {
  id: string;
  /** Socket writes per second, one value a second, oldest first. */
  socketWrites: readonly number[];
  /** Event-loop lag in ms (each second's p99), oldest first. */
  eventLoopMs: readonly number[];
  /** Connected clients now. */
  clients: number;
  /** Cores the server's process used over the last seconds (from /proc/<pid>/stat), when known. */
  cpuCores?: number | undefined;
}

export interface HeatConfig {
  spawnWritesPerSec: number;
  eventLoopLagMs: number;
  /** Seconds in a row a figure must stay past its line to count (default LOAD_WINDOW_SECONDS). */
  sustainSeconds?: number;
  /** Lag counts only with at least this many clients (default LAG_MIN_CLIENTS). */
  lagMinClients?: number;
  /** ...and writes/s of at least this share of SPAWN_WRITES_PER_SEC (default LAG_MIN_WRITES_SHARE)... */
  lagMinWritesShare?: number;
  /** ...or the process itself using at least this many cores (default LAG_MIN_CPU_CORES). */
  lagMinCpuCores?: number;
}

/** A lagging server needs at least this many clients for its lag to be its own. */
export const LAG_MIN_CLIENTS = 1;
/** Share of SPAWN_WRITES_PER_SEC a lagging server must be writing for its lag to count as load. */
export const LAG_MIN_WRITES_SHARE = 0.1;
/** Cores a lagging server's own process must use for its lag to count as load (it is busy, not starved). */
export const LAG_MIN_CPU_CORES = 0.5;

export type HeatCause = 'writes' | 'lag';

/** The verdict, with the figures behind it. */
export interface Heat {
  hot: boolean;
  /** Why it is hot; undefined when it is not. */
  cause: HeatCause | undefined;
  /** Mean writes/s over the sustain window. */
  writesPerSec: number;
  /** Mean event-loop lag over the sustain window, ms. */
  lagMs: number;
  /** Seconds in a row (the newest ones) at or past SPAWN_WRITES_PER_SEC, and past EVENT_LOOP_LAG_MS. */
  writesStreak: number;
  lagStreak: number;
  /**
   * Sustained lag that was not counted because the server had no work to
   * show for it (an idle server on a busy host): worth an event, not a spawn.
   */
  idleLag: boolean;
  /** With numbers, e.g. "srv-a1 at 61,200 writes/s for 3 s"; '' when nothing is worth saying. */
  reason: string;
}

/** Formats a number the way reasons show it: whole, with thousands separators (61,200). */
export function fmt(n: number): string {
  // Not toLocaleString: reasons are built for every planned move, and ICU formatting is slow.
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** How many of the newest values in a row satisfy `past`. */
export function streak(values: readonly number[], past: (v: number) => boolean): number {
  let n = 0;
  for (let i = values.length - 1; i >= 0 && past(values[i] ?? 0); i--) n++;
  return n;
}

function meanOfLast(values: readonly number[], n: number): number {
  if (n <= 0 || values.length === 0) return 0;
  const from = Math.max(0, values.length - n);
  let sum = 0;
  for (let i = from; i < values.length; i++) sum += values[i] ?? 0;
  return sum / (values.length - from);
}

/**
 * Judges one server. Hot when, for `sustainSeconds` seconds in a row:
 * - its writes/s were at or past SPAWN_WRITES_PER_SEC; or
 * - its event-loop lag was past EVENT_LOOP_LAG_MS *and* it has work to show
 *   for it: at least `lagMinClients` clients and either writes/s of at least
 *   `lagMinWritesShare` of SPAWN_WRITES_PER_SEC or its own process using at
 *   least `lagMinCpuCores` cores. Lag without that is another program's load
 *   on the host (or a pause), and more servers would not help: `idleLag`.
 */
export function assessHeat(server: HeatServer, config: HeatConfig): Heat {
  const sustain = config.sustainSeconds ?? LOAD_WINDOW_SECONDS;
  const writesStreak = streak(server.socketWrites, (v) => v >= config.spawnWritesPerSec);
  const lagStreak = streak(server.eventLoopMs, (v) => v > config.eventLoopLagMs);
  const writesPerSec = meanOfLast(server.socketWrites, sustain);
  const lagMs = meanOfLast(server.eventLoopMs, sustain);
  const base = { writesPerSec, lagMs, writesStreak, lagStreak };
  if (writesStreak >= sustain) {
    const mean = meanOfLast(server.socketWrites, writesStreak);
    return { ...base, hot: true, cause: 'writes', idleLag: false, reason: `${server.id} at ${fmt(mean)} writes/s for ${writesStreak} s` };
  }
  if (lagStreak < sustain) return { ...base, hot: false, cause: undefined, idleLag: false, reason: '' };

  const lag = meanOfLast(server.eventLoopMs, lagStreak);
  const minClients = config.lagMinClients ?? LAG_MIN_CLIENTS;
  const minWrites = (config.lagMinWritesShare ?? LAG_MIN_WRITES_SHARE) * config.spawnWritesPerSec;
  const minCpu = config.lagMinCpuCores ?? LAG_MIN_CPU_CORES;
  const cpu = server.cpuCores;
  const busyItself = server.clients >= minClients && (writesPerSec >= minWrites || (cpu !== undefined && cpu >= minCpu));
  const cpuText = cpu === undefined ? '' : `, ${cpu.toFixed(2)} cores`;
  const figures = `${fmt(server.clients)} clients, ${fmt(writesPerSec)} writes/s${cpuText}`;
  if (busyItself) {
    return {
      ...base,
      hot: true,
      cause: 'lag',
      idleLag: false,
      reason: `${server.id} event loop lag ${lag.toFixed(1)} ms for ${lagStreak} s with ${figures}`,
    };
  }
  return {
    ...base,
    hot: false,
    cause: undefined,
    idleLag: true,
    reason:
      `${server.id} event loop lag ${lag.toFixed(1)} ms for ${lagStreak} s but little work of its own ` +
      `(${figures}; lag counts with ≥${fmt(minClients)} clients and ≥${fmt(minWrites)} writes/s or ≥${minCpu} cores): not hot`,
  };
}
