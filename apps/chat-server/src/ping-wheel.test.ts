import { describe, expect, it } from 'vitest';
import { MAX_TICKS_PER_ROUND, PingWheel, sliceSize, wheelTiming, type Pingable } from './ping-wheel.js';

/** A connection that records its pings and answers them when `answers` is set. */
class FakePeer implements Pingable {
  unanswered = 0;
  pings = 0;
  terminated = false;
  constructor(
    readonly name: string,
    public answers = true,
  ) {}
  ping(): void {
    this.pings += 1;
  }
  terminate(): void {
    this.terminated = true;
  }
  /** What the transport does when a pong comes back. */
  pong(): void {
    if (this.answers) this.unanswered = 0;
  }
}

function peers(n: number, prefix = 'c'): FakePeer[] {
  return Array.from({ length: n }, (_, i) => new FakePeer(`${prefix}${i}`));
}

describe('wheelTiming', () => {
  it.each([
    // interval, ticks, tick ms
    [30_000, MAX_TICKS_PER_ROUND, 300],
    [1000, MAX_TICKS_PER_ROUND, 10],
    [100, 10, 10],
    [25, 2, 12.5],
    [10, 1, 10],
  ])('cuts %i ms into %i ticks of %f ms', (interval, ticks, tickMs) => {
    expect(wheelTiming(interval)).toEqual({ ticks, tickMs });
  });
});

describe('sliceSize', () => {
  it.each([
    // connections left, ticks left, slice
    [0, 10, 0],
    [20_000, 100, 200],
    [20_001, 100, 201],
    [5, 10, 1],
    [7, 1, 7],
    [7, 0, 7],
  ])('%i connections over %i ticks: %i per tick', (size, ticks, slice) => {
    expect(sliceSize(size, ticks)).toBe(slice);
  });
});

describe('PingWheel', () => {
  it('pings every connection once per round, a slice per tick', () => {
    const all = peers(1000);
    const wheel = new PingWheel(new Set(all), 10);
    const visited: number[] = [];
    for (let t = 0; t < 10; t++) {
      visited.push(wheel.tick());
      for (const p of all) p.pong();
    }
    expect(visited).toEqual(new Array(10).fill(100));
    expect(all.every((p) => p.pings === 1)).toBe(true);
    for (let t = 0; t < 10; t++) wheel.tick();
    expect(all.every((p) => p.pings === 2)).toBe(true);
  });

  it('terminates a connection that did not answer, at its turn in the next round', () => {
    const all = peers(10);
    const deaf = all[3]!;
    deaf.answers = false;
    const wheel = new PingWheel(new Set(all), 5);
    for (let t = 0; t < 5; t++) {
      wheel.tick();
      for (const p of all) p.pong();
    }
    expect(deaf.terminated).toBe(false);
    wheel.tick(); // c0, c1
    expect(deaf.terminated).toBe(false);
    wheel.tick(); // c2, c3
    expect(deaf.terminated).toBe(true);
    expect(all.filter((p) => p.terminated)).toEqual([deaf]);
  });

  it('visits connections that join during a round from the next round on', () => {
    const set = new Set(peers(4));
    const wheel = new PingWheel(set, 4);
    wheel.tick();
    const late = new FakePeer('late');
    set.add(late);
    for (let t = 0; t < 3; t++) wheel.tick();
    expect(late.pings).toBe(0);
    for (let t = 0; t < 4; t++) wheel.tick();
    expect(late.pings).toBe(1);
  });

  it('skips connections that left, and keeps no hold on them once their turn has passed', () => {
    const all = peers(10);
    const set = new Set(all);
    const wheel = new PingWheel(set, 5);
    wheel.tick(); // c0, c1
    for (const p of all.slice(2, 9)) set.delete(p);
    expect([wheel.tick(), wheel.tick(), wheel.tick(), wheel.tick()]).toEqual([0, 0, 0, 1]); // c9 in its own slot
    expect(all.slice(2, 9).every((p) => p.pings === 0)).toBe(true);
    expect(all[9]!.pings).toBe(1);
  });

  it('does not cut a connection that moved up in the order before its ping is half a round old', () => {
    const all = peers(10);
    const set = new Set(all);
    const last = all[9]!;
    last.answers = false; // slow: its pong has not come back yet
    const wheel = new PingWheel(set, 10);
    for (let t = 0; t < 10; t++) wheel.tick(); // last pinged at tick 10
    for (const p of all.slice(0, 9)) set.delete(p);
    wheel.tick(); // tick 11: last is first now, its ping one tick old
    expect(last.terminated).toBe(false);
    for (let t = 0; t < 9; t++) wheel.tick();
    wheel.tick(); // tick 21: a round later, still unanswered
    expect(last.terminated).toBe(true);
  });

  it('with an empty set, ticks do nothing', () => {
    const wheel = new PingWheel(new Set<FakePeer>(), 3);
    expect([wheel.tick(), wheel.tick(), wheel.tick(), wheel.tick()]).toEqual([0, 0, 0, 0]);
  });
});
