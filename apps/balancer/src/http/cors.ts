// CORS per ALLOWED_ORIGINS (SPEC section 2): unset, any origin may read the public routes only; set, the listed origins may call every route and no other origin any.
import type { RequestHandler } from 'express';

/** Paths open to any origin when ALLOWED_ORIGINS is unset; admin routes are never among them. */
const PUBLIC_PATHS = [/^\/servers\/provision$/, /^\/servers$/, /^\/stats(\/stream)?$/, /^\/balancers$/, /^\/client\/chatfleet\.(js|js\.map|d\.ts)$/];

/** Methods and request headers a listed origin may use: the admin routes' POST and DELETE with `Authorization`. */
const LISTED_METHODS = 'GET, HEAD, POST, DELETE';
const LISTED_HEADERS = 'authorization, content-type';
/** How long a browser may keep a preflight's answer, seconds. */
const PREFLIGHT_MAX_AGE = '600';

/** True for a GET-like request to a path other origins may read. */
export function isPublicRoute(method: string, path: string): boolean {
  return (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') && PUBLIC_PATHS.some((pattern) => pattern.test(path));
}

/**
 * The `Access-Control-Allow-Origin` a request gets, or undefined for none:
 * with ALLOWED_ORIGINS unset, `*` on the public routes (read with GET or
 * HEAD) and nothing elsewhere, admin routes included; with it set, the
 * request's own origin when it is listed, on any route, and nothing for any
 * other origin. `method` is the method the browser will use (for a preflight,
 * its Access-Control-Request-Method).
 */
export function corsOrigin(allowed: readonly string[] | undefined, origin: string | undefined, method: string, path: string): string | undefined {
  if (allowed === undefined) return isPublicRoute(method, path) ? '*' : undefined;
  return origin !== undefined && allowed.includes(origin) ? origin : undefined;
}

/**
 * Answers CORS as `corsOrigin` decides. Every preflight (OPTIONS) is answered
 * here with 204, with the CORS headers only when the origin may make the
 * request it asks about. Any other request goes on to its route; one from an
 * origin that is not allowed gets its answer without CORS headers, so the
 * browser withholds it from the page.
 */
export function cors(allowedOrigins: string | undefined): RequestHandler {
  const allowed = allowedOrigins?.split(',');
  return (req, res, next) => {
    const origin = req.headers.origin;
    const preflight = req.method === 'OPTIONS';
    const method = preflight ? (req.get('access-control-request-method') ?? 'GET').toUpperCase() : req.method;
    const allow = corsOrigin(allowed, origin, method, req.path);
    // With a list, the answer depends on the origin: caches must keep one per origin.
    if (allowed !== undefined) res.vary('origin');
    if (allow !== undefined) res.set('access-control-allow-origin', allow);
    if (!preflight) {
      next();
      return;
    }
    if (allow !== undefined) {
      res.set('access-control-allow-methods', allowed === undefined ? 'GET, HEAD' : LISTED_METHODS);
      if (allowed !== undefined) res.set('access-control-allow-headers', LISTED_HEADERS);
      res.set('access-control-max-age', PREFLIGHT_MAX_AGE);
    }
    res.status(204).end();
  };
}
