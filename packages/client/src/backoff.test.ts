import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_BACKOFF } from './backoff.js';

const options = { baseMs: 100, maxMs: 1000, factor: 2 };

describe('backoffDelay', () => {
  it.each([
    // attempt, random, expected
    [0, 0, 50],
    [0, 0.999999, 100],
    [1, 0, 100],
    [1, 0.5, 150],
    [2, 0, 200],
    [3, 0.5, 600],
    [4, 0, 500], // 1600 capped at 1000
    [10, 0.999999, 1000],
    [-1, 0, 50], // negative attempts behave as the first
  ])('attempt %i with random %f waits %i ms', (attempt, random, expected) => {
    expect(backoffDelay(attempt, options, () => random)).toBe(expected);
  });

  it('never waits less than half the step nor more than the ceiling', () => {
    for (let attempt = 0; attempt < 30; attempt++) {
      const step = Math.min(DEFAULT_BACKOFF.maxMs, DEFAULT_BACKOFF.baseMs * 2 ** attempt);
      for (let i = 0; i < 20; i++) {
        const delay = backoffDelay(attempt, DEFAULT_BACKOFF);
        expect(delay).toBeGreaterThanOrEqual(step / 2);
        expect(delay).toBeLessThanOrEqual(DEFAULT_BACKOFF.maxMs);
      }
    }
  });
});
