import { describe, expect, it } from 'vitest';
import { acceptGuard, defaultMaxConnections, fileReserve, parseProcLimits, readFileLimit } from './file-limit.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            20000                20000                files
Max locked memory         8388608              8388608              bytes
`;

describe('parseProcLimits', () => {
  it.each([
    ['the usual table', LIMITS, { soft: 20000, hard: 20000 }],
    ['a soft limit under the hard one', LIMITS.replace('20000                20000', '1024                 524288'), { soft: 1024, hard: 524288 }],
    ['unlimited', LIMITS.replace('20000                20000', 'unlimited            unlimited'), { soft: 1_048_576, hard: 1_048_576 }],
    ['no open-files row', 'Limit   Soft Limit   Hard Limit\n', undefined],
    ['garbage in the row', LIMITS.replace('20000                20000', 'lots                 more'), undefined],
  ])('%s', (_name, text, expected) => {
    expect(parseProcLimits(text)).toEqual(expected);
  });
});

describe('the connection cap under the file limit', () => {
  it.each([
    // soft limit, reserve, default cap
    [20000, 500, 19500],
    [1024, 32, 992],
    [256, 32, 224],
    [65536, 1000, 64536],
    [1_048_576, 1000, 1_047_576],
    [10, 32, 1],
  ])('%i files: %i kept back, %i connections', (soft, reserve, cap) => {
    expect(fileReserve(soft)).toBe(reserve);
    expect(defaultMaxConnections(soft)).toBe(cap);
  });

  it.each([
    // soft, cap, guard
    [20000, 19500, 19750],
    [20000, 20, 19750],
    [20000, 19900, 19901],
    [1024, 992, 1008],
  ])('%i files with a cap of %i: accepts stop at %i sockets', (soft, cap, guard) => {
    expect(acceptGuard(soft, cap)).toBe(guard);
  });

  it('reads this process limit', () => {
    const limit = readFileLimit();
    expect(limit.soft).toBeGreaterThan(0);
    expect(limit.hard).toBeGreaterThanOrEqual(limit.soft);
  });
});
