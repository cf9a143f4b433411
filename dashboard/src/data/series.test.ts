import { describe, expect, it } from 'vitest';
import { last, maxSeries, meanOfLast, ratesFromCumulative, rightAlign, sumSeries, timeAxis } from './series.js';

describe('timeAxis', () => {
  it.each([
    { ts: 10_999, length: 3, want: [8, 9, 10] },
    { ts: 5_000, length: 1, want: [5] },
    { ts: 5_000, length: 0, want: [] },
  ])('ends at floor(ts/1000) one second apart: $ts x $length', ({ ts, length, want }) => {
    expect(timeAxis(ts, length)).toEqual(want);
  });
});

describe('rightAlign', () => {
  it.each([
    { values: [1, 2], length: 4, want: [null, null, 1, 2] },
    { values: [1, 2, 3, 4, 5], length: 3, want: [3, 4, 5] },
    { values: [], length: 2, want: [null, null] },
    { values: [7], length: 1, want: [7] },
  ])('puts the newest value last: $values in $length', ({ values, length, want }) => {
    expect(rightAlign(values, length)).toEqual(want);
  });
});

describe('sumSeries and maxSeries', () => {
  const a = [null, 1, 2, 3];
  const b = [null, null, 5, 1];
  it.each([
    { name: 'sum skips gaps, null where all are gaps', fn: sumSeries, want: [null, 1, 7, 4] },
    { name: 'max skips gaps, null where all are gaps', fn: maxSeries, want: [null, 1, 5, 3] },
  ])('$name', ({ fn, want }) => {
    expect(fn([a, b], 4)).toEqual(want);
  });

  it('gives an all-null series for no inputs', () => {
    expect(sumSeries([], 2)).toEqual([null, null]);
  });

  it('ignores non-finite values', () => {
    expect(sumSeries([[Number.NaN, 1]], 2)).toEqual([null, 1]);
  });
});

describe('meanOfLast and last', () => {
  it.each([
    { values: [1, 2, 3, 4], count: 3, want: 3 },
    { values: [4], count: 3, want: 4 },
    { values: [], count: 3, want: 0 },
    { values: [1, 2], count: 0, want: 0 },
  ])('meanOfLast($values, $count) = $want', ({ values, count, want }) => {
    expect(meanOfLast(values, count)).toBe(want);
  });

  it.each([
    { values: [1, 2, 9], want: 9 },
    { values: [], want: 0 },
  ])('last($values) = $want', ({ values, want }) => {
    expect(last(values)).toBe(want);
  });
});

describe('ratesFromCumulative', () => {
  it.each([
    { name: 'differences per second', values: [100, 150, 250], interval: 1, want: [null, 50, 100] },
    { name: 'divides by the sampling interval', values: [0, 20, 40], interval: 2, want: [null, 10, 10] },
    { name: 'a counter reset (process restart) is a gap, not a negative rate', values: [500, 20, 30], interval: 1, want: [null, null, 10] },
    { name: 'a flat counter is a zero rate', values: [5, 5], interval: 1, want: [null, 0] },
    { name: 'one sample has no rate', values: [5], interval: 1, want: [null] },
    { name: 'no samples, no rates', values: [], interval: 1, want: [] },
  ])('$name', ({ values, interval, want }) => {
    expect(ratesFromCumulative(values, interval)).toEqual(want);
  });
});
