import {
  abortableSleep,
  ConnectError,
  hasErrorCode,
  type ConnectRecord,
  type Header,
  type Logger,
  type TaskConfig,
} from '@ferry/core';
import type { TaskState } from '../stores/contracts.js';
import type { WorkerMetrics } from '../metrics.js';
import type { ConverterSet } from './converters.js';
import type { ErrorReporter, Stage } from './error-handling.js';
import { traceOf } from './error-handling.js';
import type { RecordTransformer } from './transform-chain.js';
import { backoffDelay } from './backoff.js';

export interface StateDetail {
  trace?: string;
  /** What a running task is waiting on, shown in its status. */
  message?: string;
}

export interface TaskRunnerDeps {
  connector: string;
  taskId: number;
  taskConfig: TaskConfig;
  logger: Logger;
  metrics: WorkerMetrics;
  converters: ConverterSet;
  transforms: RecordTransformer;
  errors: ErrorReporter;
  onStateChange(state: TaskState, detail: StateDetail): void;
  /** A topic this task wrote to or read from (for GET /connectors/{name}/topics). */
  onTopic?(topic: string): void;
  /** Ceiling (ms) of the backoff between retries of put()/poll() after retriable failures. */
  retryMaxDelayMs?: number;
  /**
   * errors.retry.timeout: above 0, retriable failures of put()/poll()/produce
   * are retried this long, then the task fails (and is restarted
   * automatically); 0 or -1 retry for as long as the task runs, as Kafka
   * Connect does for a RetriableException from put().
   */
  retryTimeoutMs?: number;
}

const NO_HEADERS: Header[] = Object.freeze([]) as unknown as Header[];

/** True for failures worth retrying: our retriable codes (backbones translate their client's transient errors to them) and socket errors. */
export function isRetriable(err: unknown): boolean {
  if (hasErrorCode(err, 'RETRIABLE') || hasErrorCode(err, 'NOT_CONNECTED')) return true;
  const e = err as { retriable?: boolean; name?: string; code?: string };
  if (e?.retriable === true) return true;
  return ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH'].includes(e?.code ?? '');
}

/** Shared state handling, converters and transforms of source and sink runners. */
export abstract class TaskRunnerBase {
  protected readonly abort = new AbortController();
  protected stopping = false;
  protected paused = false;
  private resumeWaiters: Array<() => void> = [];
  private _state: TaskState = 'UNASSIGNED';
  private _detail: StateDetail = {};
  private readonly topicsSeen = new Set<string>();
  protected readonly labels: { connector: string; task: string };

  constructor(protected readonly deps: TaskRunnerDeps) {
    this.labels = { connector: deps.connector, task: String(deps.taskId) };
  }

  get state(): TaskState {
    return this._state;
  }

  get detail(): StateDetail {
    return this._detail;
  }

  protected setState(state: TaskState, detail: StateDetail = {}): void {
    if (this._state === state && this._detail.message === detail.message && this._detail.trace === detail.trace) return;
    this._state = state;
    this._detail = detail;
    this.deps.metrics.setTaskState(this.deps.connector, this.deps.taskId, state);
    this.deps.onStateChange(state, detail);
  }

  /** Shows (or clears, with undefined) what a RUNNING task is waiting on. */
  protected setWaiting(message: string | undefined): void {
    if (this._state !== 'RUNNING' && this._state !== 'PAUSED') return;
    this.setState(this._state, message ? { message } : {});
  }

  protected fail(err: unknown): void {
    if (this._state === 'FAILED') return;
    this.deps.logger.error({ err: { message: (err as Error)?.message, stack: (err as Error)?.stack } }, 'Task failed');
    this.setState('FAILED', { trace: traceOf(err) });
  }

  /** Retries retriable failures of `fn` with backoff until it succeeds or the task stops, showing the wait in the status. */
  protected async retryCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await fn();
        if (attempt > 1) this.setWaiting(undefined);
        return r;
      } catch (err) {
        if (!isRetriable(err) || this.stopping || this.retryTimedOut(started)) throw err;
        const delay = backoffDelay(attempt, 200, this.deps.retryMaxDelayMs ?? 30000);
        this.deps.metrics.retries.inc(this.labels);
        this.setWaiting(`Retrying ${what} in ${delay} ms after: ${(err as Error).message}`);
        this.deps.logger.warn({ attempt, delay, err: (err as Error).message }, `Retriable failure in ${what}`);
        await abortableSleep(delay, this.abort.signal);
        if (this.stopping) throw err;
      }
    }
  }

  /** True once retrying for longer than errors.retry.timeout (when that is above 0). */
  protected retryTimedOut(started: number): boolean {
    const t = this.deps.retryTimeoutMs ?? 0;
    return t > 0 && Date.now() - started >= t;
  }

  pause(): void {
    if (this.paused || this._state === 'FAILED') return;
    this.paused = true;
    this.onPause();
    if (this._state === 'RUNNING') this.setState('PAUSED');
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.onResume();
    for (const w of this.resumeWaiters.splice(0)) w();
    if (this._state === 'PAUSED') this.setState('RUNNING');
  }

  protected onPause(): void {}
  protected onResume(): void {}

  protected waitForResume(): Promise<void> {
    if (!this.paused || this.stopping) return Promise.resolve();
    return new Promise((r) => this.resumeWaiters.push(r));
  }

  protected wakeWaiters(): void {
    for (const w of this.resumeWaiters.splice(0)) w();
  }

  protected noteTopic(topic: string): void {
    if (this.topicsSeen.has(topic)) return;
    this.topicsSeen.add(topic);
    this.deps.onTopic?.(topic);
  }

  /**
   * Runs the transform chain on one record. Synchronous on purpose (this is
   * the per-record hot path): a failure comes back as `{ failed }` for the
   * caller to hand to the error policy.
   */
  protected transformOne<R extends ConnectRecord>(record: R): R | null | { failed: unknown } {
    if (this.deps.transforms.empty) return record;
    try {
      return this.deps.transforms.apply(record);
    } catch (err) {
      return { failed: err };
    }
  }

  protected async reportFailure(err: unknown, stage: Stage, ctx: { record?: ConnectRecord; consumed?: import('../backbone/backbone.js').InMessage }): Promise<void> {
    const className =
      stage === 'KEY_CONVERTER'
        ? this.deps.converters.keyClass
        : stage === 'VALUE_CONVERTER'
          ? this.deps.converters.valueClass
          : stage === 'HEADER_CONVERTER'
            ? this.deps.converters.headerClass
            : undefined;
    const fromError = (err as { className?: string }).className;
    await this.deps.errors.report(err, { stage, ...ctx, className: className ?? fromError });
  }

  protected convertHeadersOut(topic: string, headers: Header[] | undefined): Array<{ key: string; value: Buffer | null }> | undefined {
    if (!headers || headers.length === 0) return undefined;
    const hc = this.deps.converters.header;
    return headers.map((h) => ({ key: h.key, value: hc.fromConnectHeader(topic, h.key, h.schema, h.value) }));
  }

  protected convertHeadersIn(topic: string, headers: Array<{ key: string; value: Buffer | null }>): Header[] {
    if (headers.length === 0) return NO_HEADERS;
    const hc = this.deps.converters.header;
    return headers.map((h) => {
      const sv = hc.toConnectHeader(topic, h.key, h.value);
      return { key: h.key, value: sv.value, schema: sv.schema };
    });
  }
}

/** Wraps anything thrown by a task into an Error with a useful message. */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new ConnectError(String(err));
}
