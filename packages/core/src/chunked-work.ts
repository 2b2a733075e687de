/**
 * Bounded, chunkable work (snapshots, backfills, restores) that the runtime
 * may spread over every worker. A connector's task plans the chunks and
 * submits them; the runtime runs each chunk (here, on another worker, or one
 * after another inside the task when no job queue is configured) by calling
 * the connector's {@link ChunkRunner}. Connectors see nothing of the queue.
 *
 * Delivery: each `emit()` is one atomic step. The records of an emit and the
 * chunk position after them become durable together, so a chunk re-run after
 * a crash resumes at the last durable position and produces nothing twice.
 */
import type { TaskConfig } from './config.js';
import type { Logger } from './logger.js';
import type { SourceRecord } from './record.js';

/** A JSON value (chunks, positions and plans travel through the job queue as JSON). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** One chunk of a plan. */
export interface ChunkPlanItem {
  /** What the runner needs to read this chunk (e.g. a table and a key range). JSON only. */
  chunk: JsonObject;
  /** Rows expected, for progress and ETA (optional, an estimate). */
  estimatedRows?: number;
  /** Short human-readable description, shown in job listings. */
  label?: string;
  /**
   * Stable identity of the chunk within its job (letters, digits, `.`, `_`, `-`; short). When set, the
   * chunk's durable position is kept under this id instead of its index in the plan, so a plan
   * rebuilt after a restart (e.g. with more objects) resumes each chunk where it was.
   */
  id?: string;
}

/** A bounded workload split into chunks, submitted by a source task. */
export interface ChunkedWorkSpec {
  /** Which runner of the connector runs the chunks, e.g. `snapshot`. Passed to {@link SourceConnector.createChunkRunner}. */
  work: string;
  /**
   * Stable identity of this run within the connector (letters, digits, `.`, `_`, `-`). Submitting the same
   * key again (e.g. after a restart) attaches to the existing job instead of starting another.
   */
  key: string;
  chunks: ChunkPlanItem[];
}

export type ChunkJobState = 'running' | 'paused' | 'completed' | 'failed' | 'cancelled';

/** Progress of a submitted job. */
export interface ChunkJobStatus {
  id: string;
  work: string;
  state: ChunkJobState;
  chunks: { total: number; done: number; running: number; failed: number };
  /** Rows delivered so far (every chunk). */
  rows: number;
  /** Rows per second since the first chunk started. */
  rowsPerSecond: number;
  /** Seconds left at the current rate, when the plan carried estimates; null otherwise. */
  etaSeconds: number | null;
  /** Why the job failed (the last chunk error), when it did. */
  error?: string;
}

/** A submitted job, as the submitting task sees it. */
export interface ChunkJobHandle {
  readonly id: string;
  status(): Promise<ChunkJobStatus>;
  cancel(): Promise<void>;
  /** Drops the job's records (status, chunk progress) once its outcome was read, e.g. after each round of recurring work. */
  forget(): Promise<void>;
}

/** The runtime's job facility, offered to source tasks through {@link SourceTaskContext.jobs}. */
export interface ChunkJobs {
  /** True when chunks run on a shared queue (every worker), false when they run one after another in this task. */
  readonly distributed: boolean;
  /** Submits the plan (or attaches to the job of the same key). */
  submit(spec: ChunkedWorkSpec): Promise<ChunkJobHandle>;
}

/** What a chunk runner receives for one chunk. */
export interface ChunkContext {
  /** The submitting task's config (secrets resolved on the worker that runs the chunk). */
  readonly config: TaskConfig;
  readonly work: string;
  readonly chunk: JsonObject;
  /** Position of the last durable emit of an earlier attempt of this chunk, or null to start at its beginning. */
  readonly resumeFrom: JsonObject | null;
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly logger: Logger;
  /** Aborted when the chunk must stop (worker stopping, job paused or cancelled): return or throw soon. */
  readonly signal: AbortSignal;
  /**
   * Delivers records with the chunk position after them; resolves once both are durable. Call it
   * per page (a few thousand records): each call is one atomic write downstream. `sourcePartition`
   * and `sourceOffset` of these records are ignored (the position is the chunk's offset).
   */
  emit(records: SourceRecord[], position: JsonObject): Promise<void>;
}

/** Runs chunks of one kind of work; created by {@link SourceConnector.createChunkRunner} on any worker. */
export interface ChunkRunner {
  runChunk(ctx: ChunkContext): Promise<void>;
}
