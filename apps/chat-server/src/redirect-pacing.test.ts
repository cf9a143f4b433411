// Table tests of redirect pacing: one slot per interval per target, jitter inside the slot, no catch-up bursts, drains within their deadline.
import { describe, expect, it } from 'vitest';
import { RedirectPacer, redirectInterval, takeSlot } from './redirect-pacing.js';

describe('takeSlot', () => {
  it.each([
    { name: 'an idle target starts now', nextAt: undefined, now: 1000, random: 0.5, slot: { at: 1005, nextAt: 1010 } },
    { name: 'a busy target continues after its last slot', nextAt: 1030, now: 1000, random: 0, slot: { at: 1030, nextAt: 1040 } },
    { name: 'a late timer does not bunch up the next ones', nextAt: 900, now: 1000, random: 0.99, slot: { at: 1009.9, nextAt: 1010 } },
  ])('$name', ({ nextAt, now, random, slot }) => {
    expect(takeSlot(nextAt, now, 10, random)).toEqual(slot);
  });
});

describe('redirectInterval', () => {
  it.each([
    { rate: 100, count: 200, within: undefined, interval: 10 },
    { rate: 100, count: 200, within: 5000, interval: 10 },
    { rate: 100, count: 2000, within: 5000, interval: 2.5 }, // a drain must finish in time
    { rate: 0.5, count: 1, within: undefined, interval: 2000 },
  ])('$count redirects at $rate/s within $within ms: one every $interval ms', ({ rate, count, within, interval }) => {
    expect(redirectInterval(rate, count, within)).toBe(interval);
  });
});

describe('RedirectPacer', () => {
  /** Runs the pacer on real timers and records when each item went. */
  async function run(setup: (pacer: RedirectPacer<string>) => void, until: (sent: Array<[string, string, number]>) => boolean) {
    const sent: Array<[string, string, number]> = [];
    const started = Date.now();
    const pacer = new RedirectPacer<string>((target, item) => {
      if (item.startsWith('gone')) return false;
      sent.push([target, item, Date.now() - started]);
      return true;
    });
    setup(pacer);
    const deadline = Date.now() + 5000;
    while (!until(sent) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    pacer.stop();
    return sent;
  }

  it('sends one item per interval to a target, in order, skipping items no longer wanted', async () => {
    const sent = await run(
      (pacer) => expect(pacer.enqueue('t1', ['a', 'gone-1', 'b', 'c', 'd'], 40)).toBe(200),
      (s) => s.length === 4,
    );
    expect(sent.map(([, item]) => item)).toEqual(['a', 'b', 'c', 'd']);
    // Four slots of 40 ms, one item in each: the last starts no earlier than 3 slots in.
    expect(sent[3]![2]).toBeGreaterThanOrEqual(80);
  });

  it('paces each target on its own', async () => {
    const sent = await run(
      (pacer) => {
        pacer.enqueue('t1', ['a1', 'a2'], 50);
        pacer.enqueue('t2', ['b1', 'b2'], 50);
      },
      (s) => s.length === 4,
    );
    expect(sent.filter(([t]) => t === 't1').map(([, i]) => i)).toEqual(['a1', 'a2']);
    expect(sent.filter(([t]) => t === 't2').map(([, i]) => i)).toEqual(['b1', 'b2']);
    // Both first items go within the first slot, side by side.
    expect(sent.slice(0, 2).map(([t]) => t).sort()).toEqual(['t1', 't2']);
  });

  it('flushes everything queued at once, and stop() drops the rest', () => {
    const sent: string[] = [];
    const pacer = new RedirectPacer<string>((_t, item) => {
      sent.push(item);
      return true;
    });
    pacer.enqueue('t1', ['a', 'b', 'c'], 1000);
    expect(pacer.pending).toBe(3);
    pacer.flush();
    expect(sent).toEqual(['a', 'b', 'c']);
    expect(pacer.pending).toBe(0);
    pacer.enqueue('t1', ['d'], 1000);
    pacer.stop();
    expect(pacer.pending).toBe(0);
  });
});
