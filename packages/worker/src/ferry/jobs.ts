/**
 * `ferry jobs`: a connector's chunked jobs (snapshots, backfills), their
 * cancel/pause/resume, and `--wait` with a progress bar until a job ends.
 */
import type { Command } from 'commander';
import { CliError, EXIT, enc, type FerryClient } from './client.js';
import { table } from './format.js';

export interface Job {
  id: string;
  work: string;
  state: 'running' | 'paused' | 'completed' | 'failed' | 'cancelled';
  chunks: { total: number; done: number; running?: number; failed?: number };
  rows: number;
  rowsPerSecond?: number;
  etaSeconds?: number | null;
  error?: string;
}

export interface JobsContext {
  client(): FerryClient;
  out(data: unknown, asTable: () => string): void;
  err(s: string): void;
  isTTY: boolean;
  waitMs(): number;
}

const active = (j: Job) => j.state === 'running' || j.state === 'paused';

export function fmtEta(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '-';
  const t = Math.max(0, Math.round(s));
  if (t < 60) return `${t}s`;
  if (t < 3600) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`;
  return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`;
}

/** `[#########-----------] 1/3 chunks` */
export function progressBar(job: Job, width = 24): string {
  const { total, done } = job.chunks;
  const frac = job.state === 'completed' ? 1 : total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(frac * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} chunks`;
}

function jobLine(job: Job): string {
  const rate = job.rowsPerSecond === undefined ? '' : `, ${Math.round(job.rowsPerSecond)} rows/s`;
  const eta = active(job) ? `, ETA ${fmtEta(job.etaSeconds)}` : '';
  return `${job.id} ${job.state} ${progressBar(job)}, ${job.rows} rows${rate}${eta}`;
}

export function jobsTable(jobs: Job[]): string {
  return table(
    ['id', 'work', 'state', 'chunks', 'rows', 'rows/s', 'eta', 'error'],
    jobs.map((j) => [
      j.id,
      j.work,
      j.state === 'failed' ? 'failed!' : j.state,
      `${j.chunks.done}/${j.chunks.total}${j.chunks.failed ? ` (${j.chunks.failed} failed)` : ''}`,
      j.rows,
      j.rowsPerSecond === undefined ? '' : Math.round(j.rowsPerSecond),
      active(j) ? fmtEta(j.etaSeconds) : '',
      (j.error ?? '').split('\n')[0],
    ]),
  );
}

async function list(c: FerryClient, connector: string): Promise<Job[]> {
  return c.call<Job[]>('GET', `/connectors/${enc(connector)}/jobs`);
}

/**
 * Polls the job until it is completed (returns it), failed or cancelled
 * (exit code 8), or the timeout passes (exit code 8). Without an id: the
 * newest job of the connector, waiting for one to appear.
 */
export async function waitForJob(c: FerryClient, connector: string, id: string | undefined, timeoutMs: number, io: { err(s: string): void; isTTY: boolean }): Promise<Job> {
  const started = Date.now();
  let last = '';
  for (;;) {
    const jobs = await list(c, connector);
    const job = id === undefined ? jobs[jobs.length - 1] : jobs.find((j) => j.id === id);
    if (!job && id !== undefined) throw new CliError(`Job ${id} of connector ${connector} not found`, EXIT.NOT_FOUND);
    const line = job ? jobLine(job) : `waiting for a job of ${connector}`;
    if (job && !active(job)) {
      if (io.isTTY) io.err('\r\x1b[K');
      io.err(`${line}\n`);
      if (job.state !== 'completed') throw new CliError(`Job ${job.id} of ${connector} ${job.state}${job.error ? `: ${job.error.split('\n')[0]}` : ''}`, EXIT.WAIT_FAILED);
      return job;
    }
    if (io.isTTY) io.err(`\r\x1b[K${line} (${((Date.now() - started) / 1000).toFixed(0)}s)`);
    else if (line !== last) io.err(`${line}\n`);
    last = line;
    if (Date.now() - started > timeoutMs) {
      if (io.isTTY) io.err('\n');
      throw new CliError(`${job ? `Job ${job.id}` : `A job of ${connector}`} did not complete within ${timeoutMs} ms`, EXIT.WAIT_FAILED);
    }
    await new Promise((res) => setTimeout(res, 500));
  }
}

export function addJobsCommands(program: Command, ctx: JobsContext): void {
  const jobs = program
    .command('jobs')
    .description("A connector's chunked jobs (snapshots, backfills): list, cancel, pause, resume, wait.")
    .argument('<connector>')
    .argument('[id]', 'one job (with --wait: the job to wait for; default the newest)')
    .option('--wait', 'show a progress bar until the job completes (exit code 8 when it fails or is cancelled)')
    .action(async (connector: string, id: string | undefined, o: { wait?: boolean }) => {
      const c = ctx.client();
      if (o.wait) {
        const job = await waitForJob(c, connector, id, ctx.waitMs(), ctx);
        ctx.out(job, () => jobsTable([job]));
        return;
      }
      const all = await list(c, connector);
      const shown = id === undefined ? all : all.filter((j) => j.id === id);
      if (id !== undefined && shown.length === 0) throw new CliError(`Job ${id} of connector ${connector} not found`, EXIT.NOT_FOUND);
      ctx.out(id === undefined ? shown : shown[0], () => (shown.length ? jobsTable(shown) : 'No jobs.\n'));
    });
  for (const [verb, doc] of [
    ['cancel', 'Cancel a job: no chunk starts afterwards; running chunks stop after their current page.'],
    ['pause', 'Pause a job after the current page of each running chunk.'],
    ['resume', 'Resume a paused job.'],
  ] as const) {
    const cmd = jobs.command(verb).description(doc).argument('<connector>').argument('<id>');
    if (verb === 'resume') cmd.option('--wait', 'then wait until the job completes, with a progress bar');
    cmd.action(async (connector: string, id: string, o: { wait?: boolean }) => {
        const c = ctx.client();
        const job = await c.call<Job>('POST', `/connectors/${enc(connector)}/jobs/${enc(id)}/${verb}`);
        ctx.err(`${connector}: job ${id}: ${verb} requested\n`);
        // `--wait` after the subcommand is parsed by `jobs` itself (it has the same option).
        if ((o.wait || jobs.opts().wait) && verb === 'resume') {
          const done = await waitForJob(c, connector, id, ctx.waitMs(), ctx);
          ctx.out(done, () => jobsTable([done]));
          return;
        }
        ctx.out(job, () => (job ? jobsTable([job]) : ''));
      });
  }
}
