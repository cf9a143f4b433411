// The chat server's HTTP front door: which upgrade requests open a websocket, how the others are refused, and the TCP close after every refusal.
import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import { isMessageId, UpgradeRefusal } from '@chatfleet/protocol';
import { verifyTicket } from '@chatfleet/protocol/tickets';
import { checkUpgrade, refusal } from './transport/handshake.js';

/** What an upgrade is judged against. */
export interface UpgradePolicy {
  draining: boolean;
  /** True while the server holds MAX_CONNECTIONS clients: 503 `full`. */
  full?: boolean;
  /** Allowed Origin headers; undefined = any. */
  allowedOrigins: readonly string[] | undefined;
  authSecret: string;
  now: number;
}

/** An upgrade to accept, or the refusal to answer it with. */
export type UpgradeDecision =
  | { ok: true; userId: string; key: string; protocol: string | undefined; sinceDirect: string | undefined }
  | {
      ok: false;
      reason: UpgradeRefusal;
      status: number;
      message: string;
      headers?: Record<string, string>;
      /** Why a ticket failed (`missing`, `forged`, ...), for the debug log. */
      detail?: string;
    };

/**
 * Judges an upgrade request, in the documented order (docs/protocol.md):
 * 503 while draining or full, 403 for an Origin not allowed, 401 without a valid
 * ticket, then 405 / 400 for what is not an RFC 6455 upgrade.
 */
export function decideUpgrade(
  method: string | undefined,
  url: string | undefined,
  headers: IncomingHttpHeaders,
  policy: UpgradePolicy,
): UpgradeDecision {
  if (policy.draining) return refused('draining', 'Service Unavailable');
  if (policy.full === true) return refused('full', 'Service Unavailable');
  const origin = headers.origin;
  if (policy.allowedOrigins !== undefined && origin !== undefined && !policy.allowedOrigins.includes(origin)) {
    return refused('origin', 'Forbidden');
  }
  const query = queryOf(url);
  const check = verifyTicket(policy.authSecret, query?.get('token'), policy.now);
  if (!check.ok) return { ok: false, reason: 'unauthorized', status: 401, message: 'Unauthorized', detail: check.reason };
  const upgrade = checkUpgrade(method, headers);
  if (!upgrade.ok) {
    const reason = upgrade.status === UpgradeRefusal.method ? 'method' : 'handshake';
    return { ok: false, reason, status: upgrade.status, message: upgrade.message, ...(upgrade.headers ? { headers: upgrade.headers } : {}) };
  }
  const since = query?.get('sinceDirect');
  return {
    ok: true,
    userId: check.ticket.userId,
    key: upgrade.key,
    protocol: upgrade.protocol,
    // A malformed resume point is ignored, as if absent (docs/protocol.md).
    sinceDirect: since !== null && since !== undefined && isMessageId(since) ? since : undefined,
  };
}

/**
 * The refusal for an HTTP parser error Node reports as `clientError` before
 * any request is complete, or undefined when the client simply went away.
 */
export function clientErrorRefusal(code: string | undefined): UpgradeRefusal | undefined {
  switch (code) {
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ETIMEDOUT':
      return undefined;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 'timeout';
    case 'HPE_HEADER_OVERFLOW':
      return 'headers_too_large';
    default:
      return 'bad_http';
  }
}

/**
 * Answers a refused request and closes the TCP connection once the answer is
 * written (as `ws`' abortHandshake does): our FIN follows the answer, and the
 * socket is destroyed as soon as it is flushed, so a refused client holds no
 * file descriptor however long it stays.
 */
export function refuse(socket: Duplex, status: number, message: string, headers?: Record<string, string>): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.once('finish', destroyThis);
  socket.end(refusal(status, message, headers));
}

/** A 'finish' listener shared by every refused socket. */
function destroyThis(this: Duplex): void {
  this.destroy();
}

function refused(reason: UpgradeRefusal, message: string): Extract<UpgradeDecision, { ok: false }> {
  return { ok: false, reason, status: UpgradeRefusal[reason], message };
}

function queryOf(url: string | undefined): URLSearchParams | undefined {
  const q = url?.indexOf('?') ?? -1;
  return url === undefined || q === -1 ? undefined : new URLSearchParams(url.slice(q + 1));
}
