// /servers routes: provision, list, spawn, drain and redistribute.
import { Router, type Request } from 'express';
import type { z } from 'zod';
import {
  HttpErrorCode,
  idSchema,
  provisionQuerySchema,
  redistributeBodySchema,
} from '@chatfleet/protocol';
import { verifyUserSignature } from '@chatfleet/protocol/tickets';
import { FleetFullError, type ActionResult } from '../fleet/fleet.js';
import { requireAdmin } from './auth.js';
import type { AppContext } from './context.js';
import { HttpError } from './errors.js';
import { provisionAnswer } from './provision.js';
import { serverList } from './snapshot.js';

/** Names the first wrong field of a zod error, for a 400 message. */
export function describeZodError(error: z.ZodError, what: string): string {
  const issue = error.issues[0];
  if (issue === undefined) return `${what} is invalid`;
  const field = issue.path.length > 0 ? issue.path.join('.') : what;
  return `${field}: ${issue.message}`;
}

function serverIdParam(req: Request): string {
  const parsed = idSchema.safeParse(req.params.id);
  if (!parsed.success) throw new HttpError(400, HttpErrorCode.badRequest, `server id ${describeZodError(parsed.error, 'id')}`);
  return parsed.data;
}

export function serversRouter(ctx: AppContext): Router {
  const router = Router();
  const { config, fleet, reader, loop } = ctx;
  const admin = requireAdmin(config.ADMIN_TOKEN);

  router.get('/servers/provision', (req, res) => {
    if (ctx.isStopping()) throw new HttpError(503, HttpErrorCode.shuttingDown, 'the balancer is shutting down');
    const parsed = provisionQuerySchema.safeParse(req.query);
    if (!parsed.success) throw new HttpError(400, HttpErrorCode.badRequest, describeZodError(parsed.error, 'query'));
    const { room, user, sig } = parsed.data;
    if (user !== undefined && config.USER_SECRET !== undefined && !verifyUserSignature(config.USER_SECRET, user, sig)) {
      throw new HttpError(403, HttpErrorCode.forbidden, `a valid sig is needed to claim user ${user}`);
    }
    const body = provisionAnswer(ctx, { room, user });
    if (body === undefined) {
      loop.demand().catch((error: unknown) => ctx.log.warn({ err: error }, 'could not ask for a spawn'));
      throw new HttpError(503, HttpErrorCode.noReadyServer, 'no chat server is ready; try again shortly');
    }
    res.set('cache-control', 'no-store').json(body);
  });

  router.get('/servers', (_req, res) => {
    res.json(serverList(fleet, reader));
  });

  router.get('/balancers', (_req, res) => {
    res.set('cache-control', 'no-store').json(loop.balancers());
  });

  router.post('/servers', admin, async (_req, res) => {
    if (ctx.isStopping()) throw new HttpError(503, HttpErrorCode.shuttingDown, 'the balancer is shutting down');
    let record;
    try {
      record = fleet.spawn('spawn', 'admin request');
    } catch (error) {
      if (error instanceof FleetFullError) throw new HttpError(409, HttpErrorCode.fleetFull, error.message);
      throw error;
    }
    try {
      await fleet.whenReady(record);
    } catch (error) {
      throw new HttpError(500, HttpErrorCode.internal, `server ${record.id} did not become ready: ${(error as Error).message}`);
    }
    res.status(201).json({ id: record.id, url: record.url });
  });

  router.delete('/servers/:id', admin, async (req, res) => {
    const id = serverIdParam(req);
    check(await fleet.drain(id, 'admin', loop.token), id);
    res.status(202).json({ id, status: 'draining' });
  });

  router.post('/servers/:id/redistribute', admin, async (req, res) => {
    const id = serverIdParam(req);
    const parsed = redistributeBodySchema.safeParse(req.body);
    if (!parsed.success) {
      throw new HttpError(400, HttpErrorCode.badRequest, 'body must be {"count": N} (N >= 1) or {"fraction": F} (0 < F <= 1)');
    }
    const record = fleet.get(id);
    if (record === undefined || record.status === 'gone') throw new HttpError(404, HttpErrorCode.unknownServer, `no live server ${id}`);
    // Clients provisioned since the last metrics read count too; a fraction of a
    // non-empty server moves at least one client.
    const candidates = loop.candidates();
    const clients = candidates.find((c) => c.id === id)?.clients ?? 0;
    const n = 'count' in parsed.data ? parsed.data.count : Math.max(1, Math.ceil(parsed.data.fraction * clients));
    const target = fleet.targetOtherThan(id, candidates);
    if (target === undefined) throw new HttpError(409, HttpErrorCode.noTarget, 'no other ready server to move clients to');
    check(await fleet.redistribute(id, n, target.id, 'admin', loop.token), id);
    res.status(202).json({ id, n, target: target.id, redirect: target.url });
  });

  return router;
}

/** Turns an admin action's outcome into its error, if any. */
function check(result: ActionResult, id: string): void {
  if (result === 'unknown') throw new HttpError(404, HttpErrorCode.unknownServer, `no live server ${id}`);
  if (result === 'no-target') throw new HttpError(409, HttpErrorCode.noTarget, 'no other ready server to move clients to');
  if (result === 'unreachable') {
    throw new HttpError(503, HttpErrorCode.ownerUnreachable, `the balancer that owns ${id} did not take the command; try again`);
  }
}
