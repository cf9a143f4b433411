// Tests of the capped per-second histories and counter rates.
import { describe, expect, it } from 'vitest';
import { last, pushCapped, ratePerSecond } from './history.js';

describe('history helpers', () => {
  it('keeps only the newest values, oldest first', () => {
    const values: number[] = [];
    for (let i = 1; i <= 105; i++) pushCapped(values, i);
    expect(values).toHaveLength(100);
    expect(values[0]).toBe(6);
    expect(last(values)).toBe(105);
  });

  it.each([
    { previous: undefined, current: 500, elapsed: 1000, rate: 0 },
    { previous: 100, current: 600, elapsed: 1000, rate: 500 },
    { previous: 100, current: 600, elapsed: 2000, rate: 250 },
    { previous: 600, current: 100, elapsed: 1000, rate: 0 },
  ])('rate from $previous to $current over $elapsed ms is $rate/s', ({ previous, current, elapsed, rate }) => {
    expect(ratePerSecond(previous, current, elapsed)).toBe(rate);
  });
});
