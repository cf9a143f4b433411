// The browser client and the demo page: GET /client/chatfleet.js (and its types and source map) and GET /chat/.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { Router } from 'express';
import { HttpErrorCode } from '@chatfleet/protocol';
import { HttpError } from './errors.js';

/** The files of the client's build served under /client/, with their content types. */
const CLIENT_FILES: Record<string, string> = {
  'chatfleet.js': 'text/javascript; charset=utf-8',
  'chatfleet.js.map': 'application/json; charset=utf-8',
  'chatfleet.d.ts': 'application/typescript; charset=utf-8',
};

/**
 * Serves the client bundle from `clientDir` and the demo page from
 * `chatPageDir`. Both are revalidated on every load (`no-cache` with an ETag),
 * so a rebuilt bundle is picked up at once and an unchanged one costs a 304.
 */
export function clientRouter(clientDir: string, chatPageDir: string): Router {
  const router = Router();
  router.get('/client/:file', (req, res, next) => {
    const file = req.params.file;
    const type = CLIENT_FILES[file];
    if (type === undefined) {
      next();
      return;
    }
    const path = join(clientDir, file);
    if (!existsSync(path)) {
      throw new HttpError(404, HttpErrorCode.notFound, `the client bundle is not built (no ${path}); run \`npm run build\``);
    }
    res.set('cache-control', 'no-cache');
    res.set('x-content-type-options', 'nosniff');
    // Deno and other URL importers find the types here.
    if (file === 'chatfleet.js') res.set('x-typescript-types', '/client/chatfleet.d.ts');
    res.sendFile(path, { headers: { 'content-type': type }, cacheControl: false, dotfiles: 'deny' }, (error) => {
      if (error !== undefined && !res.headersSent) next(error);
    });
  });

  if (!existsSync(join(chatPageDir, 'index.html'))) {
    router.use('/chat', () => {
      throw new HttpError(404, HttpErrorCode.notFound, `the demo chat page is missing (no ${join(chatPageDir, 'index.html')})`);
    });
    return router;
  }
  router.use('/chat', express.static(chatPageDir, { index: 'index.html', redirect: true, cacheControl: false, setHeaders: (res) => res.set('cache-control', 'no-cache') }));
  return router;
}
