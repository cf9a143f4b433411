// The per-connection token bucket and the rule that closes a client that keeps flooding.

/** A token bucket's state; a connection carries these two fields itself to stay small. */
export interface Bucket {
  tokens: number;
  /** When `tokens` was last refilled, ms epoch. */
  refilledAt: number;
}

/**
 * Takes one token for a frame. The bucket refills at `rate` tokens a second
 * up to `burst`. Returns false when the frame must be refused.
 */
export function takeToken(bucket: Bucket, now: number, rate: number, burst: number): boolean {
  const elapsed = now - bucket.refilledAt;
  if (elapsed > 0) {
    bucket.tokens = Math.min(burst, bucket.tokens + (elapsed * rate) / 1000);
    bucket.refilledAt = now;
  }
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return true;
  }
  return false;
}

/** Refused frames counted over a window. */
export interface Strikes {
  refused: number;
  refusedSince: number;
}

/** How long refused frames are counted together. */
export const STRIKE_WINDOW_MS = 5000;

/**
 * Counts one refused frame; returns true when the client has gone past
 * `2 * rate` refusals within STRIKE_WINDOW_MS and should be closed with 1008.
 */
export function countStrike(strikes: Strikes, now: number, rate: number): boolean {
  if (now - strikes.refusedSince > STRIKE_WINDOW_MS) {
    strikes.refused = 0;
    strikes.refusedSince = now;
  }
  strikes.refused += 1;
  return strikes.refused > 2 * rate;
}
