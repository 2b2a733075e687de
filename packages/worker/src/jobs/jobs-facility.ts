import type { ChunkJobs, ChunkJobStatus, ChunkPlanItem } from '@ferry/core';

/** What the facility knows of the task that submits work. */
export interface SubmitterSpec {
  connector: string;
  connectorClass: string;
  /** Stored (unresolved) configs, carried with each chunk. */
  config: Record<string, string>;
  taskConfig: Record<string, string>;
  /** Aborted when the submitting task stops (chunks run in the task stop with it). */
  signal: AbortSignal;
  /** The submitting task's id (labels of the source_record_* metrics of its chunks). */
  taskId?: number;
  /** A topic a chunk of this task wrote to (GET /connectors/<name>/topics). */
  onTopic?(topic: string): void;
}

/** The worker's job facility: local (chunks in the task) or BullMQ (chunks on every worker). */
export interface JobsFacility {
  readonly distributed: boolean;
  start(): Promise<void>;
  forTask(spec: SubmitterSpec): ChunkJobs;
  list(connector: string): Promise<ChunkJobStatus[]>;
  /** false when no such job. */
  cancel(connector: string, id: string): Promise<boolean>;
  pause(connector: string, id: string): Promise<boolean>;
  resume(connector: string, id: string): Promise<boolean>;
  /** The connector was deleted: cancel its jobs and drop their records. */
  forget(connector: string): Promise<void>;
  close(): Promise<void>;
}

/** Job ids and BullMQ job ids: letters, digits, `.`, `_`, `-` only. */
export function safeId(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_');
}

export interface ChunkProgress {
  state: 'waiting' | 'running' | 'completed' | 'failed';
  rows: number;
  startedAt?: number | undefined;
  finishedAt?: number | undefined;
  error?: string | undefined;
}

/** When a finished job ended (its last chunk, or the cancel); undefined while it runs. */
export function finishedAt(state: ChunkJobStatus['state'], chunks: ChunkProgress[], flagChangedAt: number | undefined): number | undefined {
  if (state === 'cancelled') return flagChangedAt ?? Math.max(0, ...chunks.map((c) => c.finishedAt ?? 0));
  if (state !== 'completed' && state !== 'failed') return undefined;
  const ends = chunks.map((c) => c.finishedAt).filter((x): x is number => x !== undefined);
  return ends.length ? Math.max(...ends) : flagChangedAt;
}

/** How often finished jobs past their retention are looked for. */
export function retentionSweepMs(retentionMs: number): number {
  return Math.min(600000, Math.max(1000, Math.floor(retentionMs / 2)));
}

/** Aggregates chunk progress into the job's status (rows/s since the first chunk started; ETA from the plan's estimates). */
export function summarize(
  id: string,
  work: string,
  plan: ChunkPlanItem[],
  chunks: ChunkProgress[],
  flag: 'running' | 'paused' | 'cancelled',
  now = Date.now(),
): ChunkJobStatus {
  const done = chunks.filter((c) => c.state === 'completed').length;
  const failed = chunks.filter((c) => c.state === 'failed').length;
  const running = chunks.filter((c) => c.state === 'running').length;
  const rows = chunks.reduce((n, c) => n + c.rows, 0);
  const starts = chunks.map((c) => c.startedAt).filter((x): x is number => x !== undefined);
  const first = starts.length ? Math.min(...starts) : undefined;
  const complete = done === chunks.length;
  const end = complete ? Math.max(...chunks.map((c) => c.finishedAt ?? now)) : now;
  const secs = first === undefined ? 0 : Math.max(0.001, (end - first) / 1000);
  const rate = secs > 0 ? rows / secs : 0;
  const estimate = plan.every((p) => typeof p.estimatedRows === 'number') ? plan.reduce((n, p) => n + (p.estimatedRows ?? 0), 0) : null;
  const state = flag === 'cancelled' ? 'cancelled' : failed > 0 ? 'failed' : complete ? 'completed' : flag === 'paused' ? 'paused' : 'running';
  const status: ChunkJobStatus = {
    id,
    work,
    state,
    chunks: { total: chunks.length, done, running, failed },
    rows,
    rowsPerSecond: Math.round(rate),
    etaSeconds: complete ? 0 : estimate !== null && rate > 0 ? Math.max(0, Math.round((estimate - rows) / rate)) : null,
  };
  const err = chunks.find((c) => c.state === 'failed')?.error;
  if (err) status.error = err;
  return status;
}
