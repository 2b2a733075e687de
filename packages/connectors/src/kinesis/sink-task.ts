import { PutRecordsCommand, type KinesisClient, type KinesisClientConfig, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import {
  ConnectError,
  DataError,
  NotConnectedError,
  topicPartitionKey,
  type Logger,
  type SinkRecord,
  type SinkTask,
  type SinkTaskContext,
  type TaskConfig,
  type TopicPartition,
  type TopicPartitionOffset,
} from '@ferry/core';
import { backoffWithJitter, createKinesisClient, describeError, isConnectionError, isThrottle } from './client.js';
import { MAX_RECORD_BYTES, MAX_REQUEST_BYTES, SinkConfig, type SinkSettings } from './sink-config.js';
import {
  Deque,
  OffsetTracker,
  encodeValue,
  explicitHashKeyOf,
  partitionKeyOf,
  recordRef,
  type TrackEntry,
} from './sink-records.js';

const THROTTLE_LOG_INTERVAL_MS = 10_000;

interface Pending {
  ref: string;
  tp: string;
  entry: TrackEntry;
  key: string;
  entryData: PutRecordsRequestEntry;
  size: number;
  /** Failed attempts other than throttling. */
  attempts: number;
  throttles: number;
  notBefore: number;
  lastError?: string;
}

interface KeyQueue {
  items: Deque<Pending>;
  /** The head is in a request being sent: nothing else of this key may go until it is settled. */
  inFlight: boolean;
}

interface Waiter {
  ready: () => boolean;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** Counters a task exposes; the runtime may publish them. */
export interface KinesisSinkMetrics {
  requests: number;
  recordsSent: number;
  /** Records rejected by PutRecords for any reason (each attempt counts). */
  recordsFailed: number;
  /** Records rejected because of throttling (each attempt counts). */
  throttled: number;
  /** Requests that failed as a whole (network, throttling, 5xx). */
  requestErrors: number;
  reported: number;
  ignoredNulls: number;
  buffered: number;
  bufferedBytes: number;
  /** Highest number of records buffered at once. */
  peakBuffered: number;
  /** Times put() had to wait for room in the buffer. */
  backpressureWaits: number;
  /** Times the buffer stayed full past max.put.wait.ms and consumption was paused. */
  backpressurePauses: number;
}

export interface KinesisSinkTaskOptions {
  clientConfig?: Partial<KinesisClientConfig>;
  configureClient?: (client: KinesisClient) => void;
}

/**
 * Writes records to a stream with PutRecords.
 *
 * Ordering: records are queued per partition key, and a key has at most one
 * record in flight. The next record of a key is sent only after the previous
 * one was accepted, so a failed (throttled) record is never overtaken by a
 * later record of the same key, across retries and across concurrent
 * requests (PutRecords itself does not promise order within a request).
 * Requests are filled with the heads of many keys, so throughput comes from
 * key diversity.
 *
 * Memory: at most `max.buffered.records` records / `max.buffered.bytes` bytes
 * are held; put() waits for room, which slows consumption while Kinesis
 * throttles instead of growing without bound. A wait longer than
 * `max.put.wait.ms` turns into a pause of the task's partitions (see
 * waitForRoom), so the consumer keeps its group membership.
 */
export class KinesisSinkTask implements SinkTask {
  client: KinesisClient | undefined;
  private cfg!: SinkSettings;
  private ctx!: SinkTaskContext;
  private log!: Logger;
  private tracker = new OffsetTracker();
  private keys = new Map<string, KeyQueue>();
  /** Keys whose head can be sent, in the order they became ready (value: since when). */
  private ready = new Map<string, number>();
  private buffered = 0;
  private bufferedBytes = 0;
  private inFlight = 0;
  private pauseUntil = 0;
  private fatal: Error | undefined;
  private closedTps = new Set<string>();
  private pausedForRoom = false;
  private urgent = 0;
  private waiters: Waiter[] = [];
  private wake: (() => void) | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  private sender: Promise<void> | undefined;
  private stopping = new AbortController();
  private lastThrottleLog = 0;
  private throttledSinceLog = 0;
  private readonly counters: KinesisSinkMetrics = {
    requests: 0,
    recordsSent: 0,
    recordsFailed: 0,
    throttled: 0,
    requestErrors: 0,
    reported: 0,
    ignoredNulls: 0,
    buffered: 0,
    bufferedBytes: 0,
    peakBuffered: 0,
    backpressureWaits: 0,
    backpressurePauses: 0,
  };

  constructor(private readonly options: KinesisSinkTaskOptions = {}) {}

  async start(config: TaskConfig, context: SinkTaskContext): Promise<void> {
    this.cfg = SinkConfig.parse(config);
    this.ctx = context;
    this.log = context.logger;
    this.client = createKinesisClient(this.cfg, this.options.clientConfig);
    this.options.configureClient?.(this.client);
    this.sender = this.senderLoop();
    this.log.info({ stream: this.cfg['kinesis.stream'] }, 'Kinesis sink task started');
  }

  async open(partitions: TopicPartition[]): Promise<void> {
    for (const tp of partitions) this.closedTps.delete(topicPartitionKey(tp));
    this.tracker.forget(partitions);
    if (this.pausedForRoom) this.ctx.pause(partitions);
  }

  async put(records: SinkRecord[]): Promise<void> {
    this.throwIfFailed();
    for (const r of records) {
      const entry = this.tracker.track(r);
      let p: Pending | undefined;
      try {
        p = this.prepare(r, entry);
      } catch (err) {
        await this.reject(r, err as Error);
        entry.done = true;
        continue;
      }
      if (!p) {
        entry.done = true;
        continue;
      }
      await this.waitForRoom(p.size);
      this.enqueue(p);
    }
    this.notify();
  }

  async flush(_offsets: TopicPartitionOffset[]): Promise<void> {
    await this.until(() => this.buffered === 0);
  }

  async preCommit(offsets: TopicPartitionOffset[]): Promise<TopicPartitionOffset[]> {
    return this.tracker.safeOffsets(offsets);
  }

  async close(partitions: TopicPartition[]): Promise<void> {
    const closing = new Set(partitions.map((tp) => topicPartitionKey(tp)));
    for (const k of closing) this.closedTps.add(k);
    // Queued records of these partitions are dropped (their new owner reads them again from the committed offset);
    // records already in flight are waited for, so they cannot land after the new owner's.
    for (const [key, q] of this.keys) {
      const head = q.inFlight ? q.items.peek() : undefined;
      q.items.filter((p) => p === head || !closing.has(p.tp) || !this.release(p));
      this.afterChange(key, q);
    }
    await this.until(() => {
      for (const q of this.keys.values()) if (q.inFlight && closing.has(q.items.peek()!.tp)) return false;
      return true;
    }).catch(() => undefined);
    this.tracker.forget(partitions);
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.fail(new ConnectError('Kinesis sink task stopped'), false);
    this.notify();
    await this.sender;
    this.client?.destroy();
  }

  /** Counters since the task started (requests, throttling, buffer use). */
  metrics(): KinesisSinkMetrics {
    return { ...this.counters, buffered: this.buffered, bufferedBytes: this.bufferedBytes };
  }

  // ---- records in -----------------------------------------------------------

  private prepare(r: SinkRecord, entry: TrackEntry): Pending | undefined {
    if (r.value === null || r.value === undefined) {
      if (this.cfg['behavior.on.null.values'] === 'ignore') {
        this.counters.ignoredNulls++;
        return undefined;
      }
      throw new DataError(`Record ${recordRef(r)} has a null value (behavior.on.null.values=fail)`);
    }
    const key = partitionKeyOf(r, this.cfg['kinesis.partition.key.field']);
    const ehk = explicitHashKeyOf(r, this.cfg['kinesis.explicit.hash.key.field']);
    const data = encodeValue(r.value);
    const size = data.byteLength + Buffer.byteLength(key, 'utf8');
    if (size > MAX_RECORD_BYTES) {
      throw new DataError(`Record ${recordRef(r)} is ${size} bytes (data plus partition key); Kinesis accepts at most ${MAX_RECORD_BYTES}`);
    }
    const entryData: PutRecordsRequestEntry = { Data: data, PartitionKey: key };
    if (ehk !== undefined) entryData.ExplicitHashKey = ehk;
    return {
      ref: recordRef(r),
      tp: topicPartitionKey({ topic: r.topic, partition: r.kafkaPartition }),
      entry,
      key,
      entryData,
      size,
      attempts: 0,
      throttles: 0,
      notBefore: 0,
    };
  }

  /** The error policy: the runtime's reporter (dead-letter queue / skip) when configured, else fail the put. */
  private async reject(r: SinkRecord, err: Error): Promise<void> {
    const reporter = this.ctx.errantRecordReporter;
    if (!reporter) throw err;
    this.counters.reported++;
    this.log.warn({ record: recordRef(r) }, `Kinesis sink skipping record: ${err.message}`);
    await reporter.report(r, err);
  }

  /**
   * Waits for room in the buffer, up to `max.put.wait.ms`. Past that the
   * records are taken anyway and the task's partitions are paused until the
   * buffer drains to half, so a long throttling episode never blocks put()
   * for longer than the consumer's session allows. Memory then stays within
   * the buffer limits plus the batches already fetched.
   */
  private async waitForRoom(size: number): Promise<void> {
    const hasRoom = () =>
      this.buffered === 0 ||
      (this.buffered < this.cfg['max.buffered.records'] && this.bufferedBytes + size <= this.cfg['max.buffered.bytes']);
    if (hasRoom() || this.pausedForRoom) return;
    this.counters.backpressureWaits++;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.until(hasRoom).then(() => false),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(true), this.cfg['max.put.wait.ms']);
      }),
    ]).finally(() => clearTimeout(timer));
    if (timedOut && !hasRoom()) {
      const tps = this.ctx.assignment();
      this.pausedForRoom = true;
      this.counters.backpressurePauses++;
      this.ctx.pause(tps);
      this.log.warn(
        { buffered: this.buffered, bufferedBytes: this.bufferedBytes, partitions: tps.length },
        'Kinesis sink buffer still full; pausing consumption until it drains',
      );
    }
  }

  private resumeIfDrained(): void {
    if (!this.pausedForRoom) return;
    if (this.buffered > this.cfg['max.buffered.records'] / 2 || this.bufferedBytes > this.cfg['max.buffered.bytes'] / 2) return;
    this.pausedForRoom = false;
    this.ctx.resume(this.ctx.assignment());
    this.log.info({ buffered: this.buffered }, 'Kinesis sink buffer drained; resuming consumption');
  }

  private enqueue(p: Pending): void {
    let q = this.keys.get(p.key);
    if (!q) {
      q = { items: new Deque(), inFlight: false };
      this.keys.set(p.key, q);
    }
    q.items.push(p);
    if (q.items.length === 1 && !q.inFlight) this.ready.set(p.key, Date.now());
    this.buffered++;
    this.bufferedBytes += p.size;
    if (this.buffered > this.counters.peakBuffered) this.counters.peakBuffered = this.buffered;
  }

  // ---- sending --------------------------------------------------------------

  private async senderLoop(): Promise<void> {
    const batchSize = this.cfg['batch.size'];
    const linger = this.cfg['linger.ms'];
    const maxInFlight = this.cfg['max.in.flight.requests'];
    while (!this.fatal) {
      const now = Date.now();
      if (this.pauseUntil > now) {
        await this.sleep(this.pauseUntil - now);
        continue;
      }
      if (this.inFlight >= maxInFlight || this.ready.size === 0) {
        await this.sleep();
        continue;
      }
      const oldest = this.ready.values().next().value as number;
      const urgent = this.urgent > 0 || this.waiters.length > 0 || this.ready.size >= batchSize;
      if (!urgent && oldest + linger > now) {
        await this.sleep(oldest + linger - now);
        continue;
      }
      const { batch, retryAt } = this.buildBatch(now, batchSize);
      if (batch.length === 0) {
        await this.sleep(Math.max(1, retryAt - now));
        continue;
      }
      this.inFlight++;
      void this.send(batch).finally(() => {
        this.inFlight--;
        this.notify();
      });
    }
  }

  private buildBatch(now: number, batchSize: number): { batch: Pending[]; retryAt: number } {
    const batch: Pending[] = [];
    let bytes = 0;
    let retryAt = Infinity;
    for (const key of this.ready.keys()) {
      if (batch.length >= batchSize) break;
      const q = this.keys.get(key)!;
      const p = q.items.peek()!;
      if (p.notBefore > now) {
        retryAt = Math.min(retryAt, p.notBefore);
        continue;
      }
      if (bytes + p.size > MAX_REQUEST_BYTES) break;
      batch.push(p);
      bytes += p.size;
      q.inFlight = true;
      this.ready.delete(key);
    }
    return { batch, retryAt };
  }

  private async send(batch: Pending[]): Promise<void> {
    this.counters.requests++;
    let results;
    try {
      const out = await this.client!.send(
        new PutRecordsCommand({ StreamName: this.cfg['kinesis.stream'], Records: batch.map((p) => p.entryData) }),
        { abortSignal: this.stopping.signal },
      );
      results = out.Records ?? [];
    } catch (err) {
      if (this.stopping.signal.aborted) return;
      this.counters.requestErrors++;
      const throttled = isThrottle(err);
      if (throttled) this.pauseUntil = Date.now() + backoffWithJitter(this.cfg['retry.backoff.ms'], 2, this.cfg['retry.backoff.max.ms']);
      for (const p of batch) this.retry(p, throttled, describeError(err), err);
      this.logThrottle(throttled ? batch.length : 0, err);
      return;
    }
    let throttledCount = 0;
    let firstError: string | undefined;
    batch.forEach((p, i) => {
      const r = results[i];
      if (r && !r.ErrorCode && r.SequenceNumber) {
        this.accepted(p);
        return;
      }
      this.counters.recordsFailed++;
      const code = r?.ErrorCode ?? 'MissingResult';
      const throttled = isThrottle({ name: code });
      if (throttled) throttledCount++;
      const msg = `${code}: ${r?.ErrorMessage ?? 'no result for this record'}`;
      firstError ??= msg;
      this.retry(p, throttled, msg);
    });
    if (throttledCount === batch.length) {
      this.pauseUntil = Date.now() + backoffWithJitter(this.cfg['retry.backoff.ms'], 1, this.cfg['retry.backoff.max.ms']);
    }
    if (throttledCount > 0) this.logThrottle(throttledCount, firstError);
    else if (firstError) this.log.warn({ failed: batch.length - this.countAccepted(batch) }, `Kinesis PutRecords partial failure: ${firstError}`);
  }

  private countAccepted(batch: Pending[]): number {
    return batch.filter((p) => p.entry.done).length;
  }

  private accepted(p: Pending): void {
    p.entry.done = true;
    this.counters.recordsSent++;
    const q = this.keys.get(p.key)!;
    q.items.shift();
    q.inFlight = false;
    this.buffered--;
    this.bufferedBytes -= p.size;
    this.afterChange(p.key, q);
  }

  private retry(p: Pending, throttled: boolean, message: string, cause?: unknown): void {
    const q = this.keys.get(p.key)!;
    q.inFlight = false;
    if (this.closedTps.has(p.tp)) {
      // Its partition was revoked meanwhile: the new owner sends it.
      q.items.shift();
      this.release(p);
      this.afterChange(p.key, q);
      return;
    }
    p.lastError = message;
    const base = this.cfg['retry.backoff.ms'];
    const max = this.cfg['retry.backoff.max.ms'];
    if (throttled) {
      p.throttles++;
      this.counters.throttled++;
      p.notBefore = Date.now() + backoffWithJitter(base, p.throttles - 1, max);
    } else {
      p.attempts++;
      if (p.attempts > this.cfg['max.retries']) {
        const msg = `Kinesis rejected record ${p.ref} (partition key ${JSON.stringify(p.key)}) ${p.attempts} times; last error: ${message}`;
        this.fail(isConnectionError(cause) ? new NotConnectedError(msg, { cause }) : new ConnectError(msg, { cause }));
        return;
      }
      p.notBefore = Date.now() + backoffWithJitter(base, p.attempts - 1, max);
    }
    this.afterChange(p.key, q);
  }

  /** Drops a queued record from the buffer accounting (its entry stays not done). Returns true. */
  private release(p: Pending): boolean {
    this.buffered--;
    this.bufferedBytes -= p.size;
    return true;
  }

  private afterChange(key: string, q: KeyQueue): void {
    if (q.items.length === 0) {
      this.keys.delete(key);
      this.ready.delete(key);
    } else if (!q.inFlight && !this.ready.has(key)) {
      this.ready.set(key, Date.now());
    }
    this.resumeIfDrained();
    this.settleWaiters();
    this.notify();
  }

  private logThrottle(count: number, err: unknown): void {
    if (count === 0) {
      this.log.warn({ inFlight: this.inFlight }, `Kinesis PutRecords failed: ${typeof err === 'string' ? err : describeError(err)}`);
      return;
    }
    this.throttledSinceLog += count;
    const now = Date.now();
    if (now - this.lastThrottleLog >= THROTTLE_LOG_INTERVAL_MS) {
      this.log.warn(
        { throttled: this.throttledSinceLog, totalThrottled: this.counters.throttled, buffered: this.buffered },
        `Kinesis writes throttled; backing off: ${typeof err === 'string' ? err : describeError(err)}`,
      );
      this.lastThrottleLog = now;
      this.throttledSinceLog = 0;
    }
  }

  // ---- waiting ----------------------------------------------------------------

  private throwIfFailed(): void {
    if (this.fatal) throw this.fatal;
  }

  private fail(err: Error, log = true): void {
    if (this.fatal) return;
    this.fatal = err;
    if (log) this.log.error({ err: err.message }, 'Kinesis sink task failed');
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(err);
  }

  /** Resolves when `ready()` holds; sends without lingering meanwhile. */
  private until(ready: () => boolean): Promise<void> {
    if (this.fatal) return Promise.reject(this.fatal);
    if (ready()) return Promise.resolve();
    this.urgent++;
    this.notify();
    return new Promise<void>((resolve, reject) => this.waiters.push({ ready, resolve, reject })).finally(() => {
      this.urgent--;
    });
  }

  private settleWaiters(): void {
    if (this.waiters.length === 0) return;
    this.waiters = this.waiters.filter((w) => {
      if (!w.ready()) return true;
      w.resolve();
      return false;
    });
  }

  private sleep(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      if (ms !== undefined && Number.isFinite(ms)) this.wakeTimer = setTimeout(() => this.notify(), ms);
    });
  }

  private notify(): void {
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}
