// The leader lease decisions: whether to take, renew or leave the lease, and whether this balancer leads right now. Pure.

/** The lease as read from Redis: its holder and fencing token, or undefined when nobody holds it. */
export interface ObservedLease {
  holder: string;
  token: number;
}

/** This balancer's view of its own leadership. */
export interface LeaseState {
  /** The token of the lease this balancer holds (or last held); undefined before the first. */
  token: number | undefined;
  /** Until when (ms epoch, this process's clock) it may act as leader: the start of its last successful take or renewal plus the lease time. 0 when not leading. */
  validUntil: number;
  /** The newest fencing token seen anywhere (the lease, chat servers): commands carry it. */
  newestToken: number;
}

export type LeaseStep =
  /** Nobody holds the lease: try to take it (SET NX PX, a new token). */
  | { type: 'acquire' }
  /** This balancer holds it: extend it (only if the holder and token still match). */
  | { type: 'renew'; token: number }
  /** Another balancer leads. */
  | { type: 'follow'; leader: string };

/** What the Redis call of a step answered: a token taken, a renewal done or refused, or no answer (Redis unreachable). */
export type LeaseResult = { type: 'acquired'; token: number } | { type: 'renewed' } | { type: 'refused' } | { type: 'failed' };

export const initialLease: LeaseState = { token: undefined, validUntil: 0, newestToken: 0 };

/** Decides this turn's step from the lease just read. */
export function leaseStep(observed: ObservedLease | undefined, selfId: string, state: LeaseState): LeaseStep {
  if (observed === undefined) return { type: 'acquire' };
  if (observed.holder === selfId && observed.token === state.token) return { type: 'renew', token: observed.token };
  // Our id with another token cannot be ours (a lease is ours only with the token we drew): follow it out.
  return { type: 'follow', leader: observed.holder };
}

/**
 * The state after a step's Redis call. `startedAt` is when the call was
 * sent: the lease runs from some moment after it on Redis's clock, so counting
 * from before the call can only end our leadership early, never late.
 */
export function leaseOutcome(
  state: LeaseState,
  step: LeaseStep,
  result: LeaseResult,
  startedAt: number,
  leaseMs: number,
  observedToken = 0,
): LeaseState {
  const newestToken = Math.max(state.newestToken, observedToken, result.type === 'acquired' ? result.token : 0);
  if (step.type === 'follow') return { ...state, validUntil: 0, newestToken };
  switch (result.type) {
    case 'acquired':
      return { token: result.token, validUntil: startedAt + leaseMs, newestToken };
    case 'renewed':
      return { ...state, validUntil: startedAt + leaseMs, newestToken };
    case 'refused':
      return { ...state, validUntil: 0, newestToken };
    case 'failed':
      // No answer: the lease may still be ours until it runs out, but not a moment longer.
      return { ...state, newestToken };
  }
}

/** True while this balancer may act as leader. */
export function isLeading(state: LeaseState, now: number): boolean {
  return now < state.validUntil;
}
