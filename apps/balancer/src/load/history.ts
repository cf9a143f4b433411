// Fixed-length per-second histories (oldest first) as the balancer keeps and /stats returns them.
import { STATS_WINDOW_SECONDS } from '@chatfleet/protocol';

/** Appends `value`, dropping the oldest values beyond `limit`. */
export function pushCapped(values: number[], value: number, limit = STATS_WINDOW_SECONDS): void {
  values.push(value);
  if (values.length > limit) values.splice(0, values.length - limit);
}

/** Per-second rate of a cumulative counter; a counter that went backwards (a restart) counts as 0. */
export function ratePerSecond(previous: number | undefined, current: number, elapsedMs: number): number {
  if (previous === undefined || elapsedMs <= 0 || current < previous) return 0;
  return Math.round(((current - previous) * 1000) / elapsedMs);
}

/** The last value of a history, or 0 when empty. */
export function last(values: readonly number[]): number {
  return values.length === 0 ? 0 : (values[values.length - 1] ?? 0);
}
