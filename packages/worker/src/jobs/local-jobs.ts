/**
 * Without a job queue: the chunks of a job run one after another inside the
 * submitting task's process, through the same executor (so a restart resumes
 * each chunk exactly where its last transaction left it).
 */
import type { ChunkedWorkSpec, ChunkJobHandle, ChunkJobs, ChunkJobStatus } from '@ferry/core';
import { abortableSleep } from '@ferry/core';
import type { ChunkExecutor } from './chunk-executor.js';
import { finishedAt, safeId, summarize, type ChunkProgress, type JobsFacility, type SubmitterSpec } from './jobs-facility.js';

interface LocalJob {
  id: string;
  spec: ChunkedWorkSpec;
  chunks: ChunkProgress[];
  flag: 'running' | 'paused' | 'cancelled';
  abort: AbortController;
  resumed?: () => void;
  flagChangedAt?: number;
}

export class LocalJobs implements JobsFacility {
  readonly distributed = false;
  private readonly jobs = new Map<string, Map<string, LocalJob>>();

  constructor(
    private readonly executor: ChunkExecutor,
    private readonly opts: { attempts: number; backoffMs: number; retentionMs?: number; metrics: import('../metrics.js').WorkerMetrics },
  ) {}

  async start(): Promise<void> {}

  private byConnector(connector: string): Map<string, LocalJob> {
    let m = this.jobs.get(connector);
    if (!m) this.jobs.set(connector, (m = new Map()));
    return m;
  }

  forTask(spec: SubmitterSpec): ChunkJobs {
    return {
      distributed: false,
      submit: async (work: ChunkedWorkSpec): Promise<ChunkJobHandle> => {
        const id = safeId(work.key);
        this.prune(spec.connector);
        const jobs = this.byConnector(spec.connector);
        const prev = jobs.get(id);
        if (prev && !prev.abort.signal.aborted) return this.handle(spec.connector, prev);
        const job: LocalJob = {
          id,
          spec: work,
          chunks: work.chunks.map(() => ({ state: 'waiting', rows: 0 })),
          flag: 'running',
          abort: new AbortController(),
        };
        spec.signal.addEventListener('abort', () => job.abort.abort(), { once: true });
        jobs.set(id, job);
        void this.runAll(spec, job);
        return this.handle(spec.connector, job);
      },
    };
  }

  private handle(connector: string, job: LocalJob): ChunkJobHandle {
    return {
      id: job.id,
      status: async () => this.status(job),
      cancel: async () => void (await this.cancel(connector, job.id)),
      forget: async () => {
        if (this.jobs.get(connector)?.get(job.id) === job) this.jobs.get(connector)!.delete(job.id);
      },
    };
  }

  private status(job: LocalJob): ChunkJobStatus {
    return summarize(job.id, job.spec.work, job.spec.chunks, job.chunks, job.flag);
  }

  private async runAll(spec: SubmitterSpec, job: LocalJob): Promise<void> {
    const signal = job.abort.signal;
    const labels = { connector: spec.connector };
    for (let i = 0; i < job.spec.chunks.length && !signal.aborted; i++) {
      const c = job.chunks[i]!;
      for (let attempt = 1; !signal.aborted; attempt++) {
        while (job.flag === 'paused' && !signal.aborted) {
          await new Promise<void>((r) => {
            job.resumed = r;
            signal.addEventListener('abort', () => r(), { once: true });
          });
        }
        c.state = 'running';
        c.startedAt ??= Date.now();
        this.opts.metrics.jobChunksActive.inc(labels);
        try {
          c.rows = await this.executor.run(
            { connector: spec.connector, connectorClass: spec.connectorClass, config: spec.config, taskConfig: spec.taskConfig, jobId: job.id, index: i, work: job.spec.work, chunk: job.spec.chunks[i]!.chunk, ...(job.spec.chunks[i]!.id ? { chunkId: job.spec.chunks[i]!.id } : {}), ...(spec.taskId === undefined ? {} : { taskId: spec.taskId }) },
            {
              attempt,
              signal,
              onProgress: (rows) => void (c.rows = rows),
              onTopic: (t) => spec.onTopic?.(t),
              checkpoint: async () => {
                if (job.flag === 'paused') throw new PausedSignal();
              },
            },
          );
          c.state = 'completed';
          c.finishedAt = Date.now();
          this.opts.metrics.jobChunks.inc({ ...labels, outcome: 'completed' });
          break;
        } catch (err) {
          if (err instanceof PausedSignal) {
            c.state = 'waiting';
            attempt--;
            continue;
          }
          if (signal.aborted) {
            c.state = 'waiting';
            this.opts.metrics.jobChunks.inc({ ...labels, outcome: 'stopped' });
            break;
          }
          this.opts.metrics.jobChunks.inc({ ...labels, outcome: 'failed' });
          c.error = (err as Error).message;
          if (attempt >= this.opts.attempts) {
            c.state = 'failed';
            return;
          }
          c.state = 'waiting';
          await abortableSleep(this.opts.backoffMs * 2 ** (attempt - 1), signal);
        } finally {
          this.opts.metrics.jobChunksActive.dec(labels);
        }
      }
    }
  }

  /** Drops finished jobs past jobs.retention.ms. */
  private prune(connector: string, now = Date.now()): void {
    const m = this.jobs.get(connector);
    const keep = this.opts.retentionMs;
    if (!m || keep === undefined) return;
    for (const [id, j] of m) {
      const end = finishedAt(this.status(j).state, j.chunks, j.flagChangedAt);
      if (end !== undefined && now - end >= keep) m.delete(id);
    }
  }

  async list(connector: string): Promise<ChunkJobStatus[]> {
    this.prune(connector);
    return [...(this.jobs.get(connector)?.values() ?? [])].map((j) => this.status(j));
  }

  async cancel(connector: string, id: string): Promise<boolean> {
    const job = this.jobs.get(connector)?.get(id);
    if (!job) return false;
    job.flag = 'cancelled';
    job.flagChangedAt = Date.now();
    job.abort.abort();
    job.resumed?.();
    return true;
  }

  async pause(connector: string, id: string): Promise<boolean> {
    const job = this.jobs.get(connector)?.get(id);
    if (!job) return false;
    if (job.flag === 'running') job.flag = 'paused';
    return true;
  }

  async resume(connector: string, id: string): Promise<boolean> {
    const job = this.jobs.get(connector)?.get(id);
    if (!job) return false;
    if (job.flag === 'paused') job.flag = 'running';
    job.resumed?.();
    return true;
  }

  async forget(connector: string): Promise<void> {
    for (const id of this.jobs.get(connector)?.keys() ?? []) await this.cancel(connector, id);
    this.jobs.delete(connector);
  }

  async close(): Promise<void> {
    for (const m of this.jobs.values()) for (const j of m.values()) j.abort.abort();
  }
}

class PausedSignal extends Error {}
