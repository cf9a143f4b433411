// /stats, /stats/stream (server-sent events), /metrics (Prometheus), /healthz and /readyz.
import { Router } from 'express';
import { HttpErrorCode } from '@chatfleet/protocol';
import type { AppContext } from './context.js';
import { HttpError } from './errors.js';
import { statsSnapshot } from './snapshot.js';

export function statsRouter(ctx: AppContext): Router {
  const router = Router();
  const snapshot = () => statsSnapshot(ctx.fleet, ctx.reader, ctx.placements, ctx.loop, ctx.config);

  router.get('/stats', (_req, res) => {
    res.set('cache-control', 'no-store').json(snapshot());
  });

  router.get('/stats/stream', (req, res) => {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const send = () => res.write(`data: ${JSON.stringify(snapshot())}\n\n`);
    send();
    const timer = setInterval(send, ctx.config.METRICS_INTERVAL_MS);
    ctx.streams.add(res);
    const close = () => {
      clearInterval(timer);
      ctx.streams.delete(res);
    };
    req.on('close', close);
    res.on('close', close);
  });

  router.get('/metrics', async (_req, res) => {
    res.set('content-type', ctx.prom.registry.contentType).send(await ctx.prom.registry.metrics());
  });

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', async (_req, res) => {
    if (ctx.isStopping()) throw new HttpError(503, HttpErrorCode.shuttingDown, 'the balancer is shutting down');
    try {
      await withDeadline(ctx.store.ping(), 1000);
    } catch {
      throw new HttpError(503, HttpErrorCode.internal, 'Redis does not answer');
    }
    const ready = ctx.fleet.list().filter((r) => r.status === 'ready').length;
    if (ready === 0) throw new HttpError(503, HttpErrorCode.noReadyServer, 'no chat server is ready');
    res.json({ status: 'ready', readyServers: ready });
  });

  return router;
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
