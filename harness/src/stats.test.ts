import { describe, expect, it } from 'vitest';
import { Ledger, RateCounter, upperBound } from './stats.js';

// Users 0,1,2 in room 0; user 3 in room 1.
function ledger() {
  return new Ledger(Int32Array.from([0, 0, 0, 1]), 2);
}

describe('Ledger.tally', () => {
  it('expects every message sent after a user registered, the sender included', () => {
    const l = ledger();
    l.registered(0);
    l.registered(1);
    const a = l.send(0, 0);
    l.registered(2); // joins after a
    const b = l.send(1, 10);
    l.acked(a);
    l.acked(b);
    for (const [user, gm] of [[0, a], [1, a], [0, b], [1, b], [2, b]] as const) expect(l.received(user, gm, 20)).toBe(true);
    expect(l.tally()).toEqual({
      sent: 2,
      published: 2,
      unconfirmed: 0,
      delivered: 5,
      expected: 5,
      lost: 0,
      lostUnconfirmed: 0,
      lostInGaps: 0,
      gaps: 0,
      duplicated: 0,
      extra: 0,
      unregisteredUsers: 1, // user 3 never registered
      directsSent: 0,
      directsDelivered: 0,
      directsLost: 0,
      directsDuplicated: 0,
    });
  });

  it('counts what a user missed before it reported a gap apart from what it lost', () => {
    const l = ledger();
    l.registered(0);
    l.registered(1);
    const a = l.send(0, 0);
    const b = l.send(0, 0);
    l.gap(1); // history could not fill what user 1 missed so far
    const c = l.send(0, 0);
    const d = l.send(0, 0);
    for (const gm of [a, b, c, d]) l.acked(gm);
    for (const gm of [a, b, c, d]) l.received(0, gm, 1);
    l.received(1, a, 1);
    l.received(1, c, 1);
    // user 1 missed b (before its gap) and d (after it)
    expect(l.tally()).toMatchObject({ expected: 8, delivered: 6, lostInGaps: 1, lost: 1, gaps: 1 });
  });

  it('counts a message refused with unavailable that reached only some members as lost unconfirmed, not lost', () => {
    const l = ledger();
    l.registered(0);
    l.registered(1);
    const a = l.send(0, 0);
    l.received(0, a, 1); // written and delivered to the sender's room on one server ...
    l.unconfirmed(a); // ... but not confirmed by the replicas in time: never acked
    expect(l.tally()).toMatchObject({ published: 1, expected: 2, delivered: 1, lost: 0, lostUnconfirmed: 1 });
  });

  it('books direct messages: each must reach its recipient once', () => {
    const l = ledger();
    const x = l.sendDirect(0, 1, 0);
    const y = l.sendDirect(1, 3, 0);
    const z = l.sendDirect(2, 0, 0);
    l.directAcked(x);
    l.directAcked(y);
    l.directFailed(z);
    expect(l.directReceived(1, x, 2)).toBe(true);
    expect(l.directReceived(1, x, 3)).toBe(true);
    expect(l.directReceived(0, y, 3)).toBe(false); // not its recipient
    expect(l.directSenderOf(y)).toBe(1);
    expect(l.tally()).toMatchObject({ directsSent: 3, directsDelivered: 1, directsLost: 1, directsDuplicated: 1 });
  });

  it('counts a missing receipt as lost and an early one as extra', () => {
    const l = ledger();
    l.registered(0);
    const a = l.send(0, 0);
    l.registered(1);
    l.registered(2);
    const b = l.send(0, 0);
    l.acked(a);
    l.acked(b);
    l.received(0, a, 1);
    l.received(0, b, 1);
    l.received(1, a, 1); // sent before 1 registered: extra
    l.received(1, b, 1);
    // user 2 misses b
    const tally = l.tally();
    expect(tally.expected).toBe(4);
    expect(tally.delivered).toBe(3);
    expect(tally.lost).toBe(1);
    expect(tally.extra).toBe(1);
  });

  it('does not expect a message that was never confirmed, but a receipt confirms it', () => {
    const l = ledger();
    l.registered(0);
    l.registered(1);
    const a = l.send(0, 0);
    const b = l.send(0, 0);
    l.failed(a);
    l.failed(b);
    l.received(1, b, 5); // b got through after all: now everyone must have it
    const tally = l.tally();
    expect(tally.published).toBe(1);
    expect(tally.unconfirmed).toBe(1);
    expect(tally.expected).toBe(2);
    expect(tally.lost).toBe(1);
  });

  it('keeps rooms apart and refuses receipts of other rooms or unknown numbers', () => {
    const l = ledger();
    l.registered(0);
    l.registered(3);
    const a = l.send(0, 0);
    l.acked(a);
    expect(l.received(3, a, 1)).toBe(false);
    expect(l.received(0, 99, 1)).toBe(false);
    expect(l.received(0, Number.NaN, 1)).toBe(false);
    expect(l.tally()).toMatchObject({ expected: 1, lost: 1 });
  });

  it('sums duplicates and records latency in microseconds', () => {
    const l = ledger();
    l.registered(0);
    const a = l.send(0, 100);
    l.received(0, a, 102.5);
    l.duplicate(0);
    expect(l.tally().duplicated).toBe(1);
    expect(l.latency.maxValue).toBeGreaterThanOrEqual(2500);
    expect(l.latency.maxValue).toBeLessThan(2510);
    expect(l.senderOf(a)).toBe(0);
  });

  it('only the first registration counts', () => {
    const l = ledger();
    expect(l.registered(0)).toBe(true);
    const a = l.send(0, 0);
    expect(l.registered(0)).toBe(false);
    l.acked(a);
    expect(l.tally().expected).toBe(1);
  });

  it('grows past its initial capacity', () => {
    const l = ledger();
    l.registered(0);
    for (let i = 0; i < 5000; i++) {
      const gm = l.send(0, i);
      l.acked(gm);
      l.received(0, gm, i + 1);
    }
    expect(l.tally()).toMatchObject({ sent: 5000, delivered: 5000, expected: 5000, lost: 0 });
  });

  it('counts errors by code', () => {
    const l = ledger();
    l.error('rate_limited');
    l.error('rate_limited');
    l.error('send:send_timeout');
    expect(Object.fromEntries(l.errors)).toEqual({ rate_limited: 2, 'send:send_timeout': 1 });
  });
});

describe('upperBound', () => {
  it.each([
    [[], 5, 0],
    [[1, 3, 5], 0, 0],
    [[1, 3, 5], 3, 2],
    [[1, 3, 5], 4, 2],
    [[1, 3, 5], 9, 3],
  ])('%j above %i starts at %i', (sorted, value, index) => {
    expect(upperBound(sorted, value)).toBe(index);
  });
});

describe('RateCounter', () => {
  it('reports events per second since the previous reading', () => {
    const r = new RateCounter(0);
    r.add(50);
    expect(r.rate(500)).toBe(100);
    r.add(10);
    expect(r.rate(1500)).toBe(10);
    expect(r.total).toBe(60);
  });
});
