/**
 * Incremental (ad hoc) snapshots while streaming continues, after DBLog
 * (Debezium's algorithm): a table is read in chunks of
 * `incremental.snapshot.chunk.size` rows by primary key, each chunk inside a
 * window opened and closed by watermark rows written to the signal table.
 * Between the two watermarks in the replication stream, every change of a key
 * read by the chunk removes that key from the chunk's buffer (the change is
 * newer); at the closing watermark the rest of the buffer is emitted as
 * `op: r` events. So the stream never goes back in time for a key.
 *
 * The progress (`{tables, after, max}`) travels in the streaming offsets, so
 * a restarted task continues with the chunk after the last one delivered.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { ConfigError, type JsonObject, type Logger } from '@ferry/core';
import { parseTableName, qi, qualified, tableKey, type TableName } from './connection.js';
import { describeTable } from './catalog.js';
import { buildShape, decodeTuple, envelope, keyOf, type TableShape } from './cdc-events.js';
import type { PgTypes } from './types.js';

export interface IncrementalContext extends JsonObject {
  /** Tables still to read (`schema.table`); the first is being read. */
  tables: string[];
  /** Primary key (text form) of the last row delivered of the first table; null: from its start. */
  after: string[] | null;
  /** Largest primary key of the first table when its reading began; null: not looked up yet. */
  max: string[] | null;
}

/** A row of the signal table: Debezium's layout (id, type, data). */
export interface SignalRow {
  id: string;
  type: string;
  data: string | null;
}

interface Window {
  id: string;
  topic: string;
  open: boolean;
  shape: TableShape;
  /** Rows read, by key JSON, in key order. */
  buffer: Map<string, { key: unknown; value: Record<string, unknown> }>;
  /** Context once this chunk is delivered. */
  next: IncrementalContext | null;
}

export interface IncrementalDeps {
  prefix: string;
  db: () => string;
  signalTable: TableName;
  chunkSize: number;
  types: PgTypes;
  log: Logger;
}

export class IncrementalSnapshot {
  private ctx: IncrementalContext | null = null;
  private window?: Window;
  /** A window was requested and its rows read; its watermarks are on their way through the stream. */
  private pending = false;

  constructor(private readonly d: IncrementalDeps) {}

  get active(): boolean {
    return this.ctx !== null;
  }

  /** For the streaming offsets. */
  context(): IncrementalContext | null {
    return this.ctx;
  }

  restore(ctx: unknown): void {
    if (ctx && typeof ctx === 'object' && Array.isArray((ctx as IncrementalContext).tables)) {
      this.ctx = ctx as IncrementalContext;
      this.d.log.info({ tables: this.ctx.tables, after: this.ctx.after }, 'Continuing the incremental snapshot');
    }
  }

  /** Writes an execute-snapshot signal row (what `POST /connectors/<name>/snapshots` does). */
  static async requestSnapshot(meta: pg.Client, signalTable: TableName, tables: string[]): Promise<void> {
    const id = `ferry-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    await meta.query(`INSERT INTO ${qualified(signalTable)} (id, type, data) VALUES ($1, 'execute-snapshot', $2)`, [
      id,
      JSON.stringify({ 'data-collections': tables, type: 'incremental' }),
    ]);
  }

  /**
   * A row inserted into the signal table, seen in the stream (in commit order).
   * Returns the buffered rows to emit when it is the closing watermark of the open window.
   */
  onSignal(row: SignalRow): { rows: Array<{ shape: TableShape; key: unknown; value: Record<string, unknown> }>; next: IncrementalContext | null } | null {
    let data: Record<string, unknown> = {};
    try {
      data = row.data ? (JSON.parse(row.data) as Record<string, unknown>) : {};
    } catch {
      this.d.log.warn({ id: row.id }, 'Signal with data that is not JSON: ignored');
      return null;
    }
    switch (row.type) {
      case 'execute-snapshot': {
        if ((data.type ?? 'incremental') !== 'incremental') {
          this.d.log.warn({ id: row.id, type: data.type }, 'Only incremental ad hoc snapshots are supported: signal ignored');
          return null;
        }
        const wanted = ((data['data-collections'] as string[] | undefined) ?? []).map((t) => tableKey(parseTableName(t)));
        const tables = this.ctx?.tables ?? [];
        const add = wanted.filter((t) => !tables.includes(t));
        if (add.length === 0) return null;
        this.ctx = this.ctx ? { ...this.ctx, tables: [...tables, ...add] } : { tables: add, after: null, max: null };
        this.d.log.info({ id: row.id, tables: add }, 'Incremental snapshot requested');
        return null;
      }
      case 'stop-snapshot': {
        if (!this.ctx) return null;
        const which = ((data['data-collections'] as string[] | undefined) ?? []).map((t) => tableKey(parseTableName(t)));
        const keep = which.length ? this.ctx.tables.filter((t) => !which.includes(t)) : [];
        const currentStopped = keep[0] !== this.ctx.tables[0];
        this.ctx = keep.length ? (currentStopped ? { tables: keep, after: null, max: null } : { ...this.ctx, tables: keep }) : null;
        if (currentStopped) {
          this.window = undefined;
          this.pending = false;
        }
        this.d.log.info({ id: row.id, stopped: which.length ? which : 'all' }, 'Incremental snapshot stopped');
        return null;
      }
      case 'snapshot-window-open':
        if (this.window && data.window === this.window.id) this.window.open = true;
        return null;
      case 'snapshot-window-close': {
        const w = this.window;
        if (!w || data.window !== w.id) return null;
        this.window = undefined;
        this.pending = false;
        return { rows: [...w.buffer.values()].map((r) => ({ shape: w.shape, ...r })), next: w.next };
      }
      default:
        return null;
    }
  }

  /** Sets the context after a closed window's rows went out. */
  advance(next: IncrementalContext | null): void {
    this.ctx = next;
    if (!next) this.d.log.info('Incremental snapshot complete');
  }

  /** A change of a row streamed while a window is open: that key's buffered read is older, drop it. */
  onChange(topic: string, key: unknown): void {
    const w = this.window;
    if (!w || !w.open || w.topic !== topic || key === null || key === undefined) return;
    w.buffer.delete(JSON.stringify(key));
  }

  /**
   * Opens the next window when a snapshot is active and none is in flight:
   * low watermark, the chunk's SELECT, high watermark (each committed on its own).
   */
  async maybeOpenWindow(meta: pg.Client): Promise<void> {
    if (!this.ctx || this.pending) return;
    const ctx = this.ctx;
    const name = parseTableName(ctx.tables[0]!);
    const info = await describeTable(meta, name);
    if (!info || info.primaryKey.length === 0) {
      this.d.log.warn({ table: ctx.tables[0] }, info ? 'Table has no primary key: it cannot be snapshotted incrementally' : 'Table does not exist: skipped');
      this.advance(ctx.tables.length > 1 ? { tables: ctx.tables.slice(1), after: null, max: null } : null);
      return;
    }
    const pkCols = info.primaryKey.map((k) => info.columns.find((c) => c.name === k)!);
    const pkIdx = info.primaryKey.map((k) => info.columns.findIndex((c) => c.name === k));
    const tuple = pkCols.map((c) => qi(c.name)).join(', ');
    const params = (vals: string[], from: number) => pkCols.map((c, i) => `$${from + i}::${c.castType}`).join(', ');
    let max = ctx.max;
    if (!max) {
      const r = await meta.query<string[]>({ text: `SELECT ${tuple} FROM ${qualified(name)} ORDER BY ${tuple} DESC LIMIT 1`, rowMode: 'array' });
      if (r.rows.length === 0) {
        this.advance(ctx.tables.length > 1 ? { tables: ctx.tables.slice(1), after: null, max: null } : null);
        return;
      }
      max = r.rows[0]!.map((v) => String(v));
      this.ctx = { ...ctx, max };
    }
    await this.d.types.resolve(meta, info.columns.map((c) => c.typeOid));
    const shape = buildShape(this.d.prefix, name.schema, name.table, info.columns, info.primaryKey, this.d.types);
    const id = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    const signal = (type: string) =>
      meta.query(`INSERT INTO ${qualified(this.d.signalTable)} (id, type, data) VALUES ($1, $2, $3)`, [`${id}-${type.slice(16)}`, type, JSON.stringify({ window: id })]);
    const window: Window = { id, topic: shape.topic, open: false, shape, buffer: new Map(), next: null };
    this.window = window;
    this.pending = true;
    await signal('snapshot-window-open');
    const values: unknown[] = [];
    let where = `(${tuple}) <= (${params(max, 1)})`;
    values.push(...max);
    if (ctx.after) {
      where += ` AND (${tuple}) > (${params(ctx.after, values.length + 1)})`;
      values.push(...ctx.after);
    }
    const n = this.d.chunkSize;
    const r = await meta.query<Array<string | null>>({ text: `SELECT * FROM ${qualified(name)} WHERE ${where} ORDER BY ${tuple} LIMIT ${n}`, values, rowMode: 'array' });
    const source = { serverName: this.d.prefix, db: this.d.db(), tsMs: Date.now(), snapshot: 'incremental' as const, txId: null, lsn: null };
    for (const row of r.rows) {
      const t: Record<string, unknown> = {};
      info.columns.forEach((c, i) => (t[c.name] = row[i]));
      const after = decodeTuple(shape, t);
      const key = keyOf(shape, after);
      window.buffer.set(JSON.stringify(key), { key, value: envelope(shape, 'r', null, after, source) });
    }
    const last = r.rows[r.rows.length - 1];
    window.next =
      r.rows.length < n || !last
        ? ctx.tables.length > 1
          ? { tables: ctx.tables.slice(1), after: null, max: null }
          : null
        : { tables: ctx.tables, after: pkIdx.map((i) => String(last[i])), max };
    await signal('snapshot-window-close');
  }

  /** Checks a signal before it is written. */
  static validate(signalTable: TableName | null): TableName {
    if (!signalTable) throw new ConfigError({ 'signal.data.collection': ['Ad hoc snapshots need signal.data.collection (a table with columns id, type, data)'] });
    return signalTable;
  }
}
