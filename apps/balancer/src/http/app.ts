// The Express app: CORS, JSON bodies, the API routes, the dashboard, the client bundle and demo page, the 404 fallback and the one error middleware.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Express } from 'express';
import { HttpErrorCode } from '@chatfleet/protocol';
import { clientRouter } from './client-routes.js';
import type { AppContext } from './context.js';
import { cors } from './cors.js';
import { HttpError, JSON_BODY_LIMIT, errorHandler, notFound } from './errors.js';
import { provisionFastPath } from './provision.js';
import { dashboardHeaders } from './security-headers.js';
import { serversRouter } from './servers-routes.js';
import { statsRouter } from './stats-routes.js';

/**
 * The balancer's request listener: a provision that can be answered at once
 * goes the fast path (provision.ts), everything else to the Express app.
 */
export function createRequestListener(ctx: AppContext): (req: IncomingMessage, res: ServerResponse) => void {
  const app = createApp(ctx);
  const fast = provisionFastPath(ctx);
  return (req, res) => {
    if (!fast(req, res)) app(req, res);
  };
}

/** Builds the balancer's HTTP app from the running balancer's parts. */
export function createApp(ctx: AppContext): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(cors(ctx.config.ALLOWED_ORIGINS));
  app.use(express.json({ limit: JSON_BODY_LIMIT }));
  app.use(serversRouter(ctx));
  app.use(statsRouter(ctx));
  mountDashboard(app, ctx.config.DASHBOARD_DIR);
  app.use(clientRouter(ctx.config.CLIENT_DIR, ctx.config.CHAT_PAGE_DIR));
  app.use(notFound);
  app.use(errorHandler(ctx.log));
  return app;
}

/** Serves the built dashboard (a single-page app) at /dashboard/, or a JSON 404 that says it is not built. */
function mountDashboard(app: Express, dir: string): void {
  app.get('/', (_req, res) => res.redirect(302, '/dashboard/'));
  const index = join(dir, 'index.html');
  if (!existsSync(index)) {
    app.use('/dashboard', () => {
      throw new HttpError(404, HttpErrorCode.notFound, `the dashboard is not built (no ${index}); run \`npm run build\``);
    });
    return;
  }
  app.use('/dashboard', dashboardHeaders, express.static(dir, { index: 'index.html', redirect: true }));
  // Client-side routes of the SPA fall back to its index page.
  app.get('/dashboard/*splat', dashboardHeaders, (_req, res) => res.sendFile(index));
}
