import { performance } from 'node:perf_hooks';
import {
  abortableSleep,
  topicPartitionKey,
  type ErrantRecordReporter,
  type SinkRecord,
  type SinkTask,
  type SinkTaskContext,
  type TopicPartition,
  type TopicPartitionOffset,
} from '@ferry/core';
import type { BackboneConsumer, InMessage } from '../backbone/backbone.js';
import { SerialQueue } from '../stores/atomic-file.js';
import { backoffDelay } from './backoff.js';
import { asError, isRetriable, TaskRunnerBase, type TaskRunnerDeps } from './task-runner-base.js';
import type { Stage } from './error-handling.js';

/** How many consumed messages stay findable for late errant-record reports. */
const RECENT_MESSAGES = 10_000;
/** How long without records before an empty put(). */
const IDLE_PUT_MS = 1000;

export interface SinkRunnerDeps extends TaskRunnerDeps {
  task: SinkTask;
  consumer: BackboneConsumer;
  subscription: { topics?: string[]; pattern?: RegExp };
  /** The consumer group (`connect-<name>`). */
  groupId: string;
  /** How often preCommit() runs and consumer offsets are committed. */
  commitIntervalMs: number;
}

/**
 * Drives one sink task: consume (group `connect-<name>`), convert,
 * transform, put(), and commit consumer offsets only for what preCommit()
 * says is durable, never ahead.
 */
export class SinkTaskRunner extends TaskRunnerBase {
  private readonly task: SinkTask;
  private readonly queue = new SerialQueue();
  private assigned: TopicPartition[] = [];
  /** Next offset to read per partition, for records handed to put(). */
  private readonly consumed = new Map<string, TopicPartitionOffset>();
  private readonly committed = new Map<string, number>();
  private readonly taskPaused = new Set<string>();
  private commitRequested = false;
  private lastCommit = Date.now();
  private commitTimer: NodeJS.Timeout | undefined;
  /** Recently consumed batches, for errant records reported after put() returned. */
  private readonly recent: InMessage[][] = [];
  private recentCount = 0;
  private lastPut = Date.now();
  private failed = false;
  private started: Promise<void> | undefined;
  /** Consecutive failed offset commits, and when the first of them happened. */
  private commitFailures = 0;
  private commitFailingSince = 0;

  constructor(private readonly kdeps: SinkRunnerDeps) {
    super(kdeps);
    this.task = kdeps.task;
  }

  start(): void {
    this.started = this.run();
  }

  private context(): SinkTaskContext {
    const self = this;
    const reporter: ErrantRecordReporter = {
      async report(record: SinkRecord, error: Error) {
        const consumed = self.findConsumed(record);
        await self.reportFailure(error, 'TASK_PUT', { record, consumed });
      },
    };
    return {
      connectorName: this.deps.connector,
      taskId: this.deps.taskId,
      logger: this.deps.logger,
      signal: this.abort.signal,
      assignment: () => [...this.assigned],
      pause: (tps) => {
        for (const tp of tps) this.taskPaused.add(topicPartitionKey(tp));
        this.kdeps.consumer.pause(tps);
      },
      resume: (tps) => {
        for (const tp of tps) this.taskPaused.delete(topicPartitionKey(tp));
        if (!this.paused) this.kdeps.consumer.resume(tps);
      },
      requestCommit: () => {
        this.commitRequested = true;
      },
      offset: (offsets) => {
        for (const o of offsets) {
          this.kdeps.consumer.seek(o);
          this.consumed.set(topicPartitionKey(o), { ...o });
        }
      },
      errantRecordReporter: reporter,
    };
  }

  private async run(): Promise<void> {
    const { consumer } = this.kdeps;
    try {
      await this.retryCall('start()', () => this.task.start(this.deps.taskConfig, this.context()));
      await this.retryCall('connect', () => consumer.connect());
      await this.retryCall('subscribe', () => consumer.subscribe(this.kdeps.subscription));
      if (this.stopping) return;
      await consumer.run({
        onAssignment: (tps) => this.queue.run(() => this.onAssignment(tps)),
        onRevoke: (tps) => this.queue.run(() => this.onRevoke(tps)),
        onBatch: (msgs, tp) => this.queue.run(() => this.onBatch(msgs, tp)),
      });
      this.setState(this.paused ? 'PAUSED' : 'RUNNING');
      this.deps.logger.info({ subscription: this.kdeps.subscription.topics ?? String(this.kdeps.subscription.pattern) }, 'Sink task started');
      this.commitTimer = setInterval(() => {
        if (Date.now() - this.lastCommit >= this.kdeps.commitIntervalMs) void this.queue.run(() => this.commit());
        if (Date.now() - this.lastPut >= IDLE_PUT_MS) void this.queue.run(() => this.idlePut());
      }, Math.min(1000, this.kdeps.commitIntervalMs));
      this.commitTimer.unref();
    } catch (err) {
      if (!this.stopping) this.failHard(err);
    }
  }

  private async onAssignment(tps: TopicPartition[]): Promise<void> {
    if (this.failed || this.stopping) return;
    const now = new Set(tps.map(topicPartitionKey));
    const before = new Set(this.assigned.map(topicPartitionKey));
    const revoked = this.assigned.filter((tp) => !now.has(topicPartitionKey(tp)));
    const added = tps.filter((tp) => !before.has(topicPartitionKey(tp)));
    try {
      if (revoked.length) {
        await this.task.close?.(revoked);
        for (const tp of revoked) {
          this.consumed.delete(topicPartitionKey(tp));
          this.committed.delete(topicPartitionKey(tp));
        }
      }
      this.assigned = [...tps];
      if (added.length) await this.task.open?.(added);
      for (const tp of added) this.noteTopic(tp.topic);
      if (this.paused) this.kdeps.consumer.pause(tps);
    } catch (err) {
      this.failHard(err);
    }
  }

  /** Before another member can get them: commit what is durable of these partitions, then close() them. */
  private async onRevoke(tps: TopicPartition[]): Promise<void> {
    if (this.failed) return;
    const gone = new Set(tps.map(topicPartitionKey));
    try {
      await this.commit(gone);
      await this.task.close?.(tps);
    } catch (err) {
      this.failHard(err);
      return;
    }
    this.assigned = this.assigned.filter((tp) => !gone.has(topicPartitionKey(tp)));
    for (const k of gone) {
      this.consumed.delete(k);
      this.committed.delete(k);
    }
  }

  private async onBatch(msgs: InMessage[], tp: TopicPartition): Promise<void> {
    if (this.failed || this.stopping) return;
    const tpKey = topicPartitionKey(tp);
    const seekTo = this.consumed.get(tpKey);
    // Messages before a position the task sought to (exactly-once sinks) were already written.
    const fresh = !seekTo || msgs[0]!.offset >= seekTo.offset ? msgs : msgs.filter((m) => m.offset >= seekTo.offset);
    if (fresh.length === 0) return;
    this.deps.metrics.sinkRecordRead.inc(this.labels, fresh.length);
    try {
      const records: SinkRecord[] = [];
      this.remember(fresh);
      for (const m of fresh) {
        const r = this.toRecord(m);
        if (r === null) continue;
        if ('failed' in r) {
          await this.reportFailure(r.failed, r.stage, { consumed: m });
          continue;
        }
        records.push(r);
      }
      if (records.length) await this.put(records);
      const last = fresh[fresh.length - 1]!;
      this.consumed.set(tpKey, { topic: tp.topic, partition: tp.partition, offset: last.offset + 1 });
      if (this.commitRequested || Date.now() - this.lastCommit >= this.kdeps.commitIntervalMs) await this.commit();
    } catch (err) {
      this.failHard(err);
    }
  }

  /** Converts and transforms one message: the record, null (dropped by a transform) or the failure. Synchronous: the hot path. */
  private toRecord(m: InMessage): SinkRecord | null | { failed: unknown; stage: Stage } {
    const { key: kc, value: vc } = this.deps.converters;
    let key, value, headers;
    try {
      key = kc.toConnectData(m.topic, m.key);
    } catch (err) {
      return { failed: err, stage: 'KEY_CONVERTER' };
    }
    try {
      value = vc.toConnectData(m.topic, m.value);
    } catch (err) {
      return { failed: err, stage: 'VALUE_CONVERTER' };
    }
    try {
      headers = this.convertHeadersIn(m.topic, m.headers);
    } catch (err) {
      return { failed: err, stage: 'HEADER_CONVERTER' };
    }
    const record: SinkRecord = {
      topic: m.topic,
      kafkaPartition: m.partition,
      kafkaOffset: m.offset,
      keySchema: key.schema,
      key: key.value,
      valueSchema: value.schema,
      value: value.value,
      timestamp: m.timestamp,
      timestampType: m.timestampType,
      headers,
    };
    const t = this.transformOne(record);
    if (t !== null && 'failed' in t) return { failed: t.failed, stage: 'TRANSFORMATION' };
    return t;
  }

  /** Keeps recent batches so errant records reported after put() returned still find their original message. */
  private remember(batch: InMessage[]): void {
    this.recent.push(batch);
    this.recentCount += batch.length;
    while (this.recentCount - this.recent[0]!.length >= RECENT_MESSAGES) this.recentCount -= this.recent.shift()!.length;
  }

  /** The consumed message behind a record (a router may have renamed its topic, so partition and offset decide). */
  private findConsumed(record: SinkRecord): InMessage | undefined {
    let fallback: InMessage | undefined;
    for (let i = this.recent.length - 1; i >= 0; i--) {
      const b = this.recent[i]!;
      const first = b[0]!;
      const last = b[b.length - 1]!;
      if (first.partition !== record.kafkaPartition || record.kafkaOffset < first.offset || record.kafkaOffset > last.offset) continue;
      const m = b.find((x) => x.offset === record.kafkaOffset);
      if (!m) continue;
      if (m.topic === record.topic) return m;
      fallback ??= m;
    }
    return fallback;
  }

  /**
   * put([]) when no records came for a while, as Kafka Connect does: a task
   * that buffers can then flush, and report an unreachable target (shown in
   * the status) even while the topic is quiet.
   */
  private async idlePut(): Promise<void> {
    if (this.failed || this.stopping || this.paused || this.assigned.length === 0 || Date.now() - this.lastPut < IDLE_PUT_MS) return;
    this.lastPut = Date.now();
    try {
      await this.task.put([]);
      if (this.detail.message && this.commitFailures === 0) this.setWaiting(undefined);
    } catch (err) {
      if (isRetriable(err)) this.setWaiting(`Waiting: ${(err as Error).message}`);
      else this.failHard(err);
    }
  }

  /** put() with retries for retriable failures (the same records are redelivered), as long as the task runs. */
  private async put(records: SinkRecord[]): Promise<void> {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      const t0 = performance.now();
      try {
        this.lastPut = Date.now();
        await this.task.put(records);
        this.deps.metrics.putBatchSeconds.observe(this.labels, (performance.now() - t0) / 1000);
        this.deps.metrics.sinkRecordSend.inc(this.labels, records.length);
        if (attempt > 1) this.setWaiting(undefined);
        return;
      } catch (err) {
        if (!isRetriable(err) || this.stopping || this.retryTimedOut(started)) throw err;
        const delay = backoffDelay(attempt, 200, this.deps.retryMaxDelayMs ?? 30000);
        this.deps.metrics.retries.inc(this.labels);
        this.setWaiting(`Retrying put() of ${records.length} records in ${delay} ms after: ${(err as Error).message}`);
        this.deps.logger.warn({ attempt, delay, err: (err as Error).message }, 'Retriable failure in put()');
        await abortableSleep(delay, this.abort.signal);
        if (this.stopping) throw err;
      }
    }
  }

  /** Asks the task what is durable and commits exactly that (of `only`, when given). */
  private async commit(only?: Set<string>): Promise<void> {
    if (!only) {
      this.commitRequested = false;
      this.lastCommit = Date.now();
    }
    if (this.failed || this.assigned.length === 0) return;
    const assigned = new Set(this.assigned.map(topicPartitionKey).filter((k) => !only || only.has(k)));
    if (assigned.size === 0) return;
    const current = [...this.consumed.values()].filter((o) => assigned.has(topicPartitionKey(o)));
    const t0 = performance.now();
    try {
      let safe: TopicPartitionOffset[];
      if (this.task.preCommit) safe = await this.task.preCommit(current.map((o) => ({ ...o })));
      else {
        await this.task.flush?.(current.map((o) => ({ ...o })));
        safe = current;
      }
      const toCommit = safe.filter((o) => assigned.has(topicPartitionKey(o)) && o.offset > (this.committed.get(topicPartitionKey(o)) ?? -1));
      if (toCommit.length > 0) {
        await this.kdeps.consumer.commit(toCommit);
        for (const o of toCommit) this.committed.set(topicPartitionKey(o), o.offset);
        this.deps.metrics.offsetCommitSuccess.inc(this.labels);
        this.deps.metrics.offsetCommitSeconds.observe(this.labels, (performance.now() - t0) / 1000);
      }
      if (this.commitFailures > 0) {
        this.commitFailures = 0;
        this.setWaiting(undefined);
      }
    } catch (err) {
      this.deps.metrics.offsetCommitFailure.inc(this.labels);
      if (!isRetriable(err)) return this.failHard(err);
      // e.g. a rebalance in progress or the broker away: retried with backoff (the next commit
      // carries these offsets), shown in the status, and failing the task after errors.retry.timeout.
      if (this.commitFailures++ === 0) this.commitFailingSince = Date.now();
      if (this.retryTimedOut(this.commitFailingSince)) {
        return this.failHard(new Error(`Offset commit failed ${this.commitFailures} times over ${Date.now() - this.commitFailingSince} ms: ${(err as Error).message}`, { cause: err }));
      }
      const delay = backoffDelay(this.commitFailures, 200, this.deps.retryMaxDelayMs ?? 30000);
      // the periodic timer runs the next commit once `delay` has passed
      this.lastCommit = Date.now() - this.kdeps.commitIntervalMs + delay;
      this.deps.metrics.retries.inc(this.labels);
      this.setWaiting(`Offset commit failed (${this.commitFailures} in a row); retrying in ${delay} ms after: ${(err as Error).message}`);
      this.deps.logger.warn({ attempt: this.commitFailures, delay, err: (err as Error).message }, 'Offset commit failed; will retry');
    }
  }

  private failHard(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.fail(asError(err));
    // Stop fetching; offsets past the failure are never committed.
    void this.kdeps.consumer.disconnect().catch(() => undefined);
  }

  protected override onPause(): void {
    this.kdeps.consumer.pause(this.assigned);
  }

  protected override onResume(): void {
    this.kdeps.consumer.resume(this.assigned.filter((tp) => !this.taskPaused.has(topicPartitionKey(tp))));
  }

  /** Stops gracefully: a last preCommit/commit, close(), stop(). */
  async stop(timeoutMs: number): Promise<boolean> {
    this.stopping = true;
    this.abort.abort();
    this.wakeWaiters();
    if (this.commitTimer) clearInterval(this.commitTimer);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), timeoutMs);
    });
    const graceful = (async () => {
      await this.started;
      await this.queue.run(async () => {
        if (!this.failed) {
          this.stopping = false; // let the final commit run
          try {
            await this.commit();
          } finally {
            this.stopping = true;
          }
          if (this.assigned.length) await this.task.close?.(this.assigned);
        }
      });
      return 'done' as const;
    })().catch((err) => {
      this.deps.logger.warn({ err: (err as Error).message }, 'Final commit failed');
      return 'done' as const;
    });
    const outcome = await Promise.race([graceful, timeout]);
    clearTimeout(timer);
    try {
      await Promise.race([this.task.stop(), abortableSleep(timeoutMs)]);
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'Sink task stop() failed');
    }
    await this.kdeps.consumer.disconnect().catch(() => undefined);
    if (this.state !== 'FAILED') this.setState('UNASSIGNED');
    return outcome === 'done';
  }
}
