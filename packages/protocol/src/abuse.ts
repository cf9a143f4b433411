// Abuse figures: what a chat server refused or closed, by reason, as it writes them into its hash `server:{id}` and the balancer reads them.
import { CloseCode, ErrorCode } from './codes.js';

/** `error` codes counted as refused input (SPEC section 3): a flood, an oversized text, a malformed frame. */
export const ABUSE_REFUSALS = [ErrorCode.rateLimited, ErrorCode.tooLarge, ErrorCode.badFrame] as const;
export type AbuseRefusal = (typeof ABUSE_REFUSALS)[number];

/**
 * Close codes counted as abuse when the server starts the close: 1002 and
 * 1007 (protocol violations), 1008 (a flood past the rate limit, or a message
 * in more than MAX_FRAGMENTS frames), 1009 (over MAX_PAYLOAD), 4000 (a slow
 * consumer). Closes a client starts, and 1001 (drain, redirect), are not.
 */
export const ABUSE_CLOSES = [
  CloseCode.protocolError,
  CloseCode.invalidPayload,
  CloseCode.policyViolation,
  CloseCode.messageTooBig,
  CloseCode.slowConsumer,
] as const;
export type AbuseClose = (typeof ABUSE_CLOSES)[number];

/**
 * Why a chat server refused an upgrade, or a plain HTTP request on its port,
 * and the HTTP status it answered with. Every refusal closes the TCP
 * connection once the answer is written.
 */
export const UpgradeRefusal = {
  /** The server is draining or stopping. */
  draining: 503,
  /** The server holds MAX_CONNECTIONS clients already (extension). */
  full: 503,
  /** `Origin` not in ALLOWED_ORIGINS. */
  origin: 403,
  /** The ticket is missing, malformed, forged or expired. */
  unauthorized: 401,
  /** Not a GET. */
  method: 405,
  /** Not a valid RFC 6455 upgrade (Upgrade, Sec-WebSocket-Key, Sec-WebSocket-Version, subprotocol). */
  handshake: 400,
  /** A plain HTTP request other than `GET /healthz`. */
  plain_http: 426,
  /** The request was not complete within UPGRADE_TIMEOUT_MS. */
  timeout: 408,
  /** Not HTTP at all (the parser gave up). */
  bad_http: 400,
  /** Request headers past Node's limit (16 KiB). */
  headers_too_large: 431,
} as const;
export type UpgradeRefusal = keyof typeof UpgradeRefusal;
export const UPGRADE_REFUSALS = Object.keys(UpgradeRefusal) as UpgradeRefusal[];

/** A chat server's abuse counters since it started; every reason is present. */
export interface AbuseCounts {
  refused: Record<AbuseRefusal, number>;
  /** By close code, as a string ("1008"). */
  closed: Record<`${AbuseClose}`, number>;
  upgradesRefused: Record<UpgradeRefusal, number>;
}

/** Counters at zero. */
export function emptyAbuseCounts(): AbuseCounts {
  return {
    refused: Object.fromEntries(ABUSE_REFUSALS.map((r) => [r, 0])) as AbuseCounts['refused'],
    closed: Object.fromEntries(ABUSE_CLOSES.map((c) => [String(c), 0])) as AbuseCounts['closed'],
    upgradesRefused: Object.fromEntries(UPGRADE_REFUSALS.map((r) => [r, 0])) as AbuseCounts['upgradesRefused'],
  };
}

/** The three groups, each the prefix of its fields in the server hash. */
const GROUPS = ['refused', 'closed', 'upgradesRefused'] as const;

/**
 * The name of one counter's field in the hash `server:{id}`:
 * `abuse.refused.rate_limited`, `abuse.closed.1008`, `abuse.upgradesRefused.unauthorized`.
 */
export function abuseField(group: (typeof GROUPS)[number], reason: string): string {
  return `abuse.${group}.${reason}`;
}

/** Every counter as hash fields (decimal strings), for the server's once-a-second HSET. */
export function abuseFields(counts: AbuseCounts): Record<string, string> {
  const out: Record<string, string> = {};
  for (const group of GROUPS) {
    for (const [reason, n] of Object.entries(counts[group])) out[abuseField(group, reason)] = String(n);
  }
  return out;
}

/** Reads the counters back from a server hash; a missing or malformed field reads 0 (a server from before them). */
export function parseAbuseFields(raw: Readonly<Record<string, string>>): AbuseCounts {
  const counts = emptyAbuseCounts();
  for (const group of GROUPS) {
    const target = counts[group] as Record<string, number>;
    for (const reason of Object.keys(target)) {
      const n = Number(raw[abuseField(group, reason)]);
      target[reason] = Number.isFinite(n) && n > 0 ? n : 0;
    }
  }
  return counts;
}

/** Every refusal, abuse close and refused upgrade counted, in one number. */
export function abuseTotal(counts: AbuseCounts): number {
  let total = 0;
  for (const group of GROUPS) for (const n of Object.values(counts[group])) total += n;
  return total;
}
