/**
 * The query-based source task: each table (or the query) is read through a
 * server-side cursor, `batch.max.rows` rows per poll, with per-row offsets
 * `{incrementing, timestamp}` so a restart resumes exactly after the last
 * delivered row.
 */
import type pg from 'pg';
import {
  abortableSleep,
  ConfigError,
  type Logger,
  type Schema,
  type SourceOffset,
  type SourceRecord,
  type SourceTask,
  type SourceTaskContext,
  type TaskConfig,
} from '@ferry/core';
import { closeQuietly, connect, mapQueryError, parseTableName, qi, qualified, type TableName } from './connection.js';
import { describeTable } from './catalog.js';
import { decodeValue, PgTypes, type ColumnCodec } from './types.js';
import { PostgresSourceConfig, type PostgresSourceOptions } from './source-config.js';
import { BulkRound } from './source-bulk.js';

/** Task config key holding the tables assigned to a task (JSON array of {schema, table}). */
export const TASK_TABLES_KEY = 'ferry.task.tables';

const TS_ALIAS = '__ferry_ts';

interface Unit {
  /** undefined for the query */
  table?: TableName;
  partition: Record<string, unknown>;
  topic: string;
  offset: { incrementing?: number | string; timestamp?: string };
  nextDue: number;
  notNull: Set<string>;
  primaryKey: string[];
  schemaName: string;
  /** codecs and schemas of the last result shape */
  shape?: { signature: string; codecs: ColumnCodec[]; valueSchema: Schema; keySchema: Schema | null; keyIdx: number[]; tsIdx: number; incIdx: number };
}

interface OpenCursor {
  unit: Unit;
  /** last complete timestamp (timestamp mode: rows sharing the last timestamp may still follow) */
  lastCompleteTs?: string;
  /** timestamp of the last row read */
  lastSeenTs?: string;
}

export class PostgresSourceTask implements SourceTask {
  private cfg!: PostgresSourceOptions;
  private ctx!: SourceTaskContext;
  private log!: Logger;
  private client?: pg.Client;
  private readonly types = new PgTypes();
  private units: Unit[] = [];
  private rr = 0;
  private cursor?: OpenCursor;
  /** bulk.max.threads above 1: the round in progress and its table. */
  private round?: { unit: Unit; job: BulkRound };
  /** The last finished round of each table (forgotten when the next one ends). */
  private readonly lastRound = new Map<Unit, import('@ferry/core').ChunkJobHandle>();
  /** A failure noticed after a batch was already read (a failed COMMIT): thrown by the next poll(). */
  private pendingError?: Error;

  async start(config: TaskConfig, ctx: SourceTaskContext): Promise<void> {
    this.cfg = PostgresSourceConfig.parse(config);
    this.ctx = ctx;
    this.log = ctx.logger;
    const prefix = this.cfg['topic.prefix'];
    if (this.cfg.query) {
      this.units = [
        { partition: { query: 'query' }, topic: prefix, offset: {}, nextDue: 0, notNull: new Set(), primaryKey: [], schemaName: 'query' },
      ];
    } else {
      const tables: TableName[] = config[TASK_TABLES_KEY]
        ? JSON.parse(config[TASK_TABLES_KEY])
        : (this.cfg['table.include.list'] ?? []).map((t) => parseTableName(t));
      this.units = tables.map((t) => ({
        table: t,
        partition: { table: `${t.schema}.${t.table}` },
        topic: prefix + t.table,
        offset: {},
        nextDue: 0,
        notNull: new Set<string>(),
        primaryKey: [],
        schemaName: t.table,
      }));
    }
    const stored = await ctx.offsetReader.offsets(this.units.map((u) => u.partition));
    for (const [p, off] of stored) {
      const u = this.units.find((x) => JSON.stringify(x.partition) === JSON.stringify(p));
      if (u && off) u.offset = { ...(off as Unit['offset']) };
    }
    const initial = this.cfg['timestamp.initial'];
    if (initial !== undefined && this.cfg.mode.startsWith('timestamp')) {
      const ts = (initial === -1 ? new Date() : new Date(initial)).toISOString();
      for (const u of this.units) if (u.offset.timestamp === undefined) u.offset.timestamp = ts;
    }
    await this.ensureClient();
  }

  private async ensureClient(): Promise<pg.Client> {
    if (this.client) return this.client;
    this.client = await connect(this.cfg);
    this.client.on('error', (err) => {
      this.log.warn({ err }, 'PostgreSQL connection lost');
      const c = this.client;
      this.client = undefined;
      this.cursor = undefined;
      void closeQuietly(c);
    });
    for (const u of this.units) {
      if (!u.table) continue;
      const info = await describeTable(this.client, u.table);
      if (!info) {
        throw new ConfigError({ 'table.include.list': [`Table ${u.table.schema}.${u.table.table} does not exist`] });
      }
      u.notNull = new Set(info.columns.filter((c) => c.notNull).map((c) => c.name));
      u.primaryKey = info.primaryKey;
    }
    return this.client;
  }

  async poll(): Promise<SourceRecord[]> {
    const signal = this.ctx.signal;
    if (this.pendingError) {
      // reported one poll late: the rows read before it were valid and were delivered first
      const err = this.pendingError;
      this.pendingError = undefined;
      throw err;
    }
    if (this.cfg.mode === 'bulk' && this.cfg['bulk.max.threads'] > 1 && this.ctx.jobs && !this.cfg.query) return this.pollRound(signal);
    while (!signal.aborted) {
      let client: pg.Client;
      try {
        client = await this.ensureClient();
      } catch (err) {
        throw mapQueryError(err, 'Connecting to PostgreSQL');
      }
      if (!this.cursor) {
        const unit = this.nextDueUnit();
        if (!unit) {
          const wait = Math.min(...this.units.map((u) => u.nextDue)) - Date.now();
          await abortableSleep(Math.min(Math.max(wait, 1), 1000), signal);
          return [];
        }
        await this.openCursor(client, unit);
      }
      const cur = this.cursor!;
      const batch = this.cfg['batch.max.rows'];
      let res: pg.QueryResult<unknown[]>;
      try {
        res = await client.query({ text: `FETCH FORWARD ${batch} FROM ferry_cursor`, rowMode: 'array' });
      } catch (err) {
        await this.abandonCursor();
        throw mapQueryError(err, `Reading ${describeUnit(cur.unit)}`);
      }
      const exhausted = res.rows.length < batch;
      const records = await this.toRecords(client, cur, res, exhausted);
      if (exhausted) {
        // The cursor ended: the trailing group of equal timestamps is complete even if no record said so.
        if (cur.lastSeenTs !== undefined && this.cfg.mode === 'timestamp') cur.unit.offset.timestamp = cur.lastSeenTs;
        this.cursor = undefined;
        cur.unit.nextDue = Date.now() + this.cfg['poll.interval.ms'];
        try {
          await client.query('COMMIT');
        } catch (err) {
          // The rows of this read-only transaction are already in hand; the session is not. A new
          // one is opened on the next poll, which reports this failure (retried by the runtime).
          const mapped = mapQueryError(err, `Ending the read of ${describeUnit(cur.unit)} (COMMIT)`);
          if (this.client === client) this.client = undefined;
          void closeQuietly(client);
          if (records.length === 0) throw mapped;
          this.pendingError = mapped;
        }
      }
      if (records.length > 0) return records;
    }
    return [];
  }

  /** Bulk rounds as chunked jobs: the records go out through the job facility, this task only paces the rounds. */
  private async pollRound(signal: AbortSignal): Promise<SourceRecord[]> {
    if (this.round) {
      if (await this.round.job.poll(signal)) {
        this.round.unit.nextDue = Date.now() + this.cfg['poll.interval.ms'];
        this.lastRound.set(this.round.unit, this.round.job.handle);
        this.round = undefined;
      }
      return [];
    }
    const unit = this.nextDueUnit();
    if (!unit) {
      const wait = Math.min(...this.units.map((u) => u.nextDue)) - Date.now();
      await abortableSleep(Math.min(Math.max(wait, 1), 1000), signal);
      return [];
    }
    try {
      this.round = { unit, job: await BulkRound.submit(this.ctx.jobs!, this.cfg, unit.table!, this.log, this.lastRound.get(unit)) };
    } catch (err) {
      throw mapQueryError(err, `Bulk copy of ${describeUnit(unit)}`);
    }
    return [];
  }

  private nextDueUnit(): Unit | undefined {
    const now = Date.now();
    for (let i = 0; i < this.units.length; i++) {
      const u = this.units[(this.rr + i) % this.units.length]!;
      if (u.nextDue <= now) {
        this.rr = (this.rr + i + 1) % this.units.length;
        return u;
      }
    }
    return undefined;
  }

  private async openCursor(client: pg.Client, unit: Unit): Promise<void> {
    const { text, values } = this.buildQuery(unit);
    try {
      await client.query('BEGIN READ ONLY');
      await client.query(`DECLARE ferry_cursor NO SCROLL CURSOR FOR ${text}`, values);
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw mapQueryError(err, `Querying ${describeUnit(unit)}`);
    }
    this.cursor = { unit };
    if (unit.offset.timestamp !== undefined) this.cursor.lastCompleteTs = unit.offset.timestamp;
  }

  private async abandonCursor(): Promise<void> {
    this.cursor = undefined;
    await this.client?.query('ROLLBACK').catch(() => {});
  }

  private buildQuery(unit: Unit): { text: string; values: unknown[] } {
    const mode = this.cfg.mode;
    const from = unit.table ? qualified(unit.table) : `(${this.cfg.query}) AS ferry_query`;
    const inc = this.cfg['incrementing.column.name'] ? qi(this.cfg['incrementing.column.name']) : '';
    const tsCols = (this.cfg['timestamp.column.name'] ?? []).map(qi);
    const ts = tsCols.length > 1 ? `COALESCE(${tsCols.join(', ')})` : (tsCols[0] ?? '');
    const values: unknown[] = [];
    const where: string[] = [];
    const p = (v: unknown) => {
      values.push(v);
      return `$${values.length}`;
    };
    let select = '*';
    let order = '';
    if (mode === 'incrementing') {
      if (unit.offset.incrementing !== undefined) where.push(`${inc} > ${p(String(unit.offset.incrementing))}`);
      order = `${inc} ASC`;
    } else if (mode === 'timestamp' || mode === 'timestamp+incrementing') {
      select = `*, (${ts})::text AS ${TS_ALIAS}`;
      where.push(`${ts} < CURRENT_TIMESTAMP - (${p(this.cfg['timestamp.delay.interval.ms'])}::float8 * interval '1 millisecond')`);
      const last = unit.offset.timestamp;
      if (mode === 'timestamp') {
        if (last !== undefined) where.push(`${ts} > ${p(last)}`);
        order = `${ts} ASC`;
      } else {
        if (last !== undefined) {
          const lp = p(last);
          if (unit.offset.incrementing !== undefined) where.push(`(${ts} > ${lp} OR (${ts} = ${lp} AND ${inc} > ${p(String(unit.offset.incrementing))}))`);
          else where.push(`${ts} >= ${lp}`);
        }
        order = `${ts} ASC, ${inc} ASC`;
      }
    }
    let text = `SELECT ${select} FROM ${from}`;
    if (where.length) text += ` WHERE ${where.join(' AND ')}`;
    if (order) text += ` ORDER BY ${order}`;
    return { text, values };
  }

  private async shapeOf(client: pg.Client, unit: Unit, fields: pg.FieldDef[]) {
    const signature = fields.map((f) => `${f.name}:${f.dataTypeID}:${f.dataTypeModifier}`).join(',');
    if (unit.shape?.signature === signature) return unit.shape;
    await this.types.resolve(client, fields.map((f) => f.dataTypeID));
    const codecs = fields.map((f) =>
      this.types.codec(f.name, f.dataTypeID, f.dataTypeModifier, !unit.notNull.has(f.name) || f.name === TS_ALIAS),
    );
    const valueCodecs = codecs.filter((c) => c.name !== TS_ALIAS);
    const valueSchema: Schema = { type: 'struct', name: unit.schemaName, optional: false, fields: valueCodecs.map((c) => c.field) };
    const keyIdx = unit.primaryKey.map((k) => fields.findIndex((f) => f.name === k));
    const keySchema: Schema | null =
      unit.primaryKey.length > 0 && keyIdx.every((i) => i >= 0)
        ? { type: 'struct', name: `${unit.schemaName}.Key`, optional: false, fields: keyIdx.map((i) => ({ ...codecs[i]!.field, optional: false })) }
        : null;
    const incName = this.cfg['incrementing.column.name'];
    unit.shape = {
      signature,
      codecs,
      valueSchema,
      keySchema,
      keyIdx,
      tsIdx: fields.findIndex((f) => f.name === TS_ALIAS),
      incIdx: incName ? fields.findIndex((f) => f.name === incName) : -1,
    };
    if (incName && unit.shape.incIdx < 0) {
      throw new ConfigError({ 'incrementing.column.name': [`Column "${incName}" not found in ${describeUnit(unit)}`] });
    }
    return unit.shape;
  }

  private async toRecords(client: pg.Client, cur: OpenCursor, res: pg.QueryResult<unknown[]>, exhausted: boolean): Promise<SourceRecord[]> {
    const unit = cur.unit;
    if (res.rows.length === 0) return [];
    const shape = await this.shapeOf(client, unit, res.fields);
    const mode = this.cfg.mode;
    const out: SourceRecord[] = [];
    const rows = res.rows as Array<Array<string | null>>;
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!;
      const value: Record<string, unknown> = {};
      for (let i = 0; i < shape.codecs.length; i++) {
        const c = shape.codecs[i]!;
        if (i === shape.tsIdx) continue;
        value[c.name] = decodeValue(c, row[i]);
      }
      let key: Record<string, unknown> | null = null;
      if (shape.keySchema) {
        key = {};
        for (const i of shape.keyIdx) key[shape.codecs[i]!.name] = value[shape.codecs[i]!.name];
      }
      const offset: SourceOffset = {};
      if (mode === 'incrementing' || mode === 'timestamp+incrementing') {
        const raw = row[shape.incIdx];
        if (raw !== null && raw !== undefined) {
          const n = Number(raw);
          unit.offset.incrementing = Number.isSafeInteger(n) ? n : raw;
        }
      }
      if (mode === 'timestamp+incrementing') {
        const t = row[shape.tsIdx];
        if (t !== null && t !== undefined) unit.offset.timestamp = t;
      } else if (mode === 'timestamp') {
        // Rows sharing a timestamp are only complete once a later one (or the end) is seen:
        // until then the offset stays at the previous timestamp so a restart re-reads the group.
        const t = row[shape.tsIdx];
        const next = r + 1 < rows.length ? rows[r + 1]![shape.tsIdx] : undefined;
        if (t !== null && t !== undefined) {
          cur.lastSeenTs = t;
          if ((next !== undefined && next !== t) || (next === undefined && exhausted)) cur.lastCompleteTs = t;
        }
        if (cur.lastCompleteTs !== undefined) unit.offset.timestamp = cur.lastCompleteTs;
      }
      if (unit.offset.incrementing !== undefined) offset.incrementing = unit.offset.incrementing;
      if (unit.offset.timestamp !== undefined) offset.timestamp = unit.offset.timestamp;
      out.push({
        sourcePartition: unit.partition,
        sourceOffset: offset,
        topic: unit.topic,
        keySchema: shape.keySchema,
        key,
        valueSchema: shape.valueSchema,
        value,
      });
    }
    return out;
  }

  async stop(): Promise<void> {
    await this.round?.job.release();
    this.round = undefined;
    const c = this.client;
    this.client = undefined;
    this.cursor = undefined;
    await closeQuietly(c);
  }
}

function describeUnit(u: Unit): string {
  return u.table ? `table ${u.table.schema}.${u.table.table}` : 'the configured query';
}
