import { performance } from 'node:perf_hooks';
import {
  abortableSleep,
  type ChunkJobs,
  type CommittedOffset,
  type RecordMetadata,
  type SourcePartition,
  type SourceRecord,
  type SourceTask,
  type SourceTaskContext,
  type SourceSignal,
} from '@ferry/core';
import type { OffsetStore } from '../stores/contracts.js';
import type { BackboneProducer, OutMessage } from '../backbone/backbone.js';
import { stableStringify } from '../stores/stable-json.js';
import { backoffDelay } from './backoff.js';
import { asError, isRetriable, TaskRunnerBase, type TaskRunnerDeps } from './task-runner-base.js';

export interface SourceRunnerDeps extends TaskRunnerDeps {
  task: SourceTask;
  producer: BackboneProducer;
  offsetStore: OffsetStore;
  /** How often acknowledged source offsets are written to the offset store. */
  offsetFlushIntervalMs: number;
  /** The job facility for this task's chunked work. */
  jobs?: ((signal: AbortSignal) => ChunkJobs) | undefined;
  /** Records converted but not yet acknowledged before poll() waits (backpressure). */
  maxBufferedRecords?: number;
  /** Exactly-once: records and their offsets commit in one transaction, ending per `boundary`. */
  transactions?: SourceTransactions;
}

export interface SourceTransactions {
  boundary: 'poll' | 'interval';
  intervalMs: number;
  /** Writes the offsets into the open transaction and commits it. */
  commit(offsets: CommittedOffset[]): Promise<void>;
}

const yieldToEventLoop = () => new Promise<void>((r) => setImmediate(r));

/** Keeps each produce request well under Kafka's default message.max.bytes (1 MiB). */
const MAX_REQUEST_BYTES = 768 * 1024;

function messageBytes(m: OutMessage): number {
  let n = 70 + (m.key?.length ?? 0) + (m.value?.length ?? 0);
  if (m.headers) for (const h of m.headers) n += h.key.length + (h.value?.length ?? 0) + 8;
  return n;
}

function batchBytes(ms: OutMessage[]): number {
  let n = 0;
  for (const m of ms) n += messageBytes(m);
  return n;
}

interface Batch {
  messages: OutMessage[];
  /** Records behind `messages`, same order. */
  records: SourceRecord[];
  /** Records dropped by transforms or skipped by error tolerance: no write, offsets still advance. */
  dropped: SourceRecord[];
  /** Last source offset per partition in this batch. */
  offsets: Map<string, CommittedOffset>;
  /** Exactly-once with interval boundaries: end the open transaction here. */
  endTransaction?: boolean;
}

/**
 * Drives one source task: poll, transform, convert, produce (pipelined: the
 * next poll runs while the previous batch is in flight), and flush source
 * offsets only for records the backbone acknowledged.
 */
export class SourceTaskRunner extends TaskRunnerBase {
  private readonly task: SourceTask;
  private pending: Batch[] = [];
  private buffered = 0;
  private sending: Promise<void> | null = null;
  private sendWaiters: Array<() => void> = [];
  private sendFailure: unknown;
  /** Offsets acknowledged and not yet flushed, by stable partition key. */
  private committable = new Map<string, CommittedOffset>();
  private flushing: Promise<void> | null = null;
  /** Consecutive failed writes of source offsets to the offset store (shown in the status until one succeeds). */
  private offsetFlushFailures = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  /** Set once a stop timed out: this runner must never write again (no zombie duplicates). */
  private cancelled = false;
  private readonly partitionKeys = new WeakMap<SourcePartition, string>();
  /** Exactly-once: offsets of the open transaction, and when it began. */
  private txnOffsets = new Map<string, CommittedOffset>();
  private txnStarted = 0;

  constructor(private readonly sdeps: SourceRunnerDeps) {
    super(sdeps);
    this.task = sdeps.task;
  }

  start(): void {
    this.loop = this.run();
  }

  /** Hands an operator's signal to the task; false when the task takes none. */
  async signal(s: SourceSignal): Promise<boolean> {
    if (!this.task.handleSignal) return false;
    await this.task.handleSignal(s);
    return true;
  }

  private context(): SourceTaskContext {
    const { offsetStore, connector } = this.sdeps;
    return {
      connectorName: connector,
      taskId: this.deps.taskId,
      logger: this.deps.logger,
      signal: this.abort.signal,
      ...(this.sdeps.jobs ? { jobs: this.sdeps.jobs(this.abort.signal) } : {}),
      offsetReader: {
        async offset(partition: SourcePartition) {
          return (await offsetStore.get(connector, [partition])).get(partition) ?? null;
        },
        offsets: (partitions: SourcePartition[]) => offsetStore.get(connector, partitions),
      },
    };
  }

  private async run(): Promise<void> {
    const log = this.deps.logger;
    try {
      await this.retryCall('start()', () => this.task.start(this.deps.taskConfig, this.context()));
      if (this.stopping) return;
      this.setState(this.paused ? 'PAUSED' : 'RUNNING');
      log.info('Source task started');
      this.flushTimer = setInterval(() => void this.flushOffsets(), this.sdeps.offsetFlushIntervalMs);
      this.flushTimer.unref();
      const maxBuffered = this.sdeps.maxBufferedRecords ?? 20000;
      while (!this.stopping) {
        if (this.sendFailure) throw this.sendFailure;
        if (this.paused) {
          await this.waitForResume();
          continue;
        }
        if (this.buffered >= maxBuffered) {
          await this.waitForSend();
          continue;
        }
        // A task whose poll() never waits would starve timers and sockets: yield to the event loop once per batch.
        await yieldToEventLoop();
        const t0 = performance.now();
        const records = await this.retryCall('poll()', () => this.task.poll());
        this.deps.metrics.pollBatchSeconds.observe(this.labels, (performance.now() - t0) / 1000);
        if (!records || records.length === 0) continue;
        this.deps.metrics.sourceRecordPoll.inc(this.labels, records.length);
        const batch = await this.prepare(records);
        if (batch) this.enqueue(batch);
      }
    } catch (err) {
      if (!this.stopping) this.fail(asError(err));
    }
  }

  /** Stable key of a source partition; tasks usually reuse one object per partition, so it is cached by identity. */
  private partitionKey(p: SourcePartition): string {
    let k = this.partitionKeys.get(p);
    if (k === undefined) {
      k = stableStringify(p);
      this.partitionKeys.set(p, k);
    }
    return k;
  }

  /** Transforms and converts a poll's records; failures follow the error policy. */
  private async prepare(records: SourceRecord[]): Promise<Batch | undefined> {
    const { key: kc, value: vc } = this.deps.converters;
    const batch: Batch = { messages: [], records: [], dropped: [], offsets: new Map() };
    for (const original of records) {
      if (original.sourcePartition && original.sourceOffset) {
        batch.offsets.set(this.partitionKey(original.sourcePartition), { partition: original.sourcePartition, offset: original.sourceOffset });
      }
      const t = this.transformOne(original);
      if (t === null || 'failed' in t) {
        if (t !== null) await this.reportFailure(t.failed, 'TRANSFORMATION', { record: original });
        batch.dropped.push(original);
        continue;
      }
      const r = t as SourceRecord;
      let key: Buffer | null;
      let value: Buffer | null;
      let headers: OutMessage['headers'];
      try {
        key = kc.fromConnectData(r.topic, r.keySchema, r.key, r.headers);
      } catch (err) {
        await this.reportFailure(err, 'KEY_CONVERTER', { record: r });
        batch.dropped.push(original);
        continue;
      }
      try {
        value = vc.fromConnectData(r.topic, r.valueSchema, r.value, r.headers);
      } catch (err) {
        await this.reportFailure(err, 'VALUE_CONVERTER', { record: r });
        batch.dropped.push(original);
        continue;
      }
      try {
        headers = this.convertHeadersOut(r.topic, r.headers);
      } catch (err) {
        await this.reportFailure(err, 'HEADER_CONVERTER', { record: r });
        batch.dropped.push(original);
        continue;
      }
      this.noteTopic(r.topic);
      batch.messages.push({ topic: r.topic, partition: r.kafkaPartition, key, value, headers, timestamp: r.timestamp ?? Date.now() });
      batch.records.push(original);
    }
    return batch.messages.length || batch.offsets.size ? batch : undefined;
  }

  private enqueue(batch: Batch): void {
    this.pending.push(batch);
    this.buffered += batch.messages.length;
    // Cleared in a callback attached after the assignment: sendLoop may finish without awaiting anything.
    this.sending ??= this.sendLoop().finally(() => {
      this.sending = null;
      for (const w of this.sendWaiters.splice(0)) w();
    });
  }

  private waitForSend(): Promise<void> {
    if (!this.sending) return Promise.resolve();
    return new Promise((r) => this.sendWaiters.push(r));
  }

  /** Sends pending batches one request at a time (in order), merging whatever queued meanwhile. */
  private async sendLoop(): Promise<void> {
    try {
      while (this.pending.length && !this.cancelled) {
        const batches = this.takeRequest();
        const messages = batches.length === 1 ? batches[0]!.messages : batches.flatMap((b) => b.messages);
        let metadata: RecordMetadata[] = [];
        if (messages.length) {
          metadata = await this.sendWithRetry(messages);
          if (this.cancelled) return;
        }
        let i = 0;
        if (this.sdeps.transactions) await this.transactionStep(batches);
        for (const b of batches) {
          if (!this.sdeps.transactions) for (const [k, v] of b.offsets) this.committable.set(k, v);
          if (this.task.commitRecord) {
            for (const r of b.records) this.task.commitRecord(r, metadata[i++] ?? null);
            for (const r of b.dropped) this.task.commitRecord(r, null);
          }
        }
        this.buffered -= messages.length;
        this.deps.metrics.sourceRecordWrite.inc(this.labels, messages.length);
        for (const w of this.sendWaiters.splice(0)) w();
      }
    } catch (err) {
      this.sendFailure = err;
    }
  }

  /** Exactly-once: collects the request's offsets and commits the transaction at its boundary. */
  private async transactionStep(batches: Batch[]): Promise<void> {
    const tx = this.sdeps.transactions!;
    if (this.txnOffsets.size === 0 && this.txnStarted === 0) this.txnStarted = Date.now();
    let hadOffsets = false;
    for (const b of batches) {
      for (const [k, v] of b.offsets) this.txnOffsets.set(k, v);
      hadOffsets ||= b.offsets.size > 0;
    }
    const end =
      tx.boundary === 'poll'
        ? hadOffsets || this.pending.length === 0
        : batches.some((b) => b.endTransaction) || Date.now() - this.txnStarted >= tx.intervalMs;
    if (end) await this.commitTransaction();
  }

  private async commitTransaction(): Promise<void> {
    const entries = [...this.txnOffsets.values()];
    const t0 = performance.now();
    await this.sdeps.transactions!.commit(entries);
    this.txnOffsets = new Map();
    this.txnStarted = 0;
    this.deps.metrics.offsetCommitSuccess.inc(this.labels);
    this.deps.metrics.offsetCommitSeconds.observe(this.labels, (performance.now() - t0) / 1000);
    try {
      await this.task.commit?.(entries);
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'Source task commit() failed');
    }
  }

  /**
   * The pending batches for one produce request, kept under the broker's
   * message size limit (a poll bigger than that is split).
   */
  private takeRequest(): Batch[] {
    const out: Batch[] = [];
    let bytes = 0;
    while (this.pending.length) {
      const b = this.pending[0]!;
      const size = batchBytes(b.messages);
      if (out.length > 0 && bytes + size > MAX_REQUEST_BYTES) break;
      if (out.length === 0 && size > MAX_REQUEST_BYTES && b.messages.length > 1) {
        // Split: the first part carries no offsets; the rest keeps them, so offsets advance only when all is acknowledged.
        let part = 0;
        let n = 0;
        while (n < b.messages.length - 1 && part + messageBytes(b.messages[n]!) <= MAX_REQUEST_BYTES) part += messageBytes(b.messages[n++]!);
        const head: Batch = { messages: b.messages.slice(0, Math.max(1, n)), records: b.records.slice(0, Math.max(1, n)), dropped: [], offsets: new Map() };
        b.messages = b.messages.slice(head.messages.length);
        b.records = b.records.slice(head.records.length);
        out.push(head);
        break;
      }
      out.push(this.pending.shift()!);
      bytes += size;
    }
    return out;
  }

  private async sendWithRetry(messages: OutMessage[]): Promise<RecordMetadata[]> {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      const slow = setTimeout(() => this.setWaiting(`Waiting for the backbone to acknowledge ${messages.length} records`), 5000);
      try {
        const md = await this.sdeps.producer.send(messages);
        clearTimeout(slow);
        if ((attempt > 1 || this.detail.message) && this.offsetFlushFailures === 0) this.setWaiting(undefined);
        return md;
      } catch (err) {
        clearTimeout(slow);
        if (!isRetriable(err) || this.cancelled || this.retryTimedOut(started)) throw err;
        const delay = backoffDelay(attempt, 500, this.deps.retryMaxDelayMs ?? 30000);
        this.deps.metrics.retries.inc(this.labels);
        this.setWaiting(`Waiting for the backbone to accept ${messages.length} records (retry in ${delay} ms): ${(err as Error).message}`);
        this.deps.logger.warn({ attempt, delay, err: (err as Error).message }, 'Produce failed; retrying');
        await abortableSleep(delay);
      }
    }
  }

  /** Writes acknowledged offsets to the offset store, then tells the task which are durable. */
  flushOffsets(): Promise<void> {
    if (this.sdeps.transactions) {
      // Interval boundaries end in the send loop, in order with the records.
      if (this.sdeps.transactions.boundary === 'interval' && this.txnStarted && !this.stopping && !this.cancelled) {
        this.enqueue({ messages: [], records: [], dropped: [], offsets: new Map(), endTransaction: true });
      }
      return Promise.resolve();
    }
    if (this.flushing) return this.flushing;
    if (this.committable.size === 0 || this.cancelled) return Promise.resolve();
    const snapshot = this.committable;
    this.committable = new Map();
    const entries = [...snapshot.values()];
    const t0 = performance.now();
    this.flushing = (async () => {
      try {
        await this.sdeps.offsetStore.set(this.deps.connector, entries);
        this.deps.metrics.offsetCommitSuccess.inc(this.labels);
        this.deps.metrics.offsetCommitSeconds.observe(this.labels, (performance.now() - t0) / 1000);
        if (this.offsetFlushFailures > 0) {
          this.offsetFlushFailures = 0;
          this.setWaiting(undefined);
        }
      } catch (err) {
        for (const [k, v] of snapshot) if (!this.committable.has(k)) this.committable.set(k, v);
        this.deps.metrics.offsetCommitFailure.inc(this.labels);
        this.offsetFlushFailures++;
        // Records keep flowing (they are already in Kafka); their offsets are written once the store accepts them.
        this.setWaiting(`Offset flush failed (${this.offsetFlushFailures} in a row); retrying every ${this.sdeps.offsetFlushIntervalMs} ms after: ${(err as Error).message}`);
        this.deps.logger.error({ err: (err as Error).message }, 'Failed to flush source offsets; will retry');
        return;
      }
      try {
        await this.task.commit?.(entries);
      } catch (err) {
        this.deps.logger.warn({ err: (err as Error).message }, 'Source task commit() failed');
      }
    })().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  /**
   * Stops gracefully: no more polls, in-flight records acknowledged, offsets
   * flushed (so a clean stop replays nothing). Returns false when it timed
   * out; the runner is then cancelled and never writes again.
   */
  async stop(timeoutMs: number): Promise<boolean> {
    this.stopping = true;
    this.abort.abort();
    this.wakeWaiters();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), timeoutMs);
    });
    const graceful = (async () => {
      await this.loop;
      while (this.sending) await this.sending;
      if (this.flushing) await this.flushing;
      await this.flushOffsets();
      if (this.sdeps.transactions && this.txnStarted && !this.sendFailure) await this.commitTransaction();
      return 'done' as const;
    })();
    const outcome = await Promise.race([graceful, timeout]);
    clearTimeout(timer);
    if (this.flushTimer) clearInterval(this.flushTimer);
    if (outcome === 'timeout') {
      this.cancelled = true;
      this.deps.logger.warn({ timeoutMs }, 'Source task did not stop in time; cancelled (it will write nothing more)');
    }
    try {
      await Promise.race([this.task.stop(), abortableSleep(timeoutMs)]);
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'Source task stop() failed');
    }
    await this.sdeps.producer.disconnect().catch(() => undefined);
    if (this.state !== 'FAILED') this.setState('UNASSIGNED');
    return outcome === 'done';
  }
}

