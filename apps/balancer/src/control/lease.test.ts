// Table tests of the leader lease decisions: take, renew, follow, and when leadership ends.
import { describe, expect, it } from 'vitest';
import { initialLease, isLeading, leaseOutcome, leaseStep, type LeaseState } from './lease.js';

const T = 5_000_000;
const LEASE = 3000;
const leading: LeaseState = { token: 7, validUntil: T + LEASE, newestToken: 7 };

describe('lease step', () => {
  it.each([
    ['a free lease is taken', undefined, initialLease, { type: 'acquire' }],
    ['a free lease is taken again by a leader whose lease ran out', undefined, leading, { type: 'acquire' }],
    ['our own lease is renewed', { holder: 'b-1', token: 7 }, leading, { type: 'renew', token: 7 }],
    ['another holder is followed', { holder: 'b-2', token: 8 }, leading, { type: 'follow', leader: 'b-2' }],
    ['our id with a token we did not draw is followed, never renewed', { holder: 'b-1', token: 9 }, leading, { type: 'follow', leader: 'b-1' }],
    ['a newcomer follows the leader', { holder: 'b-2', token: 3 }, initialLease, { type: 'follow', leader: 'b-2' }],
  ] as const)('%s', (_name, observed, state, step) => {
    expect(leaseStep(observed, 'b-1', state)).toEqual(step);
  });
});

describe('lease outcome', () => {
  it.each([
    ['a taken lease leads for the lease time from before the call', initialLease, { type: 'acquire' }, { type: 'acquired', token: 4 }, { token: 4, validUntil: T + LEASE, newestToken: 4 }],
    ['a lease taken by someone else in between leads nobody here', initialLease, { type: 'acquire' }, { type: 'refused' }, { validUntil: 0 }],
    ['a renewal extends', leading, { type: 'renew', token: 7 }, { type: 'renewed' }, { token: 7, validUntil: T + LEASE }],
    ['a refused renewal ends leadership at once', leading, { type: 'renew', token: 7 }, { type: 'refused' }, { validUntil: 0 }],
    ['no answer keeps the old deadline, not more', leading, { type: 'renew', token: 7 }, { type: 'failed' }, { validUntil: T + LEASE }],
    ['following ends leadership', leading, { type: 'follow', leader: 'b-2' }, { type: 'refused' }, { validUntil: 0 }],
  ] as const)('%s', (_name, state, step, result, expected) => {
    expect(leaseOutcome(state, step, result, T, LEASE)).toMatchObject(expected);
  });

  it('remembers the newest token seen, from the lease or the servers', () => {
    expect(leaseOutcome(initialLease, { type: 'follow', leader: 'b-2' }, { type: 'refused' }, T, LEASE, 12).newestToken).toBe(12);
    expect(leaseOutcome({ ...leading, newestToken: 20 }, { type: 'renew', token: 7 }, { type: 'renewed' }, T, LEASE, 3).newestToken).toBe(20);
  });
});

describe('leading', () => {
  it.each([
    [T + LEASE - 1, true],
    [T + LEASE, false],
    [T + LEASE + 1000, false],
  ])('at %i: %s', (now, expected) => {
    expect(isLeading({ token: 7, validUntil: T + LEASE, newestToken: 7 }, now)).toBe(expected);
  });

  it('a balancer that never took the lease does not lead', () => {
    expect(isLeading(initialLease, T)).toBe(false);
  });
});
