import type { Server } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '@ferry/core';
import { errorResponse, routes, type RestContext, type RestResponse } from './handlers.js';
import { jobRoutes } from '../jobs/routes.js';
import { openApiDocument } from './openapi.js';
import { consoleRouter } from './console.js';
import { cors, hostCheck, requireJsonBody, type CorsOptions } from './guards.js';

/** What guards every request, before any route (see guards.ts and auth.ts). */
export interface RestSecurity {
  /** Host header names accepted; undefined disables the check. */
  allowedHosts?: Set<string>;
  cors?: CorsOptions;
  /** The authentication middleware; undefined when authentication is off. */
  auth?: express.RequestHandler;
}

/** A thin express adapter over the framework-free handlers. */
export function createApp(ctx: RestContext, logger: Logger, security: RestSecurity = {}): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'extended');
  app.use(hostCheck(security.allowedHosts));
  app.use(cors(security.cors ?? { allowOrigin: '', allowMethods: '' }));
  if (security.auth) app.use(security.auth);
  app.use(requireJsonBody());
  app.use(express.json({ limit: '10mb', strict: false, type: 'application/json' }));
  const send = (res: Response, r: RestResponse) => {
    if (r.headers) for (const [k, v] of Object.entries(r.headers)) res.setHeader(k, v);
    res.status(r.status);
    if (r.text !== undefined) {
      res.type(r.contentType ?? 'text/plain').send(r.text);
    } else if (r.body === undefined) {
      res.end();
    } else {
      res.json(r.body);
    }
  };
  for (const route of [...routes, ...jobRoutes]) {
    const method = route.method.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete';
    app[method](route.path, async (req: Request, res: Response) => {
      try {
        const r = await route.handler(
          {
            params: req.params as Record<string, string>,
            query: req.query as Record<string, string | string[] | undefined>,
            body: req.body,
            baseUrl: `${req.protocol}://${req.get('host')}`,
          },
          ctx,
        );
        send(res, r);
      } catch (err) {
        const r = errorResponse(err);
        const body = r.body as { message?: unknown } | undefined;
        if (body && typeof body.message === 'string') body.message = ctx.logs.redactor.redact(body.message);
        if (r.status >= 500) logger.error({ err: (err as Error)?.message, stack: (err as Error)?.stack, path: req.path }, 'REST request failed');
        send(res, r);
      }
    });
  }
  app.get('/openapi.json', (_req: Request, res: Response) => void res.json(openApiDocument));
  app.use('/ui', consoleRouter());
  app.use((req: Request, res: Response) => {
    res.status(404).json({ error_code: 404, message: `HTTP 404 Not Found: ${req.method} ${req.path}` });
  });
  app.use((err: Error & { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
    const status = err.type === 'entity.parse.failed' ? 400 : (err.status ?? 500);
    const message = err.type === 'entity.parse.failed' ? `Cannot deserialize the request body: ${err.message}` : err.message;
    res.status(status).json({ error_code: status, message });
  });
  return app;
}

export async function listen(app: express.Express, host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(server)));
    server.on('error', reject);
  });
}
