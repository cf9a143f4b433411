// HTTP errors as codes: the HttpError type, the 404 fallback, and the one middleware that formats every error body.
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { HttpErrorCode, type ErrorBody } from '@chatfleet/protocol';
import type { Logger } from '../log.js';

/** An error with a stable code and the HTTP status it answers with. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: HttpErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Routes nobody handles. */
export const notFound: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, HttpErrorCode.notFound, `no route for ${req.method} ${req.path}`));
};

/** Body-parser errors carry `type` and `status`. */
function isBodyError(error: unknown): error is { type: string; status: number; message: string } {
  return typeof error === 'object' && error !== null && 'type' in error && 'status' in error;
}

/** The JSON limit of request bodies (express.json); a larger body is answered 413 `too_large`. */
export const JSON_BODY_LIMIT = '16kb';

/** The `{error, message}` of a body the JSON parser refused: too large (413), not JSON (400), or otherwise unreadable. */
function bodyErrorBody(error: { type: string; status: number; message: string }): ErrorBody {
  switch (error.type) {
    case 'entity.too.large':
      return { error: HttpErrorCode.tooLarge, message: `request body is over ${JSON_BODY_LIMIT}` };
    case 'entity.parse.failed':
      return { error: HttpErrorCode.badRequest, message: 'request body is not valid JSON' };
    default:
      return { error: HttpErrorCode.badRequest, message: error.message };
  }
}

/** The last middleware: the only place that writes an error body `{error, message}`. */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    let status = 500;
    let body: ErrorBody = { error: HttpErrorCode.internal, message: 'internal error' };
    if (error instanceof HttpError) {
      status = error.status;
      body = { error: error.code, message: error.message };
    } else if (isBodyError(error) && error.status >= 400 && error.status < 500) {
      status = error.status;
      body = bodyErrorBody(error);
    } else {
      log.error({ err: error, method: req.method, path: req.path }, 'request failed');
    }
    res.status(status).json(body);
  };
}
