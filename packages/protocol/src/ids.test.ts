import { describe, expect, it } from 'vitest';
import { compareMessageIds, isId } from './ids.js';

describe('ids', () => {
  it.each([
    ['room-1', true],
    ['A.b_c:d-9', true],
    ['x'.repeat(64), true],
    ['x'.repeat(65), false],
    ['', false],
    ['has space', false],
    ['slash/no', false],
    ['ümlaut', false],
    [42, false],
  ])('isId(%j) is %s', (value, expected) => {
    expect(isId(value)).toBe(expected);
  });

  it.each([
    ['1-0', '2-0', -1],
    ['9-0', '10-0', -1],
    ['10-2', '10-10', -1],
    ['10-10', '10-10', 0],
    ['1700000000001-0', '1700000000000-99', 1],
    ['18446744073709551615-1', '18446744073709551615-0', 1],
    ['18446744073709551615-0', '18446744073709551614-99', 1],
    ['0009-0', '10-0', -1],
    ['10-007', '10-7', 0],
    ['0-0', '00-0', 0],
    ['1-10', '1-9', 1],
  ])('compareMessageIds(%s, %s) has sign %i', (a, b, sign) => {
    expect(Math.sign(compareMessageIds(a, b))).toBe(sign);
  });
});
