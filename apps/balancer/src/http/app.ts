// The Express app: JSON bodies, the API routes, the dashboard, the 404 fallback and the one error middleware.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Express } from 'express';
import { HttpErrorCode } from '@chatfleet/protocol';
import type { AppContext } from './context.js';
import { HttpError, errorHandler, notFound } from './errors.js';
import { serversRouter } from './servers-routes.js';
import { statsRouter } from './stats-routes.js';

/** Builds the balancer's HTTP app from the running balancer's parts. */
export function createApp(ctx: AppContext): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(express.json({ limit: '16kb' }));
  app.use(serversRouter(ctx));
  app.use(statsRouter(ctx));
  mountDashboard(app, ctx.config.DASHBOARD_DIR);
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
  app.use('/dashboard', express.static(dir, { index: 'index.html', redirect: true }));
  // Client-side routes of the SPA fall back to its index page.
  app.get('/dashboard/*splat', (_req, res) => res.sendFile(index));
}
