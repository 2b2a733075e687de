/**
 * Chunks as BullMQ jobs on Redis: every worker with `jobs.redis.url` runs a
 * BullMQ worker on the shared queue and takes chunks as it has capacity.
 * BullMQ brings the retries (exponential backoff) and the takeover of a
 * chunk whose worker died (its lock expires after `jobs.lock.duration.ms`);
 * the executor's Kafka transactions make a takeover produce nothing twice.
 *
 * A job is a Redis hash entry (its plan summary and its flag: running,
 * paused or cancelled) plus one BullMQ job per chunk, id
 * `<connector>.<job>.<index>`; resubmitting the same key adds nothing.
 */
import { Redis } from 'ioredis';
import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { ChunkedWorkSpec, ChunkJobHandle, ChunkJobs, ChunkJobStatus, ChunkPlanItem, Logger } from '@ferry/core';
import type { WorkerMetrics } from '../metrics.js';
import type { ChunkExecutor, ChunkJob } from './chunk-executor.js';
import { finishedAt, retentionSweepMs, safeId, summarize, type ChunkProgress, type JobsFacility, type SubmitterSpec } from './jobs-facility.js';

interface JobMeta {
  id: string;
  work: string;
  total: number;
  plan: Array<Omit<ChunkPlanItem, 'chunk'>>;
  flag: 'running' | 'paused' | 'cancelled';
  createdAt: number;
  /** When the flag last changed (a cancelled job's end). */
  flagChangedAt?: number;
}

export interface BullMqJobsOptions {
  url: string;
  queueName: string;
  concurrency: number;
  attempts: number;
  backoffMs: number;
  lockDurationMs: number;
  /** Finished jobs older than this are removed (jobs.retention.ms). */
  retentionMs: number;
  logger: Logger;
  metrics: WorkerMetrics;
}

/** How long a paused chunk waits before it looks at its job's flag again. */
const PAUSE_RECHECK_MS = 2000;

class PausedSignal extends Error {}

export class BullMqJobs implements JobsFacility {
  readonly distributed = true;
  private readonly queue: Queue;
  /** Job metadata (plan summary, flag) beside the queue. */
  private readonly redis: Redis;
  private worker: Worker | undefined;
  private readonly active = new Set<AbortController>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<number> | undefined;

  constructor(
    private readonly executor: ChunkExecutor,
    private readonly o: BullMqJobsOptions,
  ) {
    this.queue = new Queue(o.queueName, { connection: this.connection() });
    this.redis = new Redis(o.url, { maxRetriesPerRequest: null, lazyConnect: true });
    this.redis.on('error', (err) => o.logger.warn({ err: err.message }, 'Job metadata connection error'));
    this.queue.on('error', (err) => o.logger.warn({ err: err.message }, 'Job queue connection error'));
  }

  private connection() {
    return { url: this.o.url, maxRetriesPerRequest: null };
  }

  private metaKey(connector: string): string {
    return `ferry:jobs:${this.o.queueName}:${connector}`;
  }

  private async meta(connector: string, id: string): Promise<JobMeta | null> {
    const raw = await this.redis.hget(this.metaKey(connector), id);
    return raw ? (JSON.parse(raw) as JobMeta) : null;
  }

  private async putMeta(connector: string, meta: JobMeta): Promise<void> {
    await this.redis.hset(this.metaKey(connector), { [meta.id]: JSON.stringify(meta) });
  }

  private chunkId(connector: string, id: string, index: number): string {
    return `${safeId(connector)}.${id}.${index}`;
  }

  async start(): Promise<void> {
    await this.redis.connect();
    await this.queue.waitUntilReady();
    this.worker = new Worker(this.o.queueName, (job, token, signal) => this.process(job, token, signal), {
      connection: this.connection(),
      concurrency: this.o.concurrency,
      lockDuration: this.o.lockDurationMs,
      stalledInterval: Math.max(500, Math.floor(this.o.lockDurationMs / 2)),
      maxStalledCount: this.o.attempts,
    });
    this.worker.on('error', (err) => this.o.logger.warn({ err: err.message }, 'Job worker error'));
    this.worker.on('failed', (job, err) => {
      if (job) this.o.logger.warn({ chunk: job.id, attempt: job.attemptsMade, err: err.message }, 'Chunk attempt failed');
    });
    await this.worker.waitUntilReady();
    this.sweepTimer = setInterval(() => void this.sweep().catch((err) => this.o.logger.warn({ err: (err as Error).message }, 'Removing expired jobs failed')), retentionSweepMs(this.o.retentionMs));
    this.sweepTimer.unref();
    this.o.logger.info({ queue: this.o.queueName, concurrency: this.o.concurrency }, 'Processing chunked jobs');
  }

  private async process(job: Job, token: string | undefined, signal: AbortSignal | undefined): Promise<{ rows: number; topics: string[] }> {
    const d = job.data as ChunkJob;
    const labels = { connector: d.connector };
    const flagOf = async () => (await this.meta(d.connector, d.jobId))?.flag ?? 'cancelled';
    const check = async () => {
      const f = await flagOf();
      if (f === 'cancelled') throw new UnrecoverableError(`Job ${d.jobId} was cancelled`);
      if (f === 'paused') throw new PausedSignal();
    };
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    this.active.add(ac);
    this.o.metrics.jobChunksActive.inc(labels);
    // Topics travel in the chunk's progress and result: the submitting task's worker lists them (GET /connectors/<name>/topics).
    const topics = new Set<string>();
    let rowsSoFar = 0;
    try {
      await check();
      const rows = await this.executor.run(d, {
        attempt: job.attemptsStarted ?? job.attemptsMade + 1,
        signal: ac.signal,
        checkpoint: check,
        onProgress: (n) => job.updateProgress({ rows: (rowsSoFar = n), topics: [...topics] }),
        onTopic: (t) => {
          topics.add(t);
          return job.updateProgress({ rows: rowsSoFar, topics: [...topics] });
        },
      });
      this.o.metrics.jobChunks.inc({ ...labels, outcome: 'completed' });
      return { rows, topics: [...topics] };
    } catch (err) {
      if (err instanceof PausedSignal || (err as Error).cause instanceof PausedSignal) {
        await job.moveToDelayed(Date.now() + PAUSE_RECHECK_MS, token);
        throw new DelayedError();
      }
      this.o.metrics.jobChunks.inc({ ...labels, outcome: ac.signal.aborted ? 'stopped' : 'failed' });
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.active.delete(ac);
      this.o.metrics.jobChunksActive.dec(labels);
    }
  }

  forTask(spec: SubmitterSpec): ChunkJobs {
    return {
      distributed: true,
      submit: async (work: ChunkedWorkSpec): Promise<ChunkJobHandle> => {
        const id = safeId(work.key);
        let meta = await this.meta(spec.connector, id);
        if (meta) {
          // Resubmitted (the task restarted): chunks that ran out of attempts get another round.
          for (let i = 0; i < meta.total; i++) {
            const job = await this.queue.getJob(this.chunkId(spec.connector, id, i));
            if (job && (await job.getState()) === 'failed') await job.retry('failed').catch(() => undefined);
          }
        } else {
          meta = {
            id,
            work: work.work,
            total: work.chunks.length,
            plan: work.chunks.map((c) => ({ ...(c.estimatedRows === undefined ? {} : { estimatedRows: c.estimatedRows }), ...(c.label ? { label: c.label } : {}) })),
            flag: 'running',
            createdAt: Date.now(),
          };
          await this.putMeta(spec.connector, meta);
          // Chunks whose ids exist already (a resubmission) are left alone by BullMQ.
          await this.queue.addBulk(
            work.chunks.map((c, index) => {
              const data: ChunkJob = {
                connector: spec.connector,
                connectorClass: spec.connectorClass,
                config: spec.config,
                taskConfig: spec.taskConfig,
                jobId: id,
                index,
                work: work.work,
                chunk: c.chunk,
                ...(c.id ? { chunkId: c.id } : {}),
                ...(spec.taskId === undefined ? {} : { taskId: spec.taskId }),
              };
              return {
                name: `${spec.connector}/${work.work}`,
                data,
                opts: {
                  jobId: this.chunkId(spec.connector, id, index),
                  attempts: this.o.attempts,
                  backoff: { type: 'exponential', delay: this.o.backoffMs },
                  removeOnComplete: false,
                  removeOnFail: false,
                },
              };
            }),
          );
        }
        return {
          id,
          status: async () => (await this.status(spec.connector, id, spec.onTopic))!,
          cancel: async () => void (await this.cancel(spec.connector, id)),
          forget: () => this.remove(spec.connector, id),
        };
      },
    };
  }

  private async status(connector: string, id: string, onTopic?: (topic: string) => void): Promise<ChunkJobStatus | null> {
    const meta = await this.meta(connector, id);
    if (!meta) return null;
    return this.summary(connector, meta, onTopic);
  }

  private async summary(connector: string, meta: JobMeta, onTopic?: (topic: string) => void): Promise<ChunkJobStatus> {
    return (await this.progress(connector, meta, onTopic)).status;
  }

  private async progress(connector: string, meta: JobMeta, onTopic?: (topic: string) => void): Promise<{ status: ChunkJobStatus; chunks: ChunkProgress[] }> {
    const chunks: ChunkProgress[] = await Promise.all(
      Array.from({ length: meta.total }, async (_, i) => {
        const job = await this.queue.getJob(this.chunkId(connector, meta.id, i));
        if (!job) return { state: 'waiting', rows: 0 } as ChunkProgress;
        const st = await job.getState();
        const result = job.returnvalue as { rows?: number; topics?: string[] } | undefined;
        const progress = job.progress as { rows?: number; topics?: string[] } | undefined;
        const rows = Number(result?.rows ?? progress?.rows ?? 0);
        if (onTopic) for (const t of result?.topics ?? progress?.topics ?? []) if (typeof t === 'string') onTopic(t);
        const state: ChunkProgress['state'] = st === 'completed' ? 'completed' : st === 'failed' ? 'failed' : st === 'active' ? 'running' : 'waiting';
        return { state, rows, startedAt: job.processedOn ?? undefined, finishedAt: job.finishedOn ?? undefined, error: job.failedReason || undefined };
      }),
    );
    return { status: summarize(meta.id, meta.work, meta.plan.map((p) => ({ chunk: {}, ...p })), chunks, meta.flag), chunks };
  }

  async list(connector: string): Promise<ChunkJobStatus[]> {
    const all = await this.redis.hgetall(this.metaKey(connector));
    const metas = Object.values(all ?? {}).map((v) => JSON.parse(String(v)) as JobMeta).sort((a, b) => a.createdAt - b.createdAt);
    return Promise.all(metas.map((m) => this.summary(connector, m)));
  }

  private async setFlag(connector: string, id: string, flag: JobMeta['flag']): Promise<JobMeta | null> {
    const meta = await this.meta(connector, id);
    if (!meta) return null;
    if (meta.flag !== 'cancelled' && meta.flag !== flag) {
      meta.flag = flag;
      meta.flagChangedAt = Date.now();
    }
    await this.putMeta(connector, meta);
    return meta;
  }

  async cancel(connector: string, id: string): Promise<boolean> {
    const meta = await this.setFlag(connector, id, 'cancelled');
    if (!meta) return false;
    for (let i = 0; i < meta.total; i++) {
      const job = await this.queue.getJob(this.chunkId(connector, id, i));
      if (!job) continue;
      const st = await job.getState();
      if (st === 'waiting' || st === 'delayed' || st === 'prioritized') await job.remove().catch(() => undefined);
    }
    return true;
  }

  async pause(connector: string, id: string): Promise<boolean> {
    return (await this.setFlag(connector, id, 'paused')) !== null;
  }

  async resume(connector: string, id: string): Promise<boolean> {
    return (await this.setFlag(connector, id, 'running')) !== null;
  }

  /** Cancels a job and removes its chunk jobs and metadata; running chunks see no job any more (cancelled) at their next page. */
  private async remove(connector: string, id: string): Promise<void> {
    const meta = await this.meta(connector, id);
    if (!meta) return;
    await this.cancel(connector, id);
    for (let i = 0; i < meta.total; i++) {
      const job = await this.queue.getJob(this.chunkId(connector, id, i));
      if (job && (await job.getState()) !== 'active') await job.remove().catch(() => undefined);
    }
    await this.redis.hdel(this.metaKey(connector), id);
  }

  async forget(connector: string): Promise<void> {
    const all = await this.redis.hgetall(this.metaKey(connector));
    for (const raw of Object.values(all ?? {})) await this.remove(connector, (JSON.parse(String(raw)) as JobMeta).id);
    await this.redis.del(this.metaKey(connector));
  }

  /**
   * Removes finished jobs (completed, failed, cancelled) that ended more than
   * jobs.retention.ms ago: their metadata and chunk jobs. Every worker sweeps;
   * removals are idempotent. Resolves with the number of jobs removed.
   */
  sweep(now = Date.now()): Promise<number> {
    this.sweeping ??= (async () => {
      let removed = 0;
      const prefix = this.metaKey('');
      const pattern = prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`) + '*';
      let cursor = '0';
      do {
        const [next, keys] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 200);
        cursor = next;
        for (const key of keys) {
          const connector = key.slice(prefix.length);
          const all = await this.redis.hgetall(key);
          for (const raw of Object.values(all ?? {})) {
            const meta = JSON.parse(String(raw)) as JobMeta;
            const { status, chunks } = await this.progress(connector, meta);
            const end = finishedAt(status.state, chunks, meta.flagChangedAt);
            if (end === undefined || now - end < this.o.retentionMs) continue;
            await this.remove(connector, meta.id);
            removed++;
            this.o.logger.info({ connector, job: meta.id, state: status.state }, 'Removed a finished job past its retention');
          }
        }
      } while (cursor !== '0');
      return removed;
    })().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    for (const ac of this.active) ac.abort();
    await this.worker?.close().catch(() => undefined);
    await this.queue.close().catch(() => undefined);
    this.redis.disconnect();
  }
}
