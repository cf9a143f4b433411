// Reconnect delays for the stats stream: exponential with jitter, capped, starting over after a success.

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** 0..1: the delay is drawn from [d * (1 - jitter), d]. */
  jitter: number;
}

export const STREAM_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 10_000, jitter: 0.2 };

/** Delay before reconnect attempt `attempt` (0 = first retry). `random` is injectable for tests. */
export function backoffDelay(attempt: number, options: BackoffOptions = STREAM_BACKOFF, random: () => number = Math.random): number {
  const base = Math.min(options.maxMs, options.initialMs * 2 ** Math.max(0, attempt));
  return Math.round(base * (1 - options.jitter * random()));
}
