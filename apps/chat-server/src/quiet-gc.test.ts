import { describe, expect, it } from 'vitest';
import { getHeapSpaceStatistics } from 'node:v8';
import { collectAndShrink, QUIET_MS, QuietCollector } from './quiet-gc.js';

describe('QuietCollector', () => {
  it.each([
    { name: 'too few changes', churn: 3, notes: [0, 10], at: 10 + QUIET_MS, due: false },
    { name: 'enough changes, still busy', churn: 2, notes: [0, 10], at: 10 + QUIET_MS - 1, due: false },
    { name: 'enough changes, then quiet', churn: 2, notes: [0, 10], at: 10 + QUIET_MS, due: true },
    { name: 'off', churn: 0, notes: [0, 10, 20], at: 100_000, due: false },
  ])('$name', ({ churn, notes, at, due }) => {
    const c = new QuietCollector(churn);
    for (const t of notes) c.note(t);
    expect(c.due(at)).toBe(due);
  });

  it('is due once per wave', () => {
    const c = new QuietCollector(1);
    c.note(0);
    expect(c.due(QUIET_MS)).toBe(true);
    expect(c.due(QUIET_MS * 2)).toBe(false);
    c.note(QUIET_MS * 2);
    expect(c.due(QUIET_MS * 3)).toBe(true);
  });
});

describe('collectAndShrink', () => {
  const newSpace = (): number => getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0;

  it('collects and gives back the young generation a burst grew', async () => {
    // A burst whose objects survive a few scavenges grows the young generation.
    let burst: object[] = [];
    for (let round = 0; round < 40; round++) {
      burst = [];
      for (let i = 0; i < 100_000; i++) burst.push({ i, text: `message ${i}` });
    }
    const grown = newSpace();
    burst = [];
    await collectAndShrink();
    expect(burst).toHaveLength(0);
    expect(newSpace()).toBeLessThan(grown);
    expect(newSpace()).toBeLessThanOrEqual(2 * 1024 * 1024);
  });
});
