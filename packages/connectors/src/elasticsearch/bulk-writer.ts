import {
  ConnectError,
  DataError,
  NotConnectedError,
  RetriableError,
  abortableSleep,
  type ErrantRecordReporter,
  type Logger,
} from '@ferry/core';
import { BulkRequestError, type BulkClient, type BulkItemResult, type BulkResult } from './bulk-client.js';
import type { BulkAction } from './document.js';
import type { Slot } from './offset-tracker.js';
import { backoffDelay } from '@ferry/connector-kit';

export interface BulkWriterOptions {
  batchSize: number;
  bulkSizeBytes: number;
  lingerMs: number;
  maxInFlight: number;
  maxBuffered: number;
  maxRetries: number;
  retryBackoffMs: number;
  /** Keep actions on one document in order across concurrent requests (ids from record keys). */
  orderByDocument: boolean;
  onMalformed: 'ignore' | 'warn' | 'fail';
}

interface Pending {
  readonly action: BulkAction;
  readonly slot: Slot;
  readonly enqueuedAt: number;
}

/** How one bulk item ended. */
type Outcome = 'ok' | 'retry' | 'malformed' | 'fatal';

/** Item errors that say "try again later", whatever the status. */
const RETRIABLE_TYPES = new Set([
  'es_rejected_execution_exception',
  'rejected_execution_exception',
  'circuit_breaking_exception',
  'unavailable_shards_exception',
  'no_shard_available_action_exception',
  'node_not_connected_exception',
  'node_disconnected_exception',
  'process_cluster_event_timeout_exception',
  'version_conflict_engine_exception',
]);

/** Item errors caused by the document itself. */
const DOCUMENT_TYPES = new Set([
  'mapper_parsing_exception',
  'document_parsing_exception',
  'strict_dynamic_mapping_exception',
  'illegal_argument_exception',
  'json_parse_exception',
  'x_content_parse_exception',
  'parse_exception',
  'action_request_validation_exception',
  'mapper_exception',
  'document_missing_exception',
]);

export function classifyItem(item: BulkItemResult | undefined, action: BulkAction): Outcome {
  if (!item) return 'retry';
  const s = item.status;
  if (s >= 200 && s < 300) return 'ok';
  // Replays: the document already exists (data streams), or is already gone.
  if (action.create && s === 409) return 'ok';
  if (action.isDelete && s === 404 && !item.errorType) return 'ok';
  const t = item.errorType ?? '';
  if (s === 429 || s === 408 || s >= 500 || RETRIABLE_TYPES.has(t)) return 'retry';
  if (s === 400 || DOCUMENT_TYPES.has(t)) return 'malformed';
  // 401/403 (not allowed to write the index), 404 (index missing, auto-create off), ...:
  // dropping the document would lose data silently, so the task fails.
  return 'fatal';
}

const MAX_BACKOFF_MS = 5_000;

function where(a: BulkAction): string {
  return `${a.record.topic}/${a.record.kafkaPartition}@${a.record.kafkaOffset}`;
}

/**
 * Buffers bulk actions and sends them as concurrent _bulk requests. Memory
 * is bounded by `maxBuffered` records (queued plus in flight); callers wait
 * for room with {@link waitForRoom}. A failing request is retried with
 * exponential backoff, forever, so nothing accepted is ever dropped; once
 * `maxRetries` is exceeded the failure is exposed as {@link stalled} so the
 * task can tell the runtime (which then stops feeding it and shows it).
 */
export class BulkWriter {
  private queue: Pending[] = [];
  private qHead = 0;
  private queuedBytes = 0;
  private inFlight = 0;
  private readonly inFlightKeys = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private flushing = 0;
  private waiters: Array<() => void> = [];
  private readonly abort = new AbortController();
  private closed = false;
  private readonly running = new Set<Promise<void>>();
  /** Records queued or in flight. */
  buffered = 0;
  /** Set while retries are exhausted (retrying goes on); cleared by the next success. */
  stalled: ConnectError | undefined;
  /** Set when the task must fail (non-retriable answer, malformed document with policy fail). */
  fatal: Error | undefined;
  /** Counters, for logs and benchmarks. */
  readonly stats = { requests: 0, retries: 0, acked: 0, malformed: 0 };

  constructor(
    private readonly client: () => Promise<BulkClient>,
    private readonly opts: BulkWriterOptions,
    private readonly logger: Logger,
    private readonly reporter: ErrantRecordReporter | undefined,
  ) {}

  get queued(): number {
    return this.queue.length - this.qHead;
  }

  add(action: BulkAction, slot: Slot): void {
    this.queue.push({ action, slot, enqueuedAt: Date.now() });
    this.queuedBytes += action.bytes;
    this.buffered++;
    if (this.queued >= this.opts.batchSize || this.queuedBytes >= this.opts.bulkSizeBytes) this.schedule();
    else if (!this.timer && this.inFlight < this.opts.maxInFlight) this.armTimer(this.opts.lingerMs);
  }

  /** Resolves when there is room for another record (or the writer failed, stalled or closed). */
  async waitForRoom(signal?: AbortSignal): Promise<void> {
    while (this.buffered >= this.opts.maxBuffered && !this.fatal && !this.stalled && !this.closed && !signal?.aborted) {
      await this.changed(signal);
    }
  }

  /**
   * Sends everything queued and waits until all of it is acknowledged.
   * Throws the fatal error, or a retriable one when `timeoutMs` passes first.
   */
  async flush(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    this.flushing++;
    try {
      this.schedule();
      const deadline = Date.now() + timeoutMs;
      while (this.buffered > 0 && !this.fatal && !this.closed && !signal?.aborted) {
        const left = deadline - Date.now();
        if (left <= 0) {
          throw (
            this.stalled ??
            new RetriableError(`Elasticsearch did not acknowledge ${this.buffered} buffered records within flush.timeout.ms=${timeoutMs}`)
          );
        }
        await this.changed(signal, left);
      }
      if (this.fatal) throw this.fatal;
    } finally {
      this.flushing--;
    }
  }

  /** Drops queued (not yet sent) actions of records the predicate selects; their slots stay pending. */
  drop(select: (a: BulkAction) => boolean): void {
    const keep: Pending[] = [];
    let bytes = 0;
    for (let i = this.qHead; i < this.queue.length; i++) {
      const p = this.queue[i]!;
      if (select(p.action)) this.buffered--;
      else {
        keep.push(p);
        bytes += p.action.bytes;
      }
    }
    this.queue = keep;
    this.qHead = 0;
    this.queuedBytes = bytes;
    this.notify();
  }

  async close(graceMs = 2_000): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.abort.abort();
    this.notify();
    const all = Promise.allSettled([...this.running]);
    await Promise.race([all, new Promise((r) => setTimeout(r, graceMs).unref())]);
  }

  private changed(signal?: AbortSignal, timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      let t: NodeJS.Timeout | undefined;
      const done = () => {
        if (t) clearTimeout(t);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.push(done);
      signal?.addEventListener('abort', done, { once: true });
      if (timeoutMs !== undefined) t = setTimeout(done, timeoutMs);
    });
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private armTimer(ms: number): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.schedule();
    }, ms);
  }

  private schedule(): void {
    if (this.closed || this.fatal) return;
    while (this.inFlight < this.opts.maxInFlight && this.queued > 0) {
      const head = this.queue[this.qHead]!;
      const age = Date.now() - head.enqueuedAt;
      const ready =
        this.flushing > 0 ||
        this.queued >= this.opts.batchSize ||
        this.queuedBytes >= this.opts.bulkSizeBytes ||
        age >= this.opts.lingerMs;
      if (!ready) {
        this.armTimer(this.opts.lingerMs - age);
        return;
      }
      const batch = this.cut();
      if (!batch) return; // the head waits for an in-flight action on the same document
      this.inFlight++;
      const run = this.send(batch);
      this.running.add(run);
      void run.finally(() => this.running.delete(run));
    }
  }

  private cut(): Pending[] | undefined {
    const { batchSize, bulkSizeBytes, orderByDocument } = this.opts;
    const batch: Pending[] = [];
    let bytes = 0;
    while (this.qHead < this.queue.length && batch.length < batchSize) {
      const p = this.queue[this.qHead]!;
      if (batch.length > 0 && bytes + p.action.bytes > bulkSizeBytes) break;
      if (orderByDocument && this.inFlightKeys.has(p.action.docKey)) break;
      batch.push(p);
      bytes += p.action.bytes;
      this.qHead++;
    }
    if (orderByDocument) {
      for (const p of batch) this.inFlightKeys.set(p.action.docKey, (this.inFlightKeys.get(p.action.docKey) ?? 0) + 1);
    }
    this.queuedBytes -= bytes;
    if (this.qHead > 4096 && this.qHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.qHead);
      this.qHead = 0;
    }
    return batch.length > 0 ? batch : undefined;
  }

  private async send(batch: Pending[]): Promise<void> {
    let items = batch;
    let attempt = 0;
    try {
      while (!this.closed && !this.fatal) {
        let result: BulkResult;
        try {
          const client = await this.client();
          let body = '';
          for (const p of items) body += p.action.lines;
          this.stats.requests++;
          result = await client.bulk(body, this.abort.signal);
        } catch (e) {
          if (this.closed) return;
          const err = e instanceof BulkRequestError ? e : new BulkRequestError('connection', String(e), { cause: e });
          if (!err.retriable) {
            this.setFatal(new ConnectError(`Elasticsearch rejected a bulk request of ${items.length} actions: ${err.message}`, { cause: err }));
            return;
          }
          attempt++;
          await this.retryLater(attempt, err, items.length);
          continue;
        }
        if (this.stalled) {
          this.logger.info({ buffered: this.buffered }, 'Elasticsearch accepts requests again');
          this.stalled = undefined;
          this.notify();
        }
        const retry = result.errors ? await this.handleItems(items, result) : this.ackAll(items);
        if (retry.length === 0 || this.closed) return;
        attempt++;
        const first = retry[0]!;
        const idx = items.indexOf(first);
        const item = result.items[idx];
        await this.retryLater(
          attempt,
          new BulkRequestError('response', `${retry.length} of ${items.length} actions were refused (${item?.status ?? '?'} ${item?.errorType ?? ''}: ${item?.errorReason ?? ''})`, {
            status: item?.status,
            errorType: item?.errorType,
          }),
          retry.length,
        );
        items = retry;
      }
    } finally {
      if (this.opts.orderByDocument) {
        for (const p of batch) {
          const n = this.inFlightKeys.get(p.action.docKey) ?? 1;
          if (n <= 1) this.inFlightKeys.delete(p.action.docKey);
          else this.inFlightKeys.set(p.action.docKey, n - 1);
        }
      }
      this.inFlight--;
      this.buffered -= batch.length;
      this.notify();
      this.schedule();
    }
  }

  private ackAll(items: Pending[]): Pending[] {
    for (const p of items) p.slot.done = true;
    this.stats.acked += items.length;
    return [];
  }

  /** Acknowledges what succeeded, applies the malformed policy, returns what to retry (in order). */
  private async handleItems(items: Pending[], result: BulkResult): Promise<Pending[]> {
    const retry: Pending[] = [];
    const retriedDocs = new Set<string>();
    for (let i = 0; i < items.length; i++) {
      const p = items[i]!;
      const item = result.items[i];
      let outcome = classifyItem(item, p.action);
      // A later action on a document that is retried must follow it again, or it would be overtaken.
      if (outcome !== 'retry' && retriedDocs.has(p.action.docKey)) outcome = 'retry';
      switch (outcome) {
        case 'ok':
          p.slot.done = true;
          this.stats.acked++;
          break;
        case 'retry':
          retry.push(p);
          retriedDocs.add(p.action.docKey);
          break;
        case 'malformed':
          this.stats.malformed++;
          await this.malformed(p, item!);
          break;
        case 'fatal':
          this.setFatal(
            new ConnectError(
              `Elasticsearch refused record ${where(p.action)} with ${item!.status} ${item!.errorType ?? ''}: ${item!.errorReason ?? ''}`,
            ),
          );
          return [];
      }
      if (this.fatal) return [];
    }
    return retry;
  }

  private async malformed(p: Pending, item: BulkItemResult): Promise<void> {
    const err = new DataError(
      `Elasticsearch rejected the document of record ${where(p.action)}: ${item.status} ${item.errorType ?? ''}: ${item.errorReason ?? ''}`,
    );
    const policy = this.opts.onMalformed;
    if (policy === 'fail' && !this.reporter) {
      this.setFatal(new DataError(`${err.message} (behavior.on.malformed.documents=fail)`));
      return;
    }
    if (policy === 'warn') this.logger.warn({ topic: p.action.record.topic, partition: p.action.record.kafkaPartition, offset: p.action.record.kafkaOffset }, err.message);
    else this.logger.debug(err.message);
    if (this.reporter) {
      try {
        await this.reporter.report(p.action.record, err);
      } catch (e) {
        // The runtime does not tolerate errors: that fails the task only when the policy is fail;
        // ignore/warn mean "skip it", the dead-letter queue being a bonus.
        if (policy === 'fail') {
          this.setFatal(e instanceof Error ? e : err);
          return;
        }
      }
    }
    p.slot.done = true;
  }

  private setFatal(err: Error): void {
    if (!this.fatal) {
      this.fatal = err;
      this.logger.error({ err }, err.message);
    }
    this.notify();
  }

  private async retryLater(attempt: number, err: BulkRequestError, count: number): Promise<void> {
    this.stats.retries++;
    const delay = Math.max(this.opts.retryBackoffMs > 0 ? 1 : 0, backoffDelay(Math.min(attempt, 21), this.opts.retryBackoffMs, MAX_BACKOFF_MS));
    if (attempt > this.opts.maxRetries) {
      if (!this.stalled) {
        const msg = `Elasticsearch ${err.kind === 'response' ? 'refuses writes' : 'is unreachable'} after ${this.opts.maxRetries} retries (${err.message}); ${this.buffered} records buffered, still retrying`;
        this.stalled =
          err.kind === 'connection' || err.kind === 'timeout'
            ? new NotConnectedError(msg, { cause: err })
            : new RetriableError(msg, { cause: err, retryAfterMs: delay });
        this.logger.warn(msg);
        this.notify();
      }
    } else {
      this.logger.debug({ attempt, delay, count }, `retrying bulk request: ${err.message}`);
    }
    await abortableSleep(delay, this.abort.signal);
  }
}
