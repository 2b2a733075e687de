import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express, { type Request, type Response, type Router } from 'express';

/** Where the build puts the web console's bundle (the same folder from src/ and from dist/). */
export const CONSOLE_DIR = fileURLToPath(new URL('../../dist/ui/', import.meta.url));

/**
 * The web console: static files built at build time (no CDN). Mounted under
 * `/ui` behind the same middleware as the REST API; every unknown path below
 * it serves index.html so the console's own routes survive a reload.
 */
export function consoleRouter(dir = CONSOLE_DIR): Router {
  const router = express.Router();
  // Relative asset URLs need the trailing slash: /ui -> /ui/
  router.get('/', (req: Request, res: Response, next) => (req.originalUrl.split('?')[0]!.endsWith('/') ? next() : res.redirect(301, `${req.baseUrl}/`)));
  router.use(express.static(dir, { index: 'index.html', fallthrough: true, dotfiles: 'ignore', maxAge: 0 }));
  router.get(/.*/, (_req: Request, res: Response) => {
    const index = `${dir}index.html`;
    if (!existsSync(index)) {
      res.status(503).json({ error_code: 503, message: 'The web console is not built: run `npm run build`.' });
      return;
    }
    res.sendFile(index);
  });
  return router;
}
