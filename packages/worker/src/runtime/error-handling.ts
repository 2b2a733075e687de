import {
  Config,
  ConnectError,
  defineConfig,
  hasErrorCode,
  type ConnectRecord,
  type Logger,
} from '@ferry/core';
import type { BackboneAdmin, BackboneProducer, InMessage, OutMessage } from '../backbone/backbone.js';
import type { WorkerMetrics } from '../metrics.js';

/** Error-handling options every connector accepts (Kafka Connect's names). */
export const ErrorHandlingConfig = defineConfig({
  'errors.tolerance': Config.enum(['none', 'all'] as const, {
    doc: 'none: a record that fails conversion, a transform or the task fails the task. all: such records are skipped (logged, and sent to the dead-letter queue when one is set).',
    default: 'none',
    group: 'Error Handling',
    importance: 'MEDIUM',
    ignoreCase: true,
  }),
  'errors.retry.timeout': Config.long({
    doc: 'How long (ms) retriable failures (network, throttling, 5xx) of put(), poll() and produce are retried, with exponential backoff and jitter, before the task fails and is restarted automatically. 0 or -1: retried for as long as the task runs (Kafka Connect\'s behaviour for put()).',
    default: 0,
    min: -1,
    group: 'Error Handling',
  }),
  'errors.retry.delay.max.ms': Config.long({
    doc: 'Longest wait (ms) between consecutive retries (exponential backoff with jitter).',
    default: 60000,
    min: 1,
    group: 'Error Handling',
  }),
  'errors.log.enable': Config.bool({ doc: 'Log each failed record operation.', default: false, group: 'Error Handling' }),
  'errors.log.include.messages': Config.bool({
    doc: 'Include the record (topic, partition, offset, key, value) in those log lines.',
    default: false,
    group: 'Error Handling',
  }),
  'errors.deadletterqueue.topic.name': Config.string({
    doc: 'Topic that receives records skipped by errors.tolerance=all (sinks and sources). Empty: none.',
    default: '',
    group: 'Error Handling',
  }),
  'errors.deadletterqueue.topic.replication.factor': Config.int({
    doc: 'Replication factor of the dead-letter topic when it is created; -1 uses the broker default.',
    default: -1,
    group: 'Error Handling',
  }),
  'errors.deadletterqueue.context.headers.enable': Config.bool({
    doc: 'Add __connect.errors.* headers describing the failure to dead-letter records.',
    default: false,
    group: 'Error Handling',
  }),
  'errors.task.restart.enable': Config.bool({
    doc: 'Restart a FAILED task automatically with exponential backoff.',
    default: true,
    group: 'Error Handling',
  }),
  'errors.task.restart.backoff.initial.ms': Config.long({
    doc: 'Wait (ms) before the first automatic restart of a failed task.',
    default: 1000,
    min: 0,
    group: 'Error Handling',
  }),
  'errors.task.restart.backoff.max.ms': Config.long({
    doc: 'Longest wait (ms) between automatic restarts; a task that ran this long without failing starts over from the initial wait.',
    default: 60000,
    min: 1,
    group: 'Error Handling',
  }),
  'errors.task.restart.max.attempts': Config.int({
    doc: 'Automatic restarts in a row before the task is left FAILED; -1 is unlimited.',
    default: 10,
    min: -1,
    group: 'Error Handling',
  }),
});

export type ErrorHandlingSettings = ReturnType<typeof ErrorHandlingConfig.parse>;

export type Stage =
  | 'KEY_CONVERTER'
  | 'VALUE_CONVERTER'
  | 'HEADER_CONVERTER'
  | 'TRANSFORMATION'
  | 'TASK_PUT'
  | 'TASK_POLL'
  | 'KAFKA_PRODUCE'
  | 'KAFKA_CONSUME';

/** Thrown when a failure exceeds the tolerance: the task fails with it. */
export class ToleranceExceededError extends ConnectError {
  constructor(stage: Stage, cause: unknown) {
    super(`Tolerance exceeded in error handler (stage ${stage}): ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

export interface FailureContext {
  stage: Stage;
  /** The consumed message (sinks). */
  consumed?: InMessage;
  /** The record as far as it got. */
  record?: ConnectRecord;
  /** Class of the converter, transform or task involved. */
  className?: string;
}

const H = '__connect.errors.';

/**
 * Applies a connector's error policy to one failed record: fail the task
 * (tolerance none), or log, count and dead-letter it (tolerance all).
 */
export class ErrorReporter {
  private dlqReady: Promise<void> | undefined;

  constructor(
    readonly settings: ErrorHandlingSettings,
    private readonly deps: {
      connector: string;
      taskId: number;
      logger: Logger;
      metrics: WorkerMetrics;
      dlqProducer?: BackboneProducer;
      admin?: BackboneAdmin;
      /** Serializes a source record for the DLQ when conversion failed. */
      fallbackSerialize?: (r: ConnectRecord) => { key: Buffer | null; value: Buffer | null };
      /** The log redaction (resolved secrets scrubbed): applied to every context header. */
      redact?: (s: string) => string;
    },
  ) {}

  get tolerateAll(): boolean {
    return this.settings['errors.tolerance'] === 'all';
  }

  get dlqTopic(): string {
    return this.settings['errors.deadletterqueue.topic.name'];
  }

  private get labels() {
    return { connector: this.deps.connector, task: String(this.deps.taskId) };
  }

  /**
   * Handles one failure. Resolves when the record may be skipped; throws
   * {@link ToleranceExceededError} when the task must fail.
   */
  async report(err: unknown, ctx: FailureContext): Promise<void> {
    this.deps.metrics.recordFailures.inc(this.labels);
    if (!this.tolerateAll || hasErrorCode(err, 'NOT_CONNECTED')) {
      throw err instanceof ToleranceExceededError ? err : new ToleranceExceededError(ctx.stage, err);
    }
    this.deps.metrics.recordsSkipped.inc(this.labels);
    if (this.settings['errors.log.enable']) {
      const where = ctx.consumed
        ? { topic: ctx.consumed.topic, partition: ctx.consumed.partition, offset: ctx.consumed.offset }
        : { topic: ctx.record?.topic };
      const detail = this.settings['errors.log.include.messages']
        ? { key: previewValue(ctx.consumed?.key ?? ctx.record?.key), value: previewValue(ctx.consumed?.value ?? ctx.record?.value) }
        : {};
      this.deps.logger.error({ stage: ctx.stage, ...where, ...detail, err: errInfo(err) }, 'Error encountered in record processing; record skipped');
    }
    if (this.dlqTopic && this.deps.dlqProducer) await this.sendToDlq(err, ctx);
  }

  private async sendToDlq(err: unknown, ctx: FailureContext): Promise<void> {
    const producer = this.deps.dlqProducer!;
    let key: Buffer | null = null;
    let value: Buffer | null = null;
    let headers: OutMessage['headers'] = [];
    if (ctx.consumed) {
      key = ctx.consumed.key;
      value = ctx.consumed.value;
      headers = [...ctx.consumed.headers];
    } else if (ctx.record && this.deps.fallbackSerialize) {
      ({ key, value } = this.deps.fallbackSerialize(ctx.record));
    }
    if (this.settings['errors.deadletterqueue.context.headers.enable']) {
      const e = err as Error;
      const redact = this.deps.redact ?? ((x: string) => x);
      const add = (k: string, v: string | number | undefined) => {
        if (v !== undefined) headers!.push({ key: H + k, value: Buffer.from(redact(String(v))) });
      };
      add('topic', ctx.consumed?.topic ?? ctx.record?.topic);
      add('partition', ctx.consumed?.partition ?? (ctx.record?.kafkaPartition ?? undefined));
      add('offset', ctx.consumed?.offset);
      add('connector.name', this.deps.connector);
      add('task.id', this.deps.taskId);
      add('stage', ctx.stage);
      add('class.name', ctx.className ?? '');
      add('exception.class.name', e?.name ?? typeof err);
      add('exception.message', e?.message ?? String(err));
      add('exception.stacktrace', e?.stack ?? String(err));
      const src = ctx.record as { sourcePartition?: unknown; sourceOffset?: unknown } | undefined;
      if (src?.sourcePartition) add('source.partition', JSON.stringify(src.sourcePartition));
      if (src?.sourceOffset) add('source.offset', JSON.stringify(src.sourceOffset));
    }
    this.dlqReady ??= this.deps.admin
      ? this.deps.admin
          .ensureTopics([{ topic: this.dlqTopic, replicationFactor: this.settings['errors.deadletterqueue.topic.replication.factor'] }])
          .catch((e) => {
            this.dlqReady = undefined;
            throw e;
          })
      : Promise.resolve();
    try {
      await this.dlqReady;
      await producer.send([{ topic: this.dlqTopic, key, value, headers, timestamp: ctx.consumed?.timestamp ?? ctx.record?.timestamp ?? null }]);
      this.deps.metrics.dlqProduceRequests.inc(this.labels);
    } catch (e) {
      this.deps.metrics.dlqProduceFailures.inc(this.labels);
      // Losing the record silently is worse than failing: the task fails and is restarted.
      throw new ToleranceExceededError(ctx.stage, new ConnectError(`Could not write to dead-letter queue ${this.dlqTopic}: ${(e as Error).message}`, { cause: e }));
    }
  }
}

function previewValue(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  const s = Buffer.isBuffer(v) ? v.toString('utf8') : typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 2000 ? `${s.slice(0, 2000)}…` : s;
}

export function errInfo(err: unknown): { type: string; message: string; stack?: string } {
  const e = err as Error;
  return { type: e?.name ?? typeof err, message: e?.message ?? String(err), stack: e?.stack };
}

/** A trace for status answers: the error and its causes, like a Java stack trace. */
export function traceOf(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let i = 0; cur && i < 6; i++) {
    const e = cur as Error;
    parts.push(i === 0 ? (e.stack ?? String(e)) : `Caused by: ${e.stack ?? String(e)}`);
    cur = e.cause;
  }
  return parts.join('\n');
}
