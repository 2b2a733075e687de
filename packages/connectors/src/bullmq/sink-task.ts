/**
 * Records become BullMQ jobs. Each put() adds its records with addBulk;
 * job ids are deterministic (topic-partition-offset, or the record key), and
 * BullMQ ignores an add whose id exists, so records replayed after a crash
 * (consumed again from the last committed offset) add no duplicate job.
 */
import { Queue, type JobsOptions } from 'bullmq';
import { DataError, RetriableError, type SinkRecord, type SinkTask, type SinkTaskContext, type TaskConfig } from '@ferry/core';
import { BullMqSinkConfig, type BullMqSinkOptions } from './config.js';

/** JSON-safe copy: bigints as strings, bytes as base64, dates as ISO strings. */
export function jsonSafe(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return v.toString();
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(jsonSafe);
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = jsonSafe(x);
    return out;
  }
  return v;
}

function keyText(key: unknown): string | null {
  if (key === null || key === undefined) return null;
  if (typeof key === 'string') return key;
  if (Buffer.isBuffer(key)) return key.toString('utf8');
  return JSON.stringify(jsonSafe(key));
}

/** BullMQ refuses ids with `:` and ids that look like integers. */
function safeJobId(s: string): string {
  const t = s.replace(/:/g, '_');
  return `${parseInt(t, 10)}` === t ? `k-${t}` : t;
}

function field(value: unknown, path: string): unknown {
  let cur = value;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function removal(n: number, ageS: number): JobsOptions['removeOnComplete'] {
  if (n === -1 && ageS === 0) return false;
  if (n === 0) return true;
  if (ageS === 0) return { count: n };
  return n > 0 ? { count: n, age: ageS } : { age: ageS };
}

export class BullMqSinkTask implements SinkTask {
  private cfg!: BullMqSinkOptions;
  private ctx!: SinkTaskContext;
  private queue?: Queue;
  private opts: JobsOptions = {};

  async start(config: TaskConfig, ctx: SinkTaskContext): Promise<void> {
    this.cfg = BullMqSinkConfig.parse(config);
    this.ctx = ctx;
    const c = this.cfg;
    this.opts = {
      attempts: c['job.attempts'],
      ...(c['job.backoff.ms'] > 0 ? { backoff: { type: 'exponential', delay: c['job.backoff.ms'] } } : {}),
      ...(c['job.delay.ms'] > 0 ? { delay: c['job.delay.ms'] } : {}),
      ...(c['job.priority'] > 0 ? { priority: c['job.priority'] } : {}),
      removeOnComplete: removal(c['job.remove.on.complete'], c['job.remove.on.complete.age.s']),
      removeOnFail: removal(c['job.remove.on.fail'], 0),
    };
    this.queue = new Queue(c['queue.name'], { connection: { url: c['redis.url'], maxRetriesPerRequest: null, enableOfflineQueue: true }, prefix: c['queue.prefix'] });
    this.queue.on('error', (err) => ctx.logger.warn({ err: err.message }, 'Queue connection error'));
    try {
      await this.queue.waitUntilReady();
    } catch (err) {
      throw new RetriableError(`Cannot reach Redis of queue ${c['queue.name']}: ${(err as Error).message}`, { cause: err });
    }
  }

  private jobOf(r: SinkRecord): { name: string; data: unknown; opts: JobsOptions } | null {
    const c = this.cfg;
    let name = r.topic;
    const nameField = c['job.name.field'];
    if (nameField) {
      const v = field(r.value, nameField);
      if (v === undefined || v === null || v === '') throw new DataError(`Record ${r.topic}-${r.kafkaPartition}@${r.kafkaOffset} has no value field ${nameField} (job.name.field)`);
      name = String(v);
    }
    let id: string;
    if (c['job.id.mode'] === 'key') {
      const k = keyText(r.key);
      if (k === null) throw new DataError(`Record ${r.topic}-${r.kafkaPartition}@${r.kafkaOffset} has no key (job.id.mode=key)`);
      id = safeJobId(k);
    } else id = safeJobId(`${r.topic}-${r.kafkaPartition}-${r.kafkaOffset}`);
    const data =
      c['job.data'] === 'envelope'
        ? {
            topic: r.topic,
            partition: r.kafkaPartition,
            offset: r.kafkaOffset,
            timestamp: r.timestamp ?? null,
            key: jsonSafe(r.key),
            value: jsonSafe(r.value),
            headers: (r.headers ?? []).map((h) => ({ key: h.key, value: jsonSafe(h.value) })),
          }
        : jsonSafe(r.value);
    return { name, data, opts: { ...this.opts, jobId: id } };
  }

  async put(records: SinkRecord[]): Promise<void> {
    const jobs: Array<{ name: string; data: unknown; opts: JobsOptions }> = [];
    for (const r of records) {
      try {
        const j = this.jobOf(r);
        if (j) jobs.push(j);
      } catch (err) {
        const reporter = this.ctx.errantRecordReporter;
        if (!reporter || !(err instanceof DataError)) throw err;
        await reporter.report(r, err);
      }
    }
    const n = this.cfg['batch.size'];
    for (let i = 0; i < jobs.length; i += n) {
      try {
        await this.queue!.addBulk(jobs.slice(i, i + n));
      } catch (err) {
        throw new RetriableError(`Adding jobs to queue ${this.cfg['queue.name']} failed: ${(err as Error).message}`, { cause: err });
      }
    }
  }

  /** Every put() resolved only once Redis had the jobs: nothing is buffered. */
  async flush(): Promise<void> {}

  async stop(): Promise<void> {
    const q = this.queue;
    this.queue = undefined;
    await q?.close().catch(() => undefined);
  }
}
