import { describe, expect, it } from 'vitest';
import { heartbeatStale, withinRecovery } from './liveness.js';

describe('heartbeatStale', () => {
  const timeout = 3000;
  it.each([
    // heartbeat, now, steadySince, stale?
    [undefined, 10_000, 0, false, 'a server that never wrote is still starting'],
    [9_000, 10_000, 0, false, 'a fresh heartbeat'],
    [6_000, 10_000, 0, true, 'no write for 4 s while Redis was fine: frozen'],
    [6_000, 10_000, 8_000, false, 'Redis came back 2 s ago: the old heartbeat is not held against it'],
    [1_000, 10_000, 6_500, true, 'Redis back for 3.5 s and still no write: frozen'],
    [9_500, 10_000, 9_800, false, 'a write just before the balancer read again'],
  ])('heartbeat %s at %s, steady since %s -> %s (%s)', (heartbeat, now, since, stale) => {
    expect(heartbeatStale(heartbeat, now, since, timeout)).toBe(stale);
  });
});

describe('withinRecovery', () => {
  it.each([
    [10_000, 8_000, true],
    [10_000, 7_000, true],
    [10_000, 6_999, false],
  ])('at %s with Redis steady since %s -> %s', (now, since, expected) => {
    expect(withinRecovery(now, since, 3000)).toBe(expected);
  });
});
