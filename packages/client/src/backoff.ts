// Reconnect delays: jittered exponential backoff as a pure function of the attempt number.

/** How the delay between reconnect attempts grows. */
export interface BackoffOptions {
  /** Delay scale of the first retry, ms. */
  baseMs: number;
  /** Ceiling of the un-jittered delay, ms. */
  maxMs: number;
  /** Growth per failed attempt. */
  factor: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 15_000, factor: 2 };

/**
 * Delay before reconnect attempt `attempt` (0 = first retry after a drop).
 * "Equal jitter": half the exponential step is kept and the other half is
 * random, so a fleet of clients dropped at once spreads its retries without
 * any of them retrying immediately. `random` returns a number in [0, 1).
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const step = Math.min(options.maxMs, options.baseMs * options.factor ** Math.max(0, attempt));
  const half = step / 2;
  return Math.round(half + random() * half);
}
