import type { TaskConfig } from './config.js';
import type { Logger } from './logger.js';
import type { SinkRecord, TopicPartition, TopicPartitionOffset } from './record.js';

/** Sends a record the sink could not process to the dead-letter queue (or fails, per policy). */
export interface ErrantRecordReporter {
  /**
   * Reports `record` as failed with `error`. Resolves once the runtime has
   * handled it (written to the dead-letter queue, or logged and skipped).
   * Rejects when the error tolerance is `none`: the task should then fail.
   */
  report(record: SinkRecord, error: Error): Promise<void>;
}

export interface SinkTaskContext {
  readonly connectorName: string;
  readonly taskId: number;
  readonly logger: Logger;
  /** Aborted when the task is asked to stop. */
  readonly signal: AbortSignal;
  /** The partitions currently assigned to this task. */
  assignment(): TopicPartition[];
  /** Stops fetching from these partitions (backpressure) until resumed. */
  pause(partitions: TopicPartition[]): void;
  resume(partitions: TopicPartition[]): void;
  /** Asks for an offset commit soon (after the current put). */
  requestCommit(): void;
  /**
   * Moves the consumer to these positions (the next offset to read), e.g.
   * when the sink keeps its own offsets in the target for exactly-once.
   * Call it from `open()`.
   */
  offset(offsets: TopicPartitionOffset[]): void;
  /** Present when the connector has error tolerance configured. */
  readonly errantRecordReporter?: ErrantRecordReporter;
}

/**
 * Moves data from the stream into an external system. The runtime consumes
 * with group `connect-<name>`, calls `put()` with batches, and commits
 * consumer offsets only for what `preCommit()` (default: `flush()` then all
 * consumed offsets) returned.
 */
export interface SinkTask {
  start(config: TaskConfig, context: SinkTaskContext): Promise<void>;
  /** Partitions newly assigned to this task. */
  open?(partitions: TopicPartition[]): Promise<void>;
  /** Writes (or buffers) a batch. Throw RetriableError to have it retried. */
  put(records: SinkRecord[]): Promise<void>;
  /** Makes everything given to `put()` so far durable. */
  flush?(offsets: TopicPartitionOffset[]): Promise<void>;
  /**
   * Returns the offsets that are safe to commit (next offset to read per
   * partition). Override when the task flushes on its own schedule (e.g.
   * file rotation); the default flushes and returns `offsets`.
   */
  preCommit?(offsets: TopicPartitionOffset[]): Promise<TopicPartitionOffset[]>;
  /** Partitions taken away from this task; flush or drop their buffers. */
  close?(partitions: TopicPartition[]): Promise<void>;
  stop(): Promise<void>;
}
