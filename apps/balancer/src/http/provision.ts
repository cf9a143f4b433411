// GET /servers/provision: the choice and the ticket, shared by the Express route and the fast path that answers it without Express.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { provisionQuerySchema, type ProvisionQuery, type ProvisionResponse } from '@chatfleet/protocol';
import { mintTicket, verifyUserSignature, withToken } from '@chatfleet/protocol/tickets';
import type { AppContext } from './context.js';
import { corsOrigin } from './cors.js';

const PATH = '/servers/provision';
const QUERY_KEYS = ['room', 'user', 'sig'] as const;

/**
 * Chooses a server for one client and mints its ticket, counting the
 * provision; undefined when no server is ready (or all are full). The caller
 * has checked the query, the signature and that the balancer is not stopping.
 */
export function provisionAnswer(ctx: AppContext, query: ProvisionQuery, now = Date.now()): ProvisionResponse | undefined {
  const { config, fleet, loop, placements } = ctx;
  // The room planner's choice (control/control-loop.ts `chooseFor`), never a full server.
  const chosen = loop.chooseFor(query.room, query.user);
  const record = chosen === undefined ? undefined : fleet.get(chosen);
  if (record === undefined || record.url === '') return undefined;
  const userId = query.user ?? `anon-${randomBytes(5).toString('hex')}`;
  const expiresAt = now + config.TOKEN_TTL_S * 1000;
  const token = mintTicket(ctx.authSecret, userId, expiresAt);
  placements.count(record.id, query.room, now);
  ctx.prom.provisions.inc();
  return { id: record.id, url: withToken(record.url, token), token, expiresAt };
}

/**
 * The provision route without Express: a reconnect storm is thousands of
 * these a second, and Express's router, middleware chain, `res.json` (with
 * its ETag) cost more than the choice itself. It answers only what it can
 * answer exactly as the route would: a GET whose query parses, with a server
 * to give. Everything else (HEAD, a bad or repeated parameter, a bad
 * signature, a balancer stopping, no server ready) returns false untouched,
 * for the Express app to answer and to format the error as always.
 */
export function provisionFastPath(ctx: AppContext): (req: IncomingMessage, res: ServerResponse) => boolean {
  const allowed = ctx.config.ALLOWED_ORIGINS?.split(',');
  return (req, res) => {
    const url = req.url;
    if (req.method !== 'GET' || url === undefined || !url.startsWith(PATH)) return false;
    const q = url.length === PATH.length ? -1 : url.charCodeAt(PATH.length) === 63 /* ? */ ? PATH.length : -2;
    if (q === -2 || ctx.isStopping()) return false;
    const query = q === -1 ? {} : parseQuery(url.slice(q + 1));
    if (query === undefined) return false;
    const parsed = provisionQuerySchema.safeParse(query);
    if (!parsed.success) return false;
    const { user, sig } = parsed.data;
    if (user !== undefined && ctx.config.USER_SECRET !== undefined && !verifyUserSignature(ctx.config.USER_SECRET, user, sig)) return false;
    const answer = provisionAnswer(ctx, parsed.data);
    if (answer === undefined) return false;
    const body = JSON.stringify(answer);
    const headers: Record<string, string | number> = {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
    };
    const origin = req.headers.origin;
    const allow = corsOrigin(allowed, origin, 'GET', PATH);
    if (allowed !== undefined) headers.vary = 'origin';
    if (allow !== undefined) headers['access-control-allow-origin'] = allow;
    res.writeHead(200, headers);
    res.end(body);
    return true;
  };
}

/** The provision parameters of a query string; undefined when one is repeated (the route answers that 400). */
export function parseQuery(search: string): Partial<Record<(typeof QUERY_KEYS)[number], string>> | undefined {
  const out: Partial<Record<(typeof QUERY_KEYS)[number], string>> = {};
  for (const [key, value] of new URLSearchParams(search)) {
    if (key !== 'room' && key !== 'user' && key !== 'sig') continue;
    if (out[key] !== undefined) return undefined;
    out[key] = value;
  }
  return out;
}
