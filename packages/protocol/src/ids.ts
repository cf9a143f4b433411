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

export const messageIdSchema = z
  .string()
  .regex(MESSAGE_ID_PATTERN, 'must be a message id like 1700000000000-0');

/**
 * Compares two room message ids; negative when `a` comes before `b`.
 * Works on the numbers, not the strings, so `9-0` sorts before `10-0`.
 */
export function compareMessageIds(a: string, b: string): number {
  const dashA = a.indexOf('-');
  const dashB = b.indexOf('-');
  const msA = BigInt(a.slice(0, dashA));
  const msB = BigInt(b.slice(0, dashB));
  if (msA !== msB) return msA < msB ? -1 : 1;
  const seqA = BigInt(a.slice(dashA + 1));
  const seqB = BigInt(b.slice(dashB + 1));
  if (seqA === seqB) return 0;
  return seqA < seqB ? -1 : 1;
}
