/**
 * The CDC task's side of a parallel snapshot: plan the chunks, submit them
 * to the runtime's job facility, keep the exported snapshot alive while they
 * run, and report when the job ended. The task's source offset during the job
 * is `{snapshot: 'jobs', job, lsn, txId, plan}`, so a restarted task attaches
 * to the same job (or, without a queue, runs the chunks again from where
 * each one's last transaction left it).
 */
import { ConnectError, type ChunkJobHandle, type ChunkJobs, type ChunkPlanItem, type JsonObject, type Logger, type SourceOffset } from '@ferry/core';
import type { PostgresCdcOptions } from './cdc-config.js';
import { planSnapshot } from './cdc-chunks.js';
import type { TableName } from './connection.js';

export class SnapshotJob {
  private constructor(
    private readonly handle: ChunkJobHandle,
    private holder: { release(): Promise<void> } | undefined,
    readonly lsn: bigint,
    readonly txId: number | null,
    /** Offset stored while the job runs. */
    readonly offset: SourceOffset,
  ) {}

  static async submit(
    jobs: ChunkJobs,
    cfg: PostgresCdcOptions,
    tables: TableName[],
    o: { lsn: bigint; snapshotName: string | null; holder?: { release(): Promise<void> }; log: Logger },
  ): Promise<SnapshotJob> {
    try {
      const { items, txId } = await planSnapshot(cfg, tables, { snapshotName: o.snapshotName, threads: cfg['snapshot.max.threads'], lsn: o.lsn, txId: null });
      // Keyed by the slot's consistent point: a task restarted before it stored the job's offset finds the same job
      // (and its chunks' progress). Without a slot (initial_only) every start is a new snapshot.
      const key = o.lsn > 0n ? `snapshot-${cfg['slot.name']}-${o.lsn.toString(16)}` : `snapshot-${cfg['slot.name']}-${Date.now().toString(36)}`;
      const handle = await jobs.submit({ work: 'snapshot', key, chunks: items });
      o.log.info({ job: handle.id, chunks: items.length, distributed: jobs.distributed }, 'Snapshot submitted as chunked job');
      const offset: SourceOffset = { snapshot: 'jobs', job: key, lsn: Number(o.lsn), txId, plan: items as unknown as JsonObject[] };
      return new SnapshotJob(handle, o.holder, o.lsn, txId, offset);
    } catch (err) {
      await o.holder?.release();
      throw err;
    }
  }

  /** Attaches to the job of a stored offset (resubmitting its plan: chunks done stay done). */
  static async resume(jobs: ChunkJobs, offset: SourceOffset, log: Logger): Promise<SnapshotJob> {
    const plan = (offset.plan ?? []) as unknown as ChunkPlanItem[];
    const handle = await jobs.submit({ work: 'snapshot', key: String(offset.job), chunks: plan });
    log.info({ job: handle.id, chunks: plan.length }, 'Resuming the chunked snapshot');
    return new SnapshotJob(handle, undefined, BigInt(Number(offset.lsn ?? 0)), (offset.txId as number | null) ?? null, offset);
  }

  /** 'running' until every chunk is done ('completed') or the job was cancelled; throws when it failed. */
  async check(): Promise<'running' | 'completed' | 'cancelled'> {
    const s = await this.handle.status();
    if (s.state === 'failed') throw new ConnectError(`Snapshot job ${s.id} failed (${s.chunks.failed} of ${s.chunks.total} chunks): ${s.error ?? 'unknown error'}`);
    if (s.state === 'completed' || s.state === 'cancelled') {
      await this.release();
      return s.state;
    }
    return 'running';
  }

  async release(): Promise<void> {
    const h = this.holder;
    this.holder = undefined;
    await h?.release();
  }
}
