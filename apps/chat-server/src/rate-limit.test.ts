import { describe, expect, it } from 'vitest';
import { countStrike, STRIKE_WINDOW_MS, takeToken } from './rate-limit.js';

describe('takeToken', () => {
  it.each([
    // [tokens before, ms since refill, rate/s, burst, allowed, tokens after]
    [40, 0, 20, 40, true, 39],
    [0, 0, 20, 40, false, 0],
    [0, 49, 20, 40, false, 0.98],
    [0, 50, 20, 40, true, 0],
    [0, 1000, 20, 40, true, 19],
    [10, 60_000, 20, 40, true, 39],
    [0.5, 25, 20, 40, true, 0],
  ])('with %d tokens after %d ms at %d/s (burst %d) allows=%s leaving %d', (tokens, elapsed, rate, burst, allowed, after) => {
    const bucket = { tokens, refilledAt: 1000 };
    expect(takeToken(bucket, 1000 + elapsed, rate, burst)).toBe(allowed);
    expect(bucket.tokens).toBeCloseTo(after, 6);
  });

  it('lets a burst of twice the rate through, then about rate per second', () => {
    const bucket = { tokens: 40, refilledAt: 0 };
    let allowed = 0;
    for (let ms = 0; ms < 1000; ms += 5) if (takeToken(bucket, ms, 20, 40)) allowed++;
    expect(allowed).toBeGreaterThanOrEqual(59);
    expect(allowed).toBeLessThanOrEqual(60);
  });
});

describe('countStrike', () => {
  it('asks for a close once refusals pass twice the rate within the window', () => {
    const strikes = { refused: 0, refusedSince: 0 };
    const results = Array.from({ length: 11 }, () => countStrike(strikes, 100, 5));
    expect(results.slice(0, 10).every((close) => !close)).toBe(true);
    expect(results[10]).toBe(true);
  });

  it('forgets refusals older than the window', () => {
    const strikes = { refused: 0, refusedSince: 0 };
    for (let i = 0; i < 10; i++) countStrike(strikes, 100, 5);
    expect(countStrike(strikes, 100 + STRIKE_WINDOW_MS + 1, 5)).toBe(false);
    expect(strikes.refused).toBe(1);
  });
});
