import { describe, expect, it } from 'vitest';
import { TimerWheel } from './timer-wheel.js';

function wheel(spanMs = 1000) {
  let now = 0;
  const fired: Array<[number, number]> = [];
  const w = new TimerWheel({ tickMs: 10, spanMs, onDue: (item) => fired.push([item, now]), now: () => now });
  return {
    w,
    fired,
    at(ms: number) {
      now = ms;
      w.advance();
    },
  };
}

describe('TimerWheel', () => {
  it('fires each item once, no sooner than its delay and less than one tick after it', () => {
    const t = wheel();
    t.w.schedule(1, 25);
    t.w.schedule(2, 0);
    t.w.schedule(3, 100);
    for (let ms = 0; ms <= 200; ms += 10) t.at(ms);
    expect(t.fired).toEqual([
      [2, 10],
      [1, 30],
      [3, 100],
    ]);
    expect(t.w.size).toBe(0);
  });

  it('catches up every due slot when the loop was late', () => {
    const t = wheel();
    t.w.schedule(1, 20);
    t.w.schedule(2, 50);
    t.w.schedule(3, 500);
    t.at(120);
    expect(t.fired.map(([item]) => item)).toEqual([1, 2]);
    t.at(600);
    expect(t.fired.map(([item]) => item)).toEqual([1, 2, 3]);
  });

  it('fires items scheduled from a callback on a later turn, not the same one', () => {
    let now = 0;
    const fired: number[] = [];
    const w: TimerWheel = new TimerWheel({
      tickMs: 10,
      spanMs: 100,
      now: () => now,
      onDue: (item) => {
        fired.push(now);
        if (fired.length < 3) w.schedule(item, 0);
      },
    });
    w.schedule(7, 0);
    for (now = 0; now <= 100; now += 10) w.advance();
    expect(fired).toEqual([10, 20, 30]);
  });

  it('caps delays at its span', () => {
    const t = wheel(100);
    t.w.schedule(1, 10_000);
    for (let ms = 0; ms <= 200; ms += 10) t.at(ms);
    expect(t.fired).toHaveLength(1);
    expect(t.fired[0]?.[1]).toBeLessThanOrEqual(130);
  });

  it('forgets everything on stop', () => {
    const t = wheel();
    t.w.schedule(1, 10);
    t.w.stop();
    t.at(100);
    expect(t.fired).toEqual([]);
  });
});
