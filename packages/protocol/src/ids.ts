// The id rule shared by rooms, users and servers, and the ordering of room message ids.
import { z } from 'zod';

/** Ids of rooms, users and servers: what SPEC section 2 allows, nothing else. */
export const ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;

export const idSchema = z
  .string()
  .regex(ID_PATTERN, 'must match ^[A-Za-z0-9._:-]{1,64}$');

/** True when `value` is a valid room, user or server id. */
export function isId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

/**
 * Room message ids are Redis stream entry ids, `<ms>-<seq>`: unique within a
 * room and ordered by the time Redis appended them.
 */
export const MESSAGE_ID_PATTERN = /^\d{1,20}-\d{1,20}$/;

/** True when `value` is a message id (a Redis stream entry id). */
export function isMessageId(value: unknown): value is string {
  return typeof value === 'string' && MESSAGE_ID_PATTERN.test(value);
}

export const messageIdSchema = z
  .string()
  .regex(MESSAGE_ID_PATTERN, 'must be a message id like 1700000000000-0');

/**
 * Compares two room message ids; negative when `a` comes before `b`.
 * Works on the numbers, not the strings, so `9-0` sorts before `10-0`. Every
 * client compares each message it receives, so this stays on plain strings:
 * with leading zeros skipped, a longer run of digits is the larger number,
 * and runs of equal length compare like strings.
 */
export function compareMessageIds(a: string, b: string): number {
  const dashA = a.indexOf('-');
  const dashB = b.indexOf('-');
  return compareDigits(a, 0, dashA, b, 0, dashB) || compareDigits(a, dashA + 1, a.length, b, dashB + 1, b.length);
}

/** Compares the decimal numbers `a[aStart, aEnd)` and `b[bStart, bEnd)`; negative, 0 or positive. */
function compareDigits(a: string, aStart: number, aEnd: number, b: string, bStart: number, bEnd: number): number {
  while (aStart < aEnd - 1 && a.charCodeAt(aStart) === 48) aStart++;
  while (bStart < bEnd - 1 && b.charCodeAt(bStart) === 48) bStart++;
  const lengths = aEnd - aStart - (bEnd - bStart);
  if (lengths !== 0) return lengths;
  for (; aStart < aEnd; aStart++, bStart++) {
    const diff = a.charCodeAt(aStart) - b.charCodeAt(bStart);
    if (diff !== 0) return diff;
  }
  return 0;
}
