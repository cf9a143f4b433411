import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { AbuseCounters, LogThrottle } from './abuse.js';

describe('LogThrottle', () => {
  it('lets the first event of a key through and counts the rest of its window', () => {
    const throttle = new LogThrottle(5000);
    expect(throttle.note('a', 0)).toBe(1);
    expect(throttle.note('a', 100)).toBe(0);
    expect(throttle.note('a', 4999)).toBe(0);
    expect(throttle.note('b', 4999)).toBe(1);
    // The window is over: the line covers the two held back and this one.
    expect(throttle.note('a', 5000)).toBe(3);
  });

  it('hands out what a window held back once it is over, once, and forgets quiet keys', () => {
    const throttle = new LogThrottle(1000);
    throttle.note('a', 0);
    throttle.note('a', 10);
    throttle.note('a', 20);
    expect(throttle.due(500)).toEqual([]);
    expect(throttle.due(1000)).toEqual([['a', 2]]);
    expect(throttle.due(1500)).toEqual([]);
    expect(throttle.due(2500)).toEqual([]);
    // Forgotten: the next event is logged at once again.
    expect(throttle.note('a', 2600)).toBe(1);
  });
});

describe('AbuseCounters', () => {
  function logged(): { lines: Array<Record<string, unknown>>; counters: AbuseCounters } {
    const lines: Array<Record<string, unknown>> = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
        done();
      },
    });
    return { lines, counters: new AbuseCounters(pino({ level: 'warn' }, stream), 5000) };
  }

  it('counts only the abuse codes: refusals, server-started closes and refused upgrades', () => {
    const { counters } = logged();
    counters.refused('rate_limited', 0);
    counters.refused('rate_limited', 1);
    counters.refused('bad_frame', 2);
    counters.refused('not_registered', 3);
    counters.closed(1009, 4);
    counters.closed(1001, 5);
    counters.closed(4000, 6);
    counters.upgradeRefused('unauthorized', 7);
    expect(counters.counts.refused).toEqual({ rate_limited: 2, too_large: 0, bad_frame: 1 });
    expect(counters.counts.closed).toEqual({ '1002': 0, '1007': 0, '1008': 0, '1009': 1, '4000': 1 });
    expect(counters.counts.upgradesRefused.unauthorized).toBe(1);
  });

  it('logs a flood as one line per reason per window, with the count', async () => {
    const { lines, counters } = logged();
    for (let i = 0; i < 1000; i++) counters.refused('rate_limited', i);
    for (let i = 0; i < 10; i++) counters.upgradeRefused('unauthorized', 100 + i);
    counters.flush(4000);
    counters.flush(5000);
    counters.flush(6000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.map((l) => [l['reason'], l['count']])).toEqual([
      ['rate_limited', 1],
      ['unauthorized', 1],
      ['rate_limited', 999],
      ['unauthorized', 9],
    ]);
  });
});
