/**
 * PostgresSource bulk mode on the worker's job facility (`bulk.max.threads`
 * above 1): each round copies a table in chunks by primary-key range, every
 * chunk in one exported snapshot of the round (as the parallel CDC snapshot
 * does), in parallel on every worker with a job queue. The records are those
 * of the task's own bulk reads (a struct of the columns, keyed by the
 * primary key).
 */
import type pg from 'pg';
import {
  ConnectError,
  abortableSleep,
  type ChunkContext,
  type ChunkJobHandle,
  type ChunkJobs,
  type ChunkRunner,
  type Logger,
  type Schema,
} from '@ferry/core';
import { closeQuietly, connect, tableKey, type TableName } from './connection.js';
import { planSnapshot, readTableChunk, type SnapshotChunk } from './cdc-chunks.js';
import { decodeValue } from './types.js';
import { PostgresSourceConfig, type PostgresSourceOptions } from './source-config.js';

/** Runs bulk chunks (work `bulk` of PostgresSource). */
export class BulkChunkRunner implements ChunkRunner {
  async runChunk(ctx: ChunkContext): Promise<void> {
    const cfg = PostgresSourceConfig.parse(ctx.config);
    const c = ctx.chunk as SnapshotChunk;
    const topic = cfg['topic.prefix'] + c.table;
    await readTableChunk(ctx, cfg, { fetchSize: cfg['batch.max.rows'], method: 'cursor', what: 'Bulk copy' }, (info, types) => {
      const notNull = new Set(info.columns.filter((col) => col.notNull).map((col) => col.name));
      const codecs = info.columns.map((col) => types.codec(col.name, col.typeOid, col.typeMod, !notNull.has(col.name)));
      const valueSchema: Schema = { type: 'struct', name: c.table, optional: false, fields: codecs.map((k) => k.field) };
      const keyIdx = info.primaryKey.map((k) => info.columns.findIndex((col) => col.name === k));
      const keySchema: Schema | null = keyIdx.length
        ? { type: 'struct', name: `${c.table}.Key`, optional: false, fields: keyIdx.map((i) => ({ ...codecs[i]!.field, optional: false })) }
        : null;
      return (row) => {
        const value: Record<string, unknown> = {};
        for (let i = 0; i < codecs.length; i++) value[codecs[i]!.name] = decodeValue(codecs[i]!, row[i] ?? null);
        let key: Record<string, unknown> | null = null;
        if (keySchema) {
          key = {};
          for (const i of keyIdx) key[codecs[i]!.name] = value[codecs[i]!.name];
        }
        return { sourcePartition: {}, sourceOffset: {}, topic, keySchema, key, valueSchema, value };
      };
    });
  }
}

/** One bulk round of one table as a chunked job; the exported snapshot is held until it ends. */
export class BulkRound {
  private constructor(
    readonly handle: ChunkJobHandle,
    private holder: pg.Client | undefined,
    private readonly previous: ChunkJobHandle | undefined,
  ) {}

  static async submit(jobs: ChunkJobs, cfg: PostgresSourceOptions, table: TableName, log: Logger, previous?: ChunkJobHandle): Promise<BulkRound> {
    const holder = await connect(cfg);
    try {
      await holder.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const snapshotName: string = (await holder.query('SELECT pg_catalog.pg_export_snapshot() AS s')).rows[0].s;
      const { items } = await planSnapshot(cfg, [table], { snapshotName, threads: cfg['bulk.max.threads'], lsn: 0n, txId: null });
      const key = `bulk-${tableKey(table)}-${Date.now().toString(36)}`;
      const handle = await jobs.submit({ work: 'bulk', key, chunks: items });
      log.debug({ job: handle.id, chunks: items.length }, 'Bulk round submitted');
      return new BulkRound(handle, holder, previous);
    } catch (err) {
      await closeQuietly(holder);
      throw err;
    }
  }

  /** Waits (a little) for the round; true once it ended. Throws when it failed. */
  async poll(signal: AbortSignal): Promise<boolean> {
    const s = await this.handle.status();
    if (s.state === 'failed') {
      await this.release();
      throw new ConnectError(`Bulk job ${s.id} failed: ${s.error ?? 'unknown error'}`);
    }
    if (s.state === 'completed' || s.state === 'cancelled') {
      await this.release();
      // One job per round: keep none of them once done (the last one stays visible until the next round ends).
      await this.previous?.forget().catch(() => undefined);
      return true;
    }
    await abortableSleep(200, signal);
    return false;
  }

  async release(): Promise<void> {
    const h = this.holder;
    this.holder = undefined;
    await closeQuietly(h);
  }
}
