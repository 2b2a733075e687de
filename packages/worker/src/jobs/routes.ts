/** REST routes of chunked jobs: `GET /connectors/:connector/jobs`, cancel, pause, resume. */
import { notFound } from '../herder/errors.js';
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
  { method: 'POST', path: '/connectors/:connector/jobs/:id/cancel', handler: action('cancel') },
  { method: 'POST', path: '/connectors/:connector/jobs/:id/pause', handler: action('pause') },
  { method: 'POST', path: '/connectors/:connector/jobs/:id/resume', handler: action('resume') },
];
