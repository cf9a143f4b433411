import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

const options = { initialMs: 500, maxMs: 10_000, jitter: 0.2 };

describe('backoffDelay', () => {
  it.each([
    { attempt: 0, random: 0, want: 500 },
    { attempt: 1, random: 0, want: 1000 },
    { attempt: 3, random: 0, want: 4000 },
    { attempt: 10, random: 0, want: 10_000 },
    { attempt: 1, random: 1, want: 800 },
    { attempt: -1, random: 0, want: 500 },
  ])('attempt $attempt with random $random -> $want ms', ({ attempt, random, want }) => {
    expect(backoffDelay(attempt, options, () => random)).toBe(want);
  });
});
