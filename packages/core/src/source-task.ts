import type { TaskConfig } from './config.js';
import type { ChunkJobs, JsonObject } from './chunked-work.js';
import type { Logger } from './logger.js';
import type { RecordMetadata, SourceOffset, SourcePartition, SourceRecord } from './record.js';

/** Reads the offsets the runtime has stored for this connector. */
export interface OffsetStorageReader {
  offset(partition: SourcePartition): Promise<SourceOffset | null>;
  /** Offsets of many partitions at once; absent ones are missing from the map. */
  offsets(partitions: SourcePartition[]): Promise<Map<SourcePartition, SourceOffset>>;
}

export interface SourceTaskContext {
  readonly connectorName: string;
  readonly taskId: number;
  readonly logger: Logger;
  readonly offsetReader: OffsetStorageReader;
  /**
   * Aborted when the task is asked to stop: a `poll()` waiting for data must
   * return (with what it has, or `[]`) soon after.
   */
  readonly signal: AbortSignal;
  /** The runtime's job facility for bounded, chunkable work (see {@link ChunkJobs}). */
  readonly jobs?: ChunkJobs;
}

/** A source offset that has become durable in the offset store. */
export interface CommittedOffset {
  partition: SourcePartition;
  offset: SourceOffset;
}

/**
 * Moves data from an external system into the stream. The runtime calls
 * `poll()` in a loop, produces the records, and stores their source offsets
 * once the backbone acknowledged them.
 */
export interface SourceTask {
  start(config: TaskConfig, context: SourceTaskContext): Promise<void>;
  /**
   * Returns the next records, `[]` (or null) when none are ready. It may wait
   * a little for data but must honour `context.signal`.
   */
  poll(): Promise<SourceRecord[] | null>;
  /**
   * Called after source offsets were written to the offset store, with the
   * latest durable offset of every partition flushed. A task that must
   * acknowledge its source (a replication slot, a queue) does it here, and
   * only up to these offsets.
   */
  commit?(committed: CommittedOffset[]): Promise<void> | void;
  /** Called once per record after the backbone acknowledged it (or with null metadata when it was filtered out). */
  commitRecord?(record: SourceRecord, metadata: RecordMetadata | null): void;
  /**
   * An ad hoc request from the operator (e.g. `POST /connectors/<name>/snapshots` becomes
   * `{type: 'execute-snapshot', data: <the body>}`). Throw ConfigError for a request the task refuses.
   */
  handleSignal?(signal: SourceSignal): Promise<void>;
  stop(): Promise<void>;
}

/** An operator's request to a running source task. */
export interface SourceSignal {
  type: string;
  data: JsonObject;
}
