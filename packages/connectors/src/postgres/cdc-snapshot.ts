/**
 * The initial snapshot: every captured table read in one REPEATABLE READ
 * transaction (importing the snapshot the slot exported, when there is one),
 * in keyset pages by primary key. Each record's offset names its table and
 * primary key, so a task killed mid-snapshot resumes after the last stored
 * row instead of starting over.
 */
import type pg from 'pg';
import type { SourceOffset, SourceRecord } from '@ferry/core';
import { closeQuietly, connect, mapQueryError, qi, qualified, tableKey, type ConnectionOptions, type TableName } from './connection.js';
import { describeTable, type TableInfo } from './catalog.js';
import { buildShape, envelope, keyOf, decodeTuple, type TableShape } from './cdc-events.js';
import type { PgTypes } from './types.js';

export interface SnapshotResume {
  table: string;
  after: string[] | null;
}

export interface SnapshotOptions {
  conn: ConnectionOptions;
  prefix: string;
  partition: Record<string, unknown>;
  fetchSize: number;
  types: PgTypes;
  /** LSN streaming starts from once the snapshot is done. */
  lsn: bigint;
  /** An exported snapshot to import. */
  snapshotName?: string | undefined;
  resume?: SnapshotResume | undefined;
}

interface Current {
  name: TableName;
  info: TableInfo;
  shape: TableShape;
  pkIdx: number[];
  after: string[] | null;
  cursorOpen: boolean;
}

export class Snapshotter {
  private idx = 0;
  private current?: Current;
  private pending?: SourceRecord;
  private txId: number | null = null;
  private db = '';
  private readonly startedAt = Date.now();

  private constructor(
    private readonly client: pg.Client,
    private readonly tables: TableName[],
    private readonly o: SnapshotOptions,
  ) {}

  static async open(tables: TableName[], o: SnapshotOptions): Promise<Snapshotter> {
    const client = await connect(o.conn);
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      if (o.snapshotName) await client.query(`SET TRANSACTION SNAPSHOT '${o.snapshotName.replace(/'/g, "''")}'`);
      const r = await client.query(`SELECT pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())::text AS xmin, current_database() AS db`);
      const sorted = [...tables].sort((a, b) => (tableKey(a) < tableKey(b) ? -1 : tableKey(a) > tableKey(b) ? 1 : 0));
      const s = new Snapshotter(client, sorted, o);
      s.txId = Number(r.rows[0].xmin);
      s.db = r.rows[0].db;
      if (o.resume) {
        const i = sorted.findIndex((t) => tableKey(t) >= o.resume!.table);
        s.idx = i < 0 ? sorted.length : i;
      }
      return s;
    } catch (err) {
      await closeQuietly(client);
      throw mapQueryError(err, 'Starting the snapshot');
    }
  }

  /** The next records; `done` once every table was read (the last record then carries the streaming offset). */
  async next(): Promise<{ records: SourceRecord[]; done: boolean }> {
    try {
      while (this.idx < this.tables.length) {
        const cur = this.current ?? (await this.openTable(this.tables[this.idx]!));
        const rows = await this.fetch(cur);
        const full = rows.length === this.o.fetchSize;
        const records = rows.map((row) => this.toRecord(cur, row));
        if (!full) {
          if (cur.cursorOpen) await this.client.query('CLOSE ferry_snapshot');
          this.current = undefined;
          this.idx++;
        }
        if (records.length === 0) continue;
        // Hold the newest record back: if it turns out to be the very last one it carries the completion offset.
        const out = this.pending ? [this.pending, ...records.slice(0, -1)] : records.slice(0, -1);
        this.pending = records[records.length - 1];
        if (out.length > 0) return { records: out, done: false };
      }
      await this.client.query('COMMIT');
      const last = this.pending;
      this.pending = undefined;
      if (!last) return { records: [], done: true };
      last.sourceOffset = this.completionOffset();
      ((last.value as { source: { snapshot: string } }).source).snapshot = 'last';
      return { records: [last], done: true };
    } catch (err) {
      throw mapQueryError(err, `Snapshot of ${this.tables[this.idx] ? tableKey(this.tables[this.idx]!) : 'tables'}`);
    }
  }

  /** LSN streaming starts from once the snapshot is done. */
  get lsn(): bigint {
    return this.o.lsn;
  }

  /** The offset meaning "snapshot complete, stream from lsn". */
  completionOffset(): SourceOffset {
    return { lsn: Number(this.o.lsn), txId: this.txId, event: -1 };
  }

  private async openTable(name: TableName): Promise<Current> {
    const info = await describeTable(this.client, name);
    if (!info) throw new Error(`Table ${tableKey(name)} does not exist`);
    await this.o.types.resolve(this.client, info.columns.map((c) => c.typeOid));
    const shape = buildShape(this.o.prefix, name.schema, name.table, info.columns, info.primaryKey, this.o.types);
    const pkIdx = info.primaryKey.map((k) => info.columns.findIndex((c) => c.name === k));
    const resume = this.o.resume;
    const after = resume && resume.table === tableKey(name) && pkIdx.length ? resume.after : null;
    this.current = { name, info, shape, pkIdx, after, cursorOpen: false };
    return this.current;
  }

  private async fetch(cur: Current): Promise<Array<Array<string | null>>> {
    const n = this.o.fetchSize;
    if (cur.pkIdx.length === 0) {
      // No primary key: no resumable order; a resumed snapshot reads such a table again from its start.
      if (!cur.cursorOpen) {
        await this.client.query(`DECLARE ferry_snapshot NO SCROLL CURSOR FOR SELECT * FROM ${qualified(cur.name)}`);
        cur.cursorOpen = true;
      }
      const r = await this.client.query<string[]>({ text: `FETCH FORWARD ${n} FROM ferry_snapshot`, rowMode: 'array' });
      return r.rows;
    }
    const pkCols = cur.pkIdx.map((i) => cur.info.columns[i]!);
    const order = pkCols.map((c) => qi(c.name)).join(', ');
    let text = `SELECT * FROM ${qualified(cur.name)}`;
    const values: unknown[] = [];
    if (cur.after) {
      text += ` WHERE (${order}) > (${pkCols.map((c, i) => `$${i + 1}::${c.castType}`).join(', ')})`;
      values.push(...cur.after);
    }
    text += ` ORDER BY ${order} LIMIT ${n}`;
    const r = await this.client.query<string[]>({ text, values, rowMode: 'array' });
    if (r.rows.length > 0) {
      const last = r.rows[r.rows.length - 1]!;
      cur.after = cur.pkIdx.map((i) => last[i] as string);
    }
    return r.rows;
  }

  private toRecord(cur: Current, row: Array<string | null>): SourceRecord {
    const tuple: Record<string, unknown> = {};
    cur.info.columns.forEach((c, i) => (tuple[c.name] = row[i]));
    const after = decodeTuple(cur.shape, tuple);
    const offset: SourceOffset = {
      snapshot: true,
      lsn: Number(this.o.lsn),
      txId: this.txId,
      table: tableKey(cur.name),
      after: cur.pkIdx.length ? cur.pkIdx.map((i) => row[i]) : null,
    };
    return {
      sourcePartition: this.o.partition,
      sourceOffset: offset,
      topic: cur.shape.topic,
      keySchema: cur.shape.keySchema,
      key: keyOf(cur.shape, after),
      valueSchema: cur.shape.envelopeSchema,
      value: envelope(cur.shape, 'r', null, after, {
        serverName: this.o.prefix,
        db: this.db,
        tsMs: this.startedAt,
        snapshot: 'true',
        txId: this.txId,
        lsn: this.o.lsn,
      }),
      timestamp: this.startedAt,
    };
  }

  async close(): Promise<void> {
    await this.client.query('ROLLBACK').catch(() => {});
    await closeQuietly(this.client);
  }
}
