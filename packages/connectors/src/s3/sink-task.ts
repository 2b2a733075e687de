/**
 * S3SinkTask: groups records of each Kafka partition into "batches" of
 * files (one file per encoded partition), closes a batch on flush.size,
 * record-time rotation, a schema change, the wall-clock schedule or
 * idleness, uploads closed batches, and tells the runtime to commit only
 * offsets whose records sit in fully uploaded objects.
 *
 * Boundaries are deterministic when batches close on flush.size,
 * rotate.interval.ms with record time, or schema changes: a replay from the
 * committed offset rebuilds the same batches, and each file is keyed by its
 * first record's offset, so the same keys are rewritten with the same
 * records.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import {
  DataError,
  topicPartitionKey,
  type Logger,
  type SinkRecord,
  type SinkTask,
  type SinkTaskContext,
  type TaskConfig,
  type TopicPartition,
  type TopicPartitionOffset,
} from '@ferry/core';
import { createS3Client, toConnectError } from './connection.js';
import { META_LAYOUT, createFormat, resolveFormat, type OpenFile, type SinkFormat } from './formats.js';
import { objectKey } from './keys.js';
import { createExtractor, createPartitioner, type Partitioner, type TimestampExtractor } from './partitioner.js';
import { PathFormat } from './path-format.js';
import { SinkOptions, unescapeSeparator, type SinkSettings } from './sink-config.js';
import { MemoryBudget } from './spill-buffer.js';

interface FileEntry {
  key: string;
  file: OpenFile;
}

interface Batch {
  /** Offset of the batch's first record: nothing before it is buffered. */
  start: number;
  count: number;
  baseTs?: number;
  shape?: string;
  /** Wall-clock deadline of rotate.schedule.interval.ms. */
  scheduledAt?: number;
  files: Map<string, FileEntry>;
}

interface Closed {
  start: number;
  files: FileEntry[];
  state: 'uploading' | 'done' | 'failed';
  error?: Error;
  promise?: Promise<void>;
}

interface PartitionState {
  tp: TopicPartition;
  batch?: Batch;
  closed: Closed[];
  /** Offset after the last record taken in: redelivered records below it are skipped. */
  next?: number;
  lastActivity: number;
}

/** Runs at most `n` tasks at once. */
class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly n: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.n) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/** Counters exposed for tests and metrics. */
export interface SinkStats {
  filesUploaded: number;
  recordsUploaded: number;
  bytesUploaded: number;
  spills: number;
}

export class S3SinkTask implements SinkTask {
  private cfg!: SinkSettings;
  private ctx!: SinkTaskContext;
  private log!: Logger;
  private client!: S3Client;
  private format!: SinkFormat;
  private partitioner!: Partitioner;
  private extract!: TimestampExtractor;
  private budget!: MemoryBudget;
  private sem!: Semaphore;
  private tz!: PathFormat;
  private timer: NodeJS.Timeout | undefined;
  private readonly states = new Map<string, PartitionState>();
  private needTime = false;
  private nullBehavior: 'write' | 'ignore' | 'fail' = 'write';
  readonly stats: SinkStats = { filesUploaded: 0, recordsUploaded: 0, bytesUploaded: 0, spills: 0 };

  async start(config: TaskConfig, context: SinkTaskContext): Promise<void> {
    this.cfg = SinkOptions.parse(config);
    this.ctx = context;
    this.log = context.logger;
    const cfg = this.cfg;
    const keys = cfg['store.kafka.keys'];
    const headers = cfg['store.kafka.headers'];
    this.format = createFormat({
      format: resolveFormat(cfg['format.class']) ?? 'json',
      envelope: keys || headers ? { keys, headers } : null,
      gzip: cfg['s3.compression.type'] === 'gzip',
      parquetCodec: cfg['parquet.codec'],
      separator: unescapeSeparator(cfg['format.bytearray.separator']),
    });
    this.partitioner = createPartitioner(cfg);
    this.extract = createExtractor(cfg).extract;
    this.needTime = this.partitioner.usesTime || cfg['rotate.interval.ms'] > 0;
    const envelope = keys || headers;
    this.nullBehavior = envelope ? 'write' : cfg['behavior.on.null.values'];
    if (!this.format.storesNull && this.nullBehavior === 'write') this.nullBehavior = 'ignore';
    this.budget = new MemoryBudget(cfg['s3.buffer.memory.bytes'], cfg['s3.buffer.spill.dir']);
    this.sem = new Semaphore(cfg['s3.upload.concurrency']);
    this.tz = new PathFormat('', cfg.timezone);
    this.client = createS3Client(cfg);
    const periods = [cfg['rotate.interval.ms'], cfg['rotate.schedule.interval.ms']].filter((x) => x > 0);
    if (periods.length) {
      const tick = Math.max(10, Math.min(1000, Math.floor(Math.min(...periods) / 4)));
      this.timer = setInterval(() => this.onTimer(), tick);
      this.timer.unref();
    }
  }

  async open(partitions: TopicPartition[]): Promise<void> {
    for (const tp of partitions) this.state(tp);
  }

  private state(tp: TopicPartition): PartitionState {
    const k = topicPartitionKey(tp);
    let st = this.states.get(k);
    if (!st) {
      st = { tp: { topic: tp.topic, partition: tp.partition }, closed: [], lastActivity: Date.now() };
      this.states.set(k, st);
    }
    return st;
  }

  async put(records: SinkRecord[]): Promise<void> {
    await this.retryFailed(true);
    const cfg = this.cfg;
    const flushSize = cfg['flush.size'];
    const rotateMs = cfg['rotate.interval.ms'];
    const now = Date.now();
    for (const r of records) {
      const st = this.state({ topic: r.topic, partition: r.kafkaPartition });
      if (st.next !== undefined && r.kafkaOffset < st.next) continue;
      st.lastActivity = now;
      if (r.value === null || r.value === undefined) {
        if (this.nullBehavior === 'ignore') {
          st.next = r.kafkaOffset + 1;
          continue;
        }
        if (this.nullBehavior === 'fail') {
          await this.reject(st, r, new DataError(`record ${r.topic}/${r.kafkaPartition}/${r.kafkaOffset} has a null value (behavior.on.null.values=fail)`));
          continue;
        }
      }
      let ts: number | undefined;
      let encoded: string;
      let shape: string | undefined;
      try {
        if (this.needTime) ts = this.extract(r);
        encoded = this.partitioner.encode(r, ts);
        shape = this.format.shapeOf(r);
      } catch (err) {
        await this.reject(st, r, err);
        continue;
      }
      let batch = st.batch;
      if (batch && shape !== undefined && batch.shape !== undefined && shape !== batch.shape) batch = this.closeBatch(st, 'schema change');
      if (batch && rotateMs > 0 && ts !== undefined && batch.baseTs !== undefined && ts - batch.baseTs >= rotateMs)
        batch = this.closeBatch(st, 'rotate.interval.ms');
      const fresh = !batch;
      if (!batch) batch = { start: r.kafkaOffset, count: 0, baseTs: ts, files: new Map() };
      let entry = batch.files.get(encoded);
      const newFile = !entry;
      if (!entry) entry = { key: objectKey(cfg['topics.dir'], r.topic, encoded, r.kafkaPartition, r.kafkaOffset, this.format.extension), file: this.format.open(this.budget) };
      try {
        entry.file.append(r);
      } catch (err) {
        if (newFile) entry.file.dispose();
        await this.reject(st, r, err);
        continue;
      }
      if (newFile) batch.files.set(encoded, entry);
      if (fresh) {
        st.batch = batch;
        if (cfg['rotate.schedule.interval.ms'] > 0) batch.scheduledAt = this.nextScheduled(Date.now());
      }
      if (shape !== undefined) batch.shape ??= shape;
      batch.count++;
      st.next = r.kafkaOffset + 1;
      if (batch.count >= flushSize) this.closeBatch(st, 'flush.size');
    }
    this.stats.spills = this.budget.spills;
    await this.backpressure();
  }

  /** A bad record: to the errant record reporter when there is one, else fail. */
  private async reject(st: PartitionState, r: SinkRecord, err: unknown): Promise<void> {
    const e = err instanceof DataError ? err : new DataError(`record ${r.topic}/${r.kafkaPartition}/${r.kafkaOffset} cannot be written: ${(err as Error)?.message ?? err}`, { cause: err });
    const reporter = this.ctx.errantRecordReporter;
    if (!reporter) throw e;
    await reporter.report(r, e);
    st.next = r.kafkaOffset + 1;
  }

  private nextScheduled(now: number): number {
    const every = this.cfg['rotate.schedule.interval.ms'];
    return this.tz.bucketStart(now, every) + every;
  }

  /** Closes the open batch of a partition and starts its upload. Returns undefined (no batch). */
  private closeBatch(st: PartitionState, why: string): undefined {
    const b = st.batch;
    st.batch = undefined;
    if (!b || b.files.size === 0) return undefined;
    const c: Closed = { start: b.start, files: [...b.files.values()], state: 'uploading' };
    st.closed.push(c);
    this.log.debug({ topic: st.tp.topic, partition: st.tp.partition, start: b.start, records: b.count, files: c.files.length, why }, 'closing files');
    this.upload(c);
    return undefined;
  }

  private upload(c: Closed): void {
    c.state = 'uploading';
    c.error = undefined;
    c.promise = Promise.all(c.files.map((f) => this.sem.run(() => this.uploadFile(f)))).then(
      () => {
        c.state = 'done';
        for (const f of c.files) {
          this.stats.filesUploaded++;
          this.stats.recordsUploaded += f.file.records;
          f.file.dispose();
        }
      },
      (err: unknown) => {
        c.state = 'failed';
        c.error = err as Error;
        this.log.warn({ err: (err as Error).message, start: c.start }, 'upload failed; it will be retried');
      },
    );
  }

  private async uploadFile(f: FileEntry): Promise<void> {
    const cfg = this.cfg;
    try {
      const { body, contentType } = await f.file.body();
      const up = new Upload({
        client: this.client,
        params: { Bucket: cfg['s3.bucket.name'], Key: f.key, Body: body, ContentType: contentType, Metadata: { [META_LAYOUT]: this.format.layout } },
        partSize: cfg['s3.part.size'],
        queueSize: 2,
        leavePartsOnError: false,
      });
      await up.done();
      this.stats.bytesUploaded += Buffer.isBuffer(body) ? body.length : 0;
    } catch (err) {
      throw toConnectError(err, `uploading s3://${cfg['s3.bucket.name']}/${f.key}`, cfg);
    }
  }

  /** Retries failed uploads; with `raise`, throws when one still fails. */
  private async retryFailed(raise: boolean): Promise<void> {
    const failed: Closed[] = [];
    for (const st of this.states.values()) for (const c of st.closed) if (c.state === 'failed') failed.push(c);
    if (!failed.length) return;
    for (const c of failed) this.upload(c);
    await Promise.all(failed.map((c) => c.promise));
    const still = failed.find((c) => c.state === 'failed');
    if (still && raise) throw still.error;
  }

  /** Keeps the upload backlog bounded: waits for the oldest uploads when too many are queued. */
  private async backpressure(): Promise<void> {
    const limit = this.cfg['s3.upload.concurrency'] * 4;
    for (;;) {
      const pending: Closed[] = [];
      let files = 0;
      for (const st of this.states.values())
        for (const c of st.closed)
          if (c.state === 'uploading') {
            pending.push(c);
            files += c.files.length;
          }
      if (files <= limit || !pending.length) return;
      await Promise.race(pending.map((c) => c.promise));
    }
  }

  private onTimer(): void {
    const now = Date.now();
    const rotateMs = this.cfg['rotate.interval.ms'];
    let closed = false;
    for (const st of this.states.values()) {
      const b = st.batch;
      if (!b) continue;
      if (b.scheduledAt !== undefined && now >= b.scheduledAt) {
        this.closeBatch(st, 'rotate.schedule.interval.ms');
        closed = true;
      } else if (rotateMs > 0 && now - st.lastActivity >= rotateMs) {
        this.closeBatch(st, 'idle partition (rotate.interval.ms)');
        closed = true;
      }
    }
    if (closed) this.ctx.requestCommit();
  }

  async flush(): Promise<void> {
    // Files close on their own schedule; preCommit reports what is durable.
  }

  async preCommit(offsets: TopicPartitionOffset[]): Promise<TopicPartitionOffset[]> {
    await this.retryFailed(false);
    const inflight: Array<Promise<void> | undefined> = [];
    for (const st of this.states.values()) for (const c of st.closed) if (c.state === 'uploading') inflight.push(c.promise);
    await Promise.all(inflight);
    const out: TopicPartitionOffset[] = [];
    for (const o of offsets) {
      const st = this.states.get(topicPartitionKey(o));
      if (!st) {
        out.push(o);
        continue;
      }
      while (st.closed.length && st.closed[0].state === 'done') st.closed.shift();
      let safe = o.offset;
      if (st.closed.length) safe = st.closed[0].start;
      else if (st.batch) safe = st.batch.start;
      out.push({ topic: o.topic, partition: o.partition, offset: Math.min(safe, o.offset) });
    }
    return out;
  }

  async close(partitions: TopicPartition[]): Promise<void> {
    for (const tp of partitions) {
      const k = topicPartitionKey(tp);
      const st = this.states.get(k);
      if (!st) continue;
      this.states.delete(k);
      await Promise.all(st.closed.map((c) => c.promise));
      this.discard(st);
    }
  }

  private discard(st: PartitionState): void {
    for (const f of st.batch?.files.values() ?? []) f.file.dispose();
    for (const c of st.closed) if (c.state !== 'done') for (const f of c.files) f.file.dispose();
    st.batch = undefined;
    st.closed = [];
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const inflight: Array<Promise<void> | undefined> = [];
    for (const st of this.states.values()) for (const c of st.closed) inflight.push(c.promise);
    await Promise.all(inflight);
    for (const st of this.states.values()) this.discard(st);
    this.states.clear();
    this.budget?.dispose();
    this.client?.destroy();
  }
}
