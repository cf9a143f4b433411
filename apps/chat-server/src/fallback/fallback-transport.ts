// The fallback transport's HTTP side on the chat server's port: GET /sse opens a session's event stream, POST /sse/<session> carries frames up, with CORS.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { FALLBACK_PATH, FALLBACK_SESSION_PATTERN, FallbackEvent, isMessageId } from '@chatfleet/protocol';
import { verifyTicket } from '@chatfleet/protocol/tickets';
import type { ClientConnection } from '../client-connection.js';
import type { ChatServerConfig } from '../config.js';
import type { ConnectionHost } from '../connection.js';
import type { Logger } from '../log.js';
import { FallbackConnection } from './fallback-connection.js';

/** What the fallback needs from its chat server. */
export interface FallbackHost {
  readonly config: Pick<ChatServerConfig, 'authSecret' | 'allowedOrigins' | 'maxPayload'>;
  readonly log: Logger;
  /** Rooms, rate limit, slow consumers, closes: the same host as every websocket connection. */
  readonly connectionHost: ConnectionHost;
  /** Rate-limit burst of a new connection. */
  readonly burst: number;
  /** True once the server drains: new streams are refused with 503. */
  readonly draining: boolean;
  /** True while the server holds MAX_CONNECTIONS clients: new streams are refused with 503. */
  readonly full: boolean;
  /** Counts, marks online and welcomes a new connection; the direct messages after `sinceDirect` follow. */
  accept(connection: ClientConnection, sinceDirect: string | undefined): void;
}

/** A POST may carry several frames, one per line, each up to MAX_PAYLOAD bytes; the body as a whole up to this many of them. */
const FRAMES_PER_POST = 4;
const NEWLINE = 0x0a;

/**
 * Serves the fallback on the chat server's own HTTP server. `handle()`
 * answers the requests that are the fallback's and returns true; anything
 * else is left to the server (returns false).
 */
export class FallbackTransport {
  private readonly sessions = new Map<string, FallbackConnection>();

  constructor(private readonly host: FallbackHost) {}

  /** Number of open fallback streams. */
  get size(): number {
    return this.sessions.size;
  }

  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    if (path !== FALLBACK_PATH && !path.startsWith(`${FALLBACK_PATH}/`)) return false;
    const cors = this.corsHeaders(req);
    if (cors === undefined) {
      answer(res, 403, {}, 'forbidden', 'this origin is not in ALLOWED_ORIGINS');
      return true;
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        ...cors,
        'access-control-allow-methods': 'GET, POST',
        'access-control-allow-headers': 'content-type',
        'access-control-max-age': '600',
      });
      res.end();
      return true;
    }
    if (path === FALLBACK_PATH) {
      if (req.method !== 'GET') answer(res, 405, { ...cors, allow: 'GET' }, 'bad_request', `use GET ${FALLBACK_PATH}?token=<ticket>`);
      else this.open(req, res, new URLSearchParams(query === -1 ? '' : url.slice(query + 1)), cors);
      return true;
    }
    const session = path.slice(FALLBACK_PATH.length + 1);
    if (req.method !== 'POST') answer(res, 405, { ...cors, allow: 'POST' }, 'bad_request', `use POST ${FALLBACK_PATH}/<session>`);
    else this.post(req, res, session, cors);
    return true;
  }

  /** CORS headers for the request's origin; undefined when ALLOWED_ORIGINS is set and the origin is not in it. */
  private corsHeaders(req: IncomingMessage): OutgoingHttpHeaders | undefined {
    const origin = req.headers.origin;
    if (origin === undefined) return {};
    const allowed = this.host.config.allowedOrigins;
    if (allowed !== undefined && !allowed.includes(origin)) return undefined;
    return { 'access-control-allow-origin': origin, vary: 'origin' };
  }

  /** GET /sse?token=[&sinceDirect=]: checks like a websocket upgrade (503 draining or full, 401 ticket), then holds the stream open. */
  private open(req: IncomingMessage, res: ServerResponse, query: URLSearchParams, cors: OutgoingHttpHeaders): void {
    const token = query.get('token');
    if (this.host.draining) {
      answer(res, 503, cors, 'unavailable', 'this server is draining; provision again');
      return;
    }
    if (this.host.full) {
      this.host.connectionHost.abuse.upgradeRefused('full');
      answer(res, 503, cors, 'unavailable', 'this server holds all the clients it can (full); provision again');
      return;
    }
    const check = verifyTicket(this.host.config.authSecret, token, Date.now());
    if (!check.ok) {
      this.host.log.debug({ reason: check.reason }, 'fallback stream refused');
      answer(res, 401, cors, 'unauthorized', 'a valid ?token= ticket from the balancer is required');
      return;
    }
    const socket = req.socket;
    socket.setTimeout(0);
    socket.setNoDelay(true);
    res.writeHead(200, {
      ...cors,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store, no-transform',
      // Tells nginx-like proxies not to buffer the stream.
      'x-accel-buffering': 'no',
    });
    const session = randomBytes(18).toString('base64url');
    const connection = new FallbackConnection(res, socket, check.ticket.userId, Date.now(), this.host.connectionHost, this.host.burst);
    this.sessions.set(session, connection);
    res.on('close', () => {
      this.sessions.delete(session);
      connection.onClosed();
    });
    res.write(`event: ${FallbackEvent.session}\ndata: ${JSON.stringify({ post: `${FALLBACK_PATH}/${session}` })}\n\n`);
    const sinceDirect = query.get('sinceDirect');
    this.host.accept(connection, sinceDirect !== null && isMessageId(sinceDirect) ? sinceDirect : undefined);
  }

  /** POST /sse/<session>: frames, one per line, handled in order as websocket messages are; 204 when taken. */
  private post(req: IncomingMessage, res: ServerResponse, session: string, cors: OutgoingHttpHeaders): void {
    const connection = FALLBACK_SESSION_PATTERN.test(session) ? this.sessions.get(session) : undefined;
    if (connection === undefined || connection.closing) {
      req.resume();
      answer(res, 404, cors, 'unknown_session', 'no open fallback stream has this session; connect again');
      return;
    }
    const maxPayload = this.host.config.maxPayload;
    const limit = maxPayload * FRAMES_PER_POST;
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    const tooLarge = (what: string): void => {
      refused = true;
      answer(res, 413, { ...cors, connection: 'close' }, 'too_large', `${what} is over MAX_PAYLOAD; the connection is closed`);
      connection.close(1009, 'message too big', this.host.connectionHost.slowGraceMs);
      req.destroy();
    };
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > limit) tooLarge('the body');
      else chunks.push(chunk);
    });
    req.on('error', () => undefined);
    req.on('end', () => {
      if (refused) return;
      const body = Buffer.concat(chunks, size);
      const frames: Buffer[] = [];
      for (let start = 0; start < body.length; ) {
        let end = body.indexOf(NEWLINE, start);
        if (end === -1) end = body.length;
        if (end - start > maxPayload) return tooLarge('a frame');
        if (end > start) frames.push(body.subarray(start, end));
        start = end + 1;
      }
      res.writeHead(204, cors);
      res.end();
      for (const frame of frames) {
        if (connection.closing) break;
        this.host.connectionHost.onMessage(connection, frame, false);
      }
    });
  }
}

/** A JSON error answer, as the balancer's: `{"error", "message"}`. */
function answer(res: ServerResponse, status: number, headers: OutgoingHttpHeaders, error: string, message: string): void {
  res.writeHead(status, { ...headers, 'content-type': 'application/json' });
  res.end(JSON.stringify({ error, message }));
}
