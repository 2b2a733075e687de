/**
 * The sink task: each put() is one transaction of bulk statements. With
 * `exactly.once`, the consumed offsets are written in that same transaction
 * (their rows locked first, so two tasks never both apply a record) and the
 * task seeks to them in open().
 */
import type pg from 'pg';
import {
  ConnectError,
  DataError,
  RetriableError,
  topicPartitionKey,
  type Logger,
  type SinkRecord,
  type SinkTask,
  type SinkTaskContext,
  type TaskConfig,
  type TopicPartition,
  type TopicPartitionOffset,
} from '@ferry/core';
import { closeQuietly, connect, isDataErrorCode, mapQueryError, parseTableName, qi, qualified, tableKey, type TableName } from './connection.js';
import { describeTable, type ColumnInfo, type TableInfo } from './catalog.js';
import { PostgresSinkConfig, type PostgresSinkOptions } from './sink-config.js';
import { toOp, where, type Cell, type Op } from './sink-record.js';
import { writeGroup, type RowGroup, type RowKind } from './sink-sql.js';
import { sqlTypeForSchema, sqlTypeForValue, toPgText } from './types.js';

interface Failure {
  record: SinkRecord;
  error: Error;
}

export class PostgresSinkTask implements SinkTask {
  private cfg!: PostgresSinkOptions;
  private ctx!: SinkTaskContext;
  private log!: Logger;
  private client?: pg.Client;
  private readonly tables = new Map<string, TableInfo>();
  /** exactly.once: next offset per partition, as stored in the database */
  private readonly stored = new Map<string, number>();
  private offsetsTable!: TableName;

  async start(config: TaskConfig, ctx: SinkTaskContext): Promise<void> {
    this.cfg = PostgresSinkConfig.parse(config);
    this.ctx = ctx;
    this.log = ctx.logger;
    this.offsetsTable = parseTableName(this.cfg['exactly.once.offsets.table']);
    const client = await this.ensureClient();
    if (this.cfg['exactly.once']) {
      await client
        .query(
          `CREATE TABLE IF NOT EXISTS ${qualified(this.offsetsTable)} (
             connector text NOT NULL, topic text NOT NULL, "partition" int NOT NULL, next_offset bigint NOT NULL,
             PRIMARY KEY (connector, topic, "partition"))`,
        )
        .catch((err) => {
          // two tasks racing to create it: the loser sees a unique violation on pg_type
          if ((err as { code?: string }).code !== '23505') throw mapQueryError(err, `Creating ${qualified(this.offsetsTable)}`);
        });
    }
  }

  private async ensureClient(): Promise<pg.Client> {
    if (this.client) return this.client;
    const c = await connect(this.cfg);
    c.on('error', (err) => {
      this.log.warn({ err }, 'PostgreSQL connection lost');
      if (this.client === c) this.client = undefined;
      void closeQuietly(c);
    });
    this.client = c;
    return c;
  }

  async open(partitions: TopicPartition[]): Promise<void> {
    if (!this.cfg['exactly.once'] || partitions.length === 0) return;
    const client = await this.ensureClient();
    let res;
    try {
      res = await client.query(
        `SELECT topic, "partition", next_offset FROM ${qualified(this.offsetsTable)}
          WHERE connector = $1 AND (topic, "partition") IN (SELECT * FROM unnest($2::text[], $3::int[]))`,
        [this.ctx.connectorName, partitions.map((p) => p.topic), partitions.map((p) => p.partition)],
      );
    } catch (err) {
      throw mapQueryError(err, `Reading stored offsets from ${qualified(this.offsetsTable)}`);
    }
    const seeks: TopicPartitionOffset[] = [];
    for (const row of res.rows) {
      const next = Number(row.next_offset);
      if (next < 0) continue;
      const tp = { topic: row.topic as string, partition: Number(row.partition) };
      this.stored.set(topicPartitionKey(tp), next);
      seeks.push({ ...tp, offset: next });
    }
    if (seeks.length) {
      this.log.info({ seeks }, 'Resuming from offsets stored in PostgreSQL');
      this.ctx.offset(seeks);
    }
  }

  async close(partitions: TopicPartition[]): Promise<void> {
    for (const p of partitions) this.stored.delete(topicPartitionKey(p));
  }

  async put(records: SinkRecord[]): Promise<void> {
    if (records.length === 0) return;
    const eo = this.cfg['exactly.once'];
    const ops: Op[] = [];
    const failures: Failure[] = [];
    for (const r of records) {
      if (eo && r.kafkaOffset < (this.stored.get(topicPartitionKey({ topic: r.topic, partition: r.kafkaPartition })) ?? -1)) continue;
      try {
        ops.push(toOp(r, this.cfg));
      } catch (err) {
        if (err instanceof DataError) failures.push({ record: r, error: err });
        else throw err;
      }
    }
    let client: pg.Client;
    try {
      client = await this.ensureClient();
    } catch (err) {
      throw mapQueryError(err, 'Connecting to PostgreSQL');
    }
    const ready = await this.prepareTables(client, ops, failures);
    await this.transact(client, records, ready, failures, true);
  }

  /** Creates or evolves target tables; ops that cannot be written become failures. */
  private async prepareTables(client: pg.Client, ops: Op[], failures: Failure[]): Promise<Op[]> {
    const byTable = new Map<string, Op[]>();
    for (const op of ops) {
      if (op.kind === 'skip') continue;
      const k = tableKey(op.table);
      (byTable.get(k) ?? byTable.set(k, []).get(k)!).push(op);
    }
    const bad = new Set<Op>();
    for (const [k, tops] of byTable) {
      try {
        let info = await this.tableInfo(client, tops[0]!.table);
        if (!info) {
          if (!this.cfg['auto.create']) {
            for (const op of tops) {
              bad.add(op);
              failures.push({ record: op.record, error: new DataError(`Table ${k} does not exist and auto.create is false (${where(op.record)})`) });
            }
            continue;
          }
          info = await this.createTable(client, tops);
        }
        const missing = new Map<string, Cell>();
        for (const op of tops) {
          if (op.kind === 'truncate') continue;
          for (const [col, cell] of op.row) {
            if (info.columns.some((c) => c.name === col)) continue;
            if (this.cfg['auto.evolve'] && op.kind !== 'delete') {
              if (!missing.has(col) || (missing.get(col)!.value == null && cell.value != null)) missing.set(col, cell);
            } else if (!bad.has(op)) {
              bad.add(op);
              const hint = op.kind === 'delete' ? '' : ' and auto.evolve is false';
              failures.push({
                record: op.record,
                error: new DataError(`Field "${col}" of ${where(op.record)} has no column in table ${k}${hint}`),
              });
            }
          }
        }
        if (missing.size > 0) info = await this.evolveTable(client, info, missing);
      } catch (err) {
        throw mapQueryError(err, `Preparing table ${k}`);
      }
    }
    return ops.filter((op) => !bad.has(op));
  }

  private async tableInfo(client: pg.Client, name: TableName): Promise<TableInfo | undefined> {
    const k = tableKey(name);
    const cached = this.tables.get(k);
    if (cached) return cached;
    const info = await describeTable(client, name);
    if (info) this.tables.set(k, info);
    return info;
  }

  private columnType(cell: Cell): string {
    if (cell.schema) return sqlTypeForSchema(cell.schema);
    return sqlTypeForValue(cell.value);
  }

  private async createTable(client: pg.Client, ops: Op[]): Promise<TableInfo> {
    const name = ops[0]!.table;
    const cols = new Map<string, Cell>();
    let keyCols: string[] = [];
    for (const op of ops) {
      if (op.kind === 'delete' || op.kind === 'truncate') continue;
      if (keyCols.length === 0) keyCols = op.keyCols;
      for (const [c, cell] of op.row) {
        const prev = cols.get(c);
        if (!prev || (!prev.schema && prev.value == null && (cell.schema || cell.value != null))) cols.set(c, cell);
      }
    }
    if (keyCols.length === 0) keyCols = ops.find((o) => o.keyCols.length)?.keyCols ?? [];
    for (const k of keyCols) if (!cols.has(k)) cols.set(k, ops.find((o) => o.row.has(k))!.row.get(k)!);
    const keySet = new Set(keyCols);
    const defs = [...cols].map(([c, cell]) => {
      const notNull = keySet.has(c) || (cell.schema && cell.schema.optional === false);
      return `${qi(c)} ${this.columnType(cell)}${notNull ? ' NOT NULL' : ''}`;
    });
    if (keyCols.length) defs.push(`PRIMARY KEY (${keyCols.map(qi).join(', ')})`);
    const sql = `CREATE TABLE IF NOT EXISTS ${qualified(name)} (${defs.join(', ')})`;
    this.log.info({ table: tableKey(name), sql }, 'Creating table (auto.create)');
    await client.query(sql);
    this.tables.delete(tableKey(name));
    const info = await this.tableInfo(client, name);
    if (!info) throw new ConnectError(`Table ${tableKey(name)} was created but cannot be found`);
    return info;
  }

  private async evolveTable(client: pg.Client, info: TableInfo, add: Map<string, Cell>): Promise<TableInfo> {
    const clauses = [...add].map(([c, cell]) => `ADD COLUMN IF NOT EXISTS ${qi(c)} ${this.columnType(cell)}`);
    const sql = `ALTER TABLE ${qualified(info.name)} ${clauses.join(', ')}`;
    this.log.info({ table: tableKey(info.name), sql }, 'Adding columns (auto.evolve)');
    await client.query(sql);
    this.tables.delete(tableKey(info.name));
    return (await this.tableInfo(client, info.name))!;
  }

  /**
   * Writes the ops and (exactly.once) the offsets in one transaction. When a
   * bulk statement fails on a row's content, the same work is redone one row
   * at a time under savepoints to single out the bad records.
   */
  private async transact(client: pg.Client, records: SinkRecord[], ops: Op[], conversionFailures: Failure[], bulk: boolean): Promise<void> {
    const eo = this.cfg['exactly.once'];
    const failures = [...conversionFailures];
    let locked = new Map<string, number>();
    try {
      await client.query('BEGIN');
      if (eo) {
        locked = await this.lockOffsets(client, records);
        const keep = (r: SinkRecord) => r.kafkaOffset >= (locked.get(topicPartitionKey({ topic: r.topic, partition: r.kafkaPartition })) ?? -1);
        ops = ops.filter((o) => keep(o.record));
        for (let i = failures.length - 1; i >= 0; i--) if (!keep(failures[i]!.record)) failures.splice(i, 1);
      }
      if (bulk) await this.writeBulk(client, ops);
      else await this.writeOneByOne(client, ops, failures);
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      if (bulk && isDataErrorCode((err as { code?: string }).code)) {
        this.log.debug({ err }, 'A bulk statement failed on a row: retrying row by row to find it');
        return this.transact(client, records, ops, conversionFailures, false);
      }
      const code = (err as { code?: string }).code;
      if (code === '42703' || code === '42P01') {
        // the table changed under us: describe it again on the retry
        this.tables.clear();
        throw new RetriableError(`Target table changed while writing: ${(err as Error).message}`, { cause: err });
      }
      throw mapQueryError(err, `Writing ${records.length} records (${where(records[0]!)} ...)`);
    }
    try {
      if (failures.length) {
        const reporter = this.ctx.errantRecordReporter;
        if (!reporter) {
          const f = failures[0]!;
          throw f.error instanceof DataError ? f.error : new DataError(f.error.message, { cause: f.error });
        }
        for (const f of failures) await reporter.report(f.record, f.error);
      }
      if (eo) await this.writeOffsets(client, records, locked);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw mapQueryError(err, `Committing ${records.length} records`);
    }
    if (eo) {
      for (const r of records) {
        const k = topicPartitionKey({ topic: r.topic, partition: r.kafkaPartition });
        this.stored.set(k, Math.max(this.stored.get(k) ?? -1, r.kafkaOffset + 1));
      }
    }
  }

  private async lockOffsets(client: pg.Client, records: SinkRecord[]): Promise<Map<string, number>> {
    const tps = new Map<string, TopicPartition>();
    for (const r of records) tps.set(topicPartitionKey({ topic: r.topic, partition: r.kafkaPartition }), { topic: r.topic, partition: r.kafkaPartition });
    const topics = [...tps.values()].map((t) => t.topic);
    const parts = [...tps.values()].map((t) => t.partition);
    const t = qualified(this.offsetsTable);
    await client.query(
      `INSERT INTO ${t} (connector, topic, "partition", next_offset)
       SELECT $1, v.topic, v.p, -1 FROM unnest($2::text[], $3::int[]) AS v(topic, p) ON CONFLICT DO NOTHING`,
      [this.ctx.connectorName, topics, parts],
    );
    const res = await client.query(
      `SELECT topic, "partition", next_offset FROM ${t}
        WHERE connector = $1 AND (topic, "partition") IN (SELECT * FROM unnest($2::text[], $3::int[])) FOR UPDATE`,
      [this.ctx.connectorName, topics, parts],
    );
    const out = new Map<string, number>();
    for (const row of res.rows) out.set(topicPartitionKey({ topic: row.topic, partition: Number(row.partition) }), Number(row.next_offset));
    return out;
  }

  private async writeOffsets(client: pg.Client, records: SinkRecord[], locked: Map<string, number>): Promise<void> {
    const next = new Map<string, { topic: string; partition: number; offset: number }>();
    for (const r of records) {
      const k = topicPartitionKey({ topic: r.topic, partition: r.kafkaPartition });
      const cur = next.get(k);
      if (!cur || r.kafkaOffset + 1 > cur.offset) next.set(k, { topic: r.topic, partition: r.kafkaPartition, offset: r.kafkaOffset + 1 });
    }
    const rows = [...next.entries()].filter(([k, v]) => v.offset > (locked.get(k) ?? -1)).map(([, v]) => v);
    if (rows.length === 0) return;
    await client.query(
      `UPDATE ${qualified(this.offsetsTable)} AS t SET next_offset = v.o
         FROM unnest($2::text[], $3::int[], $4::int8[]) AS v(topic, p, o)
        WHERE t.connector = $1 AND t.topic = v.topic AND t."partition" = v.p`,
      [this.ctx.connectorName, rows.map((r) => r.topic), rows.map((r) => r.partition), rows.map((r) => r.offset)],
    );
  }

  private groupFor(kind: RowKind, info: TableInfo, keyCols: string[], rows: Array<Map<string, Cell>>): RowGroup {
    const names: string[] = [];
    const seen = new Set<string>();
    for (const r of rows) for (const c of r.keys()) if (!seen.has(c)) seen.add(c) && names.push(c);
    const cols = names.map((n) => info.columns.find((c) => c.name === n)!).filter(Boolean) as ColumnInfo[];
    return { kind, table: info, cols, keyCols, rows };
  }

  private keyString(op: Op): string {
    return op.keyCols.map((k) => {
      const cell = op.row.get(k);
      return cell ? (toPgText(cell.value, '', cell.schema) ?? '\u0001') : '\u0001';
    }).join('\u0000');
  }

  /** Writes ops table by table; a truncate splits a table's ops in two. */
  private async writeBulk(client: pg.Client, ops: Op[]): Promise<void> {
    const byTable = new Map<string, Op[]>();
    for (const op of ops) if (op.kind !== 'skip') (byTable.get(tableKey(op.table)) ?? byTable.set(tableKey(op.table), []).get(tableKey(op.table))!).push(op);
    const size = this.cfg['batch.size'];
    for (const [k, tops] of byTable) {
      const info = this.tables.get(k)!;
      let segment: Op[] = [];
      for (const op of [...tops, undefined]) {
        if (op && op.kind !== 'truncate') {
          segment.push(op);
          continue;
        }
        for (const g of this.plan(info, segment)) await writeGroup(client, g, size);
        segment = [];
        if (op) await client.query(`TRUNCATE ${qualified(info.name)}`);
      }
    }
  }

  /**
   * Turns a table's ops into row groups with the same final effect. Upserts
   * and deletes are folded per key (last one wins, later fields overlay
   * earlier ones); anything else keeps its order in runs of the same kind.
   */
  private plan(info: TableInfo, ops: Op[]): RowGroup[] {
    if (ops.length === 0) return [];
    const groups: RowGroup[] = [];
    const foldable = ops.every((o) => (o.kind === 'upsert' || o.kind === 'delete') && o.keyCols.length > 0);
    if (foldable) {
      const keyCols = ops[0]!.keyCols;
      const state = new Map<string, { kind: 'upsert' | 'delete' | 'replace'; op: Op; row: Map<string, Cell> }>();
      for (const op of ops) {
        const k = this.keyString(op);
        const prev = state.get(k);
        if (op.kind === 'delete') state.set(k, { kind: 'delete', op, row: op.row });
        else if (!prev) state.set(k, { kind: 'upsert', op, row: op.row });
        else if (prev.kind === 'delete') state.set(k, { kind: 'replace', op, row: op.row });
        else state.set(k, { kind: prev.kind, op, row: new Map([...prev.row, ...op.row]) });
      }
      const deletes: Array<Map<string, Cell>> = [];
      const upserts = new Map<string, Array<Map<string, Cell>>>();
      for (const s of state.values()) {
        if (s.kind !== 'upsert') deletes.push(new Map(keyCols.map((c) => [c, s.row.get(c) ?? s.op.row.get(c)!])));
        if (s.kind !== 'delete') {
          const sig = [...s.row.keys()].join('\u0000');
          (upserts.get(sig) ?? upserts.set(sig, []).get(sig)!).push(s.row);
        }
      }
      if (deletes.length) groups.push(this.groupFor('delete', info, keyCols, deletes));
      for (const rows of upserts.values()) groups.push(this.groupFor('upsert', info, keyCols, rows));
      return groups;
    }
    let run: Op[] = [];
    let sig = '';
    const flush = () => {
      if (!run.length) return;
      const kind = run[0]!.kind as RowKind;
      let rows = run.map((o) => o.row);
      if ((kind === 'upsert' || kind === 'update') && run[0]!.keyCols.length) {
        const last = new Map<string, Map<string, Cell>>();
        for (const o of run) {
          const k = this.keyString(o);
          last.set(k, new Map([...(last.get(k) ?? []), ...o.row]));
        }
        rows = [...last.values()];
      }
      groups.push(this.groupFor(kind, info, run[0]!.keyCols, rows));
      run = [];
    };
    for (const op of ops) {
      const s = `${op.kind}|${op.keyCols.join(',')}|${[...op.row.keys()].join('\u0000')}`;
      if (s !== sig) {
        flush();
        sig = s;
      }
      run.push(op);
    }
    flush();
    return groups;
  }

  private async writeOneByOne(client: pg.Client, ops: Op[], failures: Failure[]): Promise<void> {
    for (const op of ops) {
      if (op.kind === 'skip') continue;
      const info = this.tables.get(tableKey(op.table))!;
      await client.query('SAVEPOINT ferry_row');
      try {
        if (op.kind === 'truncate') await client.query(`TRUNCATE ${qualified(info.name)}`);
        else await writeGroup(client, this.groupFor(op.kind, info, op.keyCols, [op.row]), 1);
        await client.query('RELEASE SAVEPOINT ferry_row');
      } catch (err) {
        await client.query('ROLLBACK TO SAVEPOINT ferry_row');
        const code = (err as { code?: string }).code;
        if (!isDataErrorCode(code)) throw err;
        failures.push({
          record: op.record,
          error: new DataError(`${where(op.record)} rejected by table ${tableKey(op.table)}: ${(err as Error).message}`, { cause: err }),
        });
      }
    }
  }

  async flush(): Promise<void> {
    // every put() committed its own transaction
  }

  async preCommit(offsets: TopicPartitionOffset[]): Promise<TopicPartitionOffset[]> {
    return offsets;
  }

  async stop(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await closeQuietly(c);
  }
}
