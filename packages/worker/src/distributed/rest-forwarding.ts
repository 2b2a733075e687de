import { createHmac, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger, TaskConfig } from '@ferry/core';
import type { KafkaConfigLog } from '../stores/kafka-config-log.js';
import type { DistributedHerder } from './distributed-herder.js';

/** Marks a request one worker sent another, so it is never forwarded again. */
export const FORWARDED_HEADER = 'x-ferry-forwarded';
/** Kafka Connect's internal request signature headers (KIP-507). */
const SIGNATURE_HEADER = 'x-connect-authorization';
const ALGORITHM_HEADER = 'x-connect-request-signature-algorithm';

const REBALANCE_MESSAGE = 'Cannot complete request momentarily due to no known leader URL, likely because a rebalance is underway.';

export interface ForwardingOptions {
  herder: DistributedHerder;
  configLog: KafkaConfigLog;
  logger: Logger;
  /** How long a forwarded write keeps retrying through a rebalance (ms). */
  retryForMs: number;
  /** Scheme of the cluster's REST URLs (task restarts go to `<scheme>://<worker id>`). */
  scheme?: 'http' | 'https';
}

type InternalOptions = Pick<ForwardingOptions, 'herder' | 'configLog' | 'logger'>;

function sign(key: Buffer, body: Buffer): string {
  return createHmac('sha256', key).update(body).digest('base64');
}

/** Sends task configs to the leader, signed with the cluster's session key (Kafka Connect's internal endpoint). */
export async function submitTaskConfigs(configLog: KafkaConfigLog, leaderUrl: string, connector: string, configs: TaskConfig[]): Promise<void> {
  const key = configLog.sessionKey;
  if (!key) throw new Error('No session key yet');
  const body = Buffer.from(JSON.stringify(configs));
  const res = await fetch(`${leaderUrl}/connectors/${encodeURIComponent(connector)}/tasks?forward=true`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: sign(key.key, body), [ALGORITHM_HEADER]: 'HmacSHA256', [FORWARDED_HEADER]: '1' },
    body,
    signal: AbortSignal.timeout(30000),
  });
  if (!res.ok) throw new Error(`Leader answered ${res.status}: ${await res.text()}`);
}

/** Kafka Connect's internal endpoint: task configs a follower hands the leader, signed with the session key. */
async function putTaskConfigs(opts: InternalOptions, req: Request, res: Response): Promise<void> {
  const raw = (req as Request & { rawBody?: Buffer }).rawBody ?? Buffer.alloc(0);
  const key = opts.configLog.sessionKey;
  const given = req.get(SIGNATURE_HEADER);
  if (!given || !key) return void res.status(400).json({ error_code: 400, message: 'Internal request missing required header or session key' });
  const expected = Buffer.from(sign(key.key, raw));
  const got = Buffer.from(given);
  if (expected.length !== got.length || !timingSafeEqual(expected, got)) {
    return void res.status(403).json({ error_code: 403, message: 'Internal request contained invalid signature.' });
  }
  if (!opts.herder.isLeader) return void res.status(409).json({ error_code: 409, message: 'This worker is not the leader of the cluster' });
  const name = String(req.params.connector);
  if (!opts.herder.has(name)) return void res.status(404).json({ error_code: 404, message: `Connector ${name} not found` });
  if (!Array.isArray(req.body)) return void res.status(400).json({ error_code: 400, message: 'Task configs must be a JSON array' });
  try {
    await opts.configLog.putTasks(name, req.body as TaskConfig[]);
    res.status(204).end();
  } catch (err) {
    opts.logger.error({ err: (err as Error).message }, 'Task configs not written');
    res.status(500).json({ error_code: 500, message: 'Task configs not written' });
  }
}

const jsonWithRawBody = () =>
  express.json({
    limit: '10mb',
    strict: false,
    type: () => true,
    verify: (req, _res, buf) => {
      (req as Request & { rawBody?: Buffer }).rawBody = Buffer.from(buf);
    },
  });

/**
 * The signed internal request (`POST /connectors/:connector/tasks` carrying
 * the session-key signature), mounted before authentication: it is the one
 * route a worker serves without user credentials, and only when the
 * signature checks out. Every other request goes on to the guards.
 */
export function signedInternalRoutes(opts: InternalOptions): express.Router {
  const router = express.Router();
  router.post('/connectors/:connector/tasks', (req: Request, res: Response, next: NextFunction) => {
    if (req.get(SIGNATURE_HEADER) === undefined) return next();
    jsonWithRawBody()(req, res, (err?: unknown) => {
      if (err) return next(err);
      void putTaskConfigs(opts, req, res);
    });
  });
  return router;
}

const isWrite = (m: string) => m === 'POST' || m === 'PUT' || m === 'PATCH' || m === 'DELETE';

/**
 * The REST layer a distributed worker adds in front of the Kafka Connect
 * API: the signed internal task-config endpoint, and forwarding of writes
 * to the leader (task restarts to the worker running the task), retried
 * through rebalances; reads stay local.
 */
export function distributedRoutes(opts: ForwardingOptions): express.Router {
  const router = express.Router();
  router.use(jsonWithRawBody());

  router.post('/connectors/:connector/tasks', (req: Request, res: Response) => void putTaskConfigs(opts, req, res));

  router.use(async (req: Request, res: Response, next: NextFunction) => {
    if (!isWrite(req.method) || !req.path.startsWith('/connectors') || req.get(FORWARDED_HEADER)) return next();
    // Task restarts go to the worker running the task; ad hoc snapshot signals to the one running task 0.
    const restart =
      /^\/connectors\/([^/]+)\/tasks\/(\d+)\/restart$/.exec(req.path) ??
      (/^\/connectors\/([^/]+)\/snapshots$/.exec(req.path) as RegExpExecArray | null)?.concat('0');
    const deadline = Date.now() + opts.retryForMs;
    let last: { status: number; body: string; type: string | null; location: string | null } | undefined;
    for (let attempt = 0; ; attempt++) {
      let target: string | undefined;
      if (restart) {
        const name = decodeURIComponent(restart[1]!);
        const owner = opts.herder.has(name) ? opts.herder.status(name).tasks.find((t) => t.id === Number(restart[2]))?.worker_id : undefined;
        if (!owner || owner === opts.herder.workerId) return next();
        target = `${opts.scheme ?? 'http'}://${owner}`;
      } else if (opts.herder.isLeader) {
        return next();
      } else if (opts.herder.leaderUrl) {
        target = opts.herder.leaderUrl;
      }
      if (target) {
        try {
          const r = await fetch(`${target}${req.originalUrl}`, {
            method: req.method,
            // The caller's credentials go along: the receiving worker authorizes the request itself.
            headers: { 'content-type': 'application/json', [FORWARDED_HEADER]: '1', ...(req.get('authorization') ? { authorization: req.get('authorization')! } : {}) },
            body: req.method === 'DELETE' || req.body === undefined ? undefined : JSON.stringify(req.body),
            signal: AbortSignal.timeout(60000),
          });
          last = { status: r.status, body: await r.text(), type: r.headers.get('content-type'), location: r.headers.get('location') };
          if (r.status !== 409 || /already exists/.test(last.body)) break;
        } catch (err) {
          opts.logger.debug({ target, err: (err as Error).message }, 'Forwarding failed; retrying');
        }
      }
      if (Date.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 1000)));
    }
    if (!last) return void res.status(409).json({ error_code: 409, message: REBALANCE_MESSAGE });
    if (last.type) res.setHeader('content-type', last.type);
    if (last.location) res.setHeader('location', last.location);
    res.status(last.status).send(last.body);
  });
  return router;
}
