import { describe, expect, it } from 'vitest';
import { formatBytes, formatCompact, formatDuration, formatNumber } from './format.js';

describe('formatters', () => {
  it.each([
    { fn: formatBytes, v: 512, want: '512 B' },
    { fn: formatBytes, v: 1536, want: '1.50 KiB' },
    { fn: formatBytes, v: 75 * 1024 * 1024, want: '75.0 MiB' },
    { fn: formatBytes, v: -1, want: '–' },
    { fn: formatDuration, v: 45_000, want: '45s' },
    { fn: formatDuration, v: 723_000, want: '12m 03s' },
    { fn: formatDuration, v: 5 * 3600_000 + 120_000, want: '5h 02m' },
    { fn: formatDuration, v: 76 * 3600_000, want: '3d 04h' },
    { fn: formatNumber, v: 48213, want: '48,213' },
    { fn: formatNumber, v: 12.54, want: '12.5' },
    { fn: formatNumber, v: 0, want: '0' },
    { fn: formatCompact, v: 950, want: '950' },
    { fn: formatCompact, v: 1200, want: '1.2k' },
    { fn: formatCompact, v: 3_400_000, want: '3.4M' },
  ])('$fn.name($v) = $want', ({ fn, v, want }) => {
    expect(fn(v)).toBe(want);
  });
});
