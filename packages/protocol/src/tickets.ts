// Connection tickets: HMAC-SHA256-signed user id and expiry, minted by the balancer and checked by chat servers.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { isId } from './ids.js';

/** What a valid ticket says. */
export interface Ticket {
  userId: string;
  /** Expiry, ms epoch. */
  expiresAt: number;
}

export type TicketCheck = { ok: true; ticket: Ticket } | { ok: false; reason: 'missing' | 'malformed' | 'forged' | 'expired' };

/**
 * Mints a ticket: `base64url("<userId>|<expiresAt>").<base64url hmac>`. Ids
 * never contain `|`, so the expiry is split off the last one unambiguously.
 */
export function mintTicket(secret: string, userId: string, expiresAt: number): string {
  if (!isId(userId)) throw new TypeError(`invalid user id for a ticket: ${JSON.stringify(userId)}`);
  const body = Buffer.from(`${userId}|${Math.floor(expiresAt)}`).toString('base64url');
  return `${body}.${sign(secret, body)}`;
}

/** Checks a ticket's signature and expiry against `now` (ms epoch). */
export function verifyTicket(secret: string, token: string | null | undefined, now: number): TicketCheck {
  if (token === null || token === undefined || token === '') return { ok: false, reason: 'missing' };
  const dot = token.indexOf('.');
  if (dot <= 0 || dot !== token.lastIndexOf('.') || token.length > 512) return { ok: false, reason: 'malformed' };
  const body = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1), 'base64url');
  const expected = Buffer.from(sign(secret, body), 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'forged' };
  const decoded = Buffer.from(body, 'base64url').toString();
  const bar = decoded.lastIndexOf('|');
  const userId = decoded.slice(0, bar);
  const expiresAt = Number(decoded.slice(bar + 1));
  if (bar <= 0 || !isId(userId) || !Number.isFinite(expiresAt)) return { ok: false, reason: 'malformed' };
  if (expiresAt <= now) return { ok: false, reason: 'expired' };
  return { ok: true, ticket: { userId, expiresAt } };
}

/** The hex HMAC-SHA256 of a user id under USER_SECRET: the `sig` that lets a client claim that name. */
export function userSignature(userSecret: string, userId: string): string {
  return createHmac('sha256', userSecret).update(userId).digest('hex');
}

/** Checks a `sig` for `userId` in constant time. */
export function verifyUserSignature(userSecret: string, userId: string, sig: string | undefined): boolean {
  if (sig === undefined || !/^[0-9a-f]{64}$/.test(sig)) return false;
  const expected = Buffer.from(userSignature(userSecret, userId), 'hex');
  return timingSafeEqual(expected, Buffer.from(sig, 'hex'));
}

/** Adds `token` to a websocket base URL, replacing any token it had. */
export function withToken(baseUrl: string, token: string): string {
  const url = new URL(baseUrl);
  url.searchParams.set('token', token);
  return url.toString();
}

function sign(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body).digest('base64url');
}
