// Pure helpers over per-second value arrays (oldest first): alignment, sums, maxima, means, rates from counters.

/** A chart column: a number per second, or null where there is no value (a gap). */
export type Series = (number | null)[];

/**
 * Unix seconds for `length` per-second samples whose newest one was taken at `tsMs`:
 * the last entry is `floor(tsMs / 1000)`, each earlier one a second before.
 */
export function timeAxis(tsMs: number, length: number): number[] {
  const newest = Math.floor(tsMs / 1000);
  const axis = new Array<number>(length);
  for (let i = 0; i < length; i++) axis[i] = newest - (length - 1 - i);
  return axis;
}

/**
 * Places `values` at the end of a series of `length` (histories of different ages all end "now"),
 * padding the start with nulls, or keeping only the newest `length` values when there are more.
 */
export function rightAlign(values: readonly number[], length: number): Series {
  const out: Series = new Array<number | null>(length).fill(null);
  const take = Math.min(values.length, length);
  for (let i = 0; i < take; i++) out[length - take + i] = values[values.length - take + i] ?? null;
  return out;
}

/** Element-wise sum of aligned series; null where every input is null. */
export function sumSeries(series: readonly Series[], length: number): Series {
  return combine(series, length, (a, b) => a + b);
}

/** Element-wise maximum of aligned series; null where every input is null. */
export function maxSeries(series: readonly Series[], length: number): Series {
  return combine(series, length, Math.max);
}

function combine(series: readonly Series[], length: number, op: (a: number, b: number) => number): Series {
  const out: Series = new Array<number | null>(length).fill(null);
  for (const s of series) {
    for (let i = 0; i < length; i++) {
      const v = s[i];
      if (v === null || v === undefined || !Number.isFinite(v)) continue;
      const acc = out[i];
      out[i] = acc === null || acc === undefined ? v : op(acc, v);
    }
  }
  return out;
}

/** Mean of the newest `count` values (fewer when the array is shorter); 0 for an empty array. */
export function meanOfLast(values: readonly number[], count: number): number {
  const take = Math.min(values.length, Math.max(0, count));
  if (take === 0) return 0;
  let sum = 0;
  for (let i = values.length - take; i < values.length; i++) sum += values[i] ?? 0;
  return sum / take;
}

/** The newest value, or 0 when there is none. */
export function last(values: readonly number[]): number {
  return values.length === 0 ? 0 : (values[values.length - 1] ?? 0);
}

/**
 * Per-second rates from samples of a cumulative counter taken `intervalSec` apart. The first
 * entry has no predecessor and is null; a drop (the counter restarted with its process) is a
 * null too rather than a negative rate.
 */
export function ratesFromCumulative(values: readonly number[], intervalSec = 1): Series {
  const out: Series = new Array<number | null>(values.length).fill(null);
  for (let i = 1; i < values.length; i++) {
    const prev = values[i - 1];
    const cur = values[i];
    if (prev === undefined || cur === undefined || cur < prev || intervalSec <= 0) continue;
    out[i] = (cur - prev) / intervalSec;
  }
  return out;
}
