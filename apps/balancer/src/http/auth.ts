// The admin guard: `Authorization: Bearer <ADMIN_TOKEN>` when ADMIN_TOKEN is set.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { HttpErrorCode } from '@chatfleet/protocol';
import { HttpError } from './errors.js';

/** Lets a request through when no token is configured or it carries the right bearer token. */
export function requireAdmin(adminToken: string | undefined): RequestHandler {
  const expected = adminToken === undefined ? undefined : digest(adminToken);
  return (req, _res, next) => {
    if (expected === undefined) return next();
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (match?.[1] !== undefined && timingSafeEqual(digest(match[1].trim()), expected)) return next();
    next(new HttpError(401, HttpErrorCode.unauthorized, 'this route needs Authorization: Bearer <ADMIN_TOKEN>'));
  };
}

// Comparing digests keeps the comparison constant-time whatever the lengths.
function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
