/**
 * REST routes of bounded work: chunked jobs (`GET /connectors/:connector/jobs`, cancel, pause, resume)
 * and ad hoc snapshots (`POST /connectors/:connector/snapshots`, handed to the task as a signal).
 */
import { RestError, badRequest, notFound } from '../herder/errors.js';
import type { Handler, RestContext } from '../rest/handlers.js';
import type { JobsFacility } from './jobs-facility.js';

function facility(ctx: RestContext, connector: string): JobsFacility {
  if (!ctx.herder.has(connector)) throw notFound(`Connector ${connector} not found`);
  const jobs = (ctx as RestContext & { jobs?: JobsFacility }).jobs;
  if (!jobs) throw notFound(`Connector ${connector} has no jobs`);
  return jobs;
}

const action =
  (what: 'cancel' | 'pause' | 'resume'): Handler =>
  async (req, ctx) => {
    const { connector, id } = req.params as { connector: string; id: string };
    const jobs = facility(ctx, connector);
    if (!(await jobs[what](connector, id))) throw notFound(`Job ${id} of connector ${connector} not found`);
    return { status: 202, body: (await jobs.list(connector)).find((j) => j.id === id) };
  };

export const jobRoutes: Array<{ method: 'GET' | 'POST'; path: string; handler: Handler }> = [
  {
    method: 'GET',
    path: '/connectors/:connector/jobs',
    handler: async (req, ctx) => {
      const connector = req.params.connector!;
      return { status: 200, body: await facility(ctx, connector).list(connector) };
    },
  },
  {
    method: 'POST',
    path: '/connectors/:connector/snapshots',
    handler: async (req, ctx) => {
      const connector = req.params.connector!;
      if (!ctx.herder.has(connector)) throw notFound(`Connector ${connector} not found`);
      const body = (req.body ?? {}) as Record<string, unknown>;
      const tables = body['data-collections'];
      if (!Array.isArray(tables) || tables.length === 0 || tables.some((t) => typeof t !== 'string' || !t)) {
        throw badRequest('data-collections must be a non-empty array of table names');
      }
      const type = body.type ?? 'incremental';
      if (type !== 'incremental') throw badRequest(`Snapshot type ${String(type)} is not supported (only incremental)`);
      const taken = await ctx.herder.signal(connector, { type: 'execute-snapshot', data: { 'data-collections': tables as string[], type } });
      if (taken === 0) throw new RestError(409, `Connector ${connector} has no running task that takes ad hoc snapshots`);
      return { status: 202, body: { connector, 'data-collections': tables, type } };
    },
  },
  { method: 'POST', path: '/connectors/:connector/jobs/:id/cancel', handler: action('cancel') },
  { method: 'POST', path: '/connectors/:connector/jobs/:id/pause', handler: action('pause') },
  { method: 'POST', path: '/connectors/:connector/jobs/:id/resume', handler: action('resume') },
];
