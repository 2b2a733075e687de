/**
 * The parallel initial snapshot: the captured tables split into chunks by
 * primary-key range, each chunk read in its own REPEATABLE READ transaction
 * that imports the same exported snapshot (as `pg_dump -j` does), so the
 * union of the chunks is exactly the database at the slot's consistent
 * point. The runtime runs the chunks (on any worker); a chunk's position is
 * the primary key of its last delivered row, so a retried chunk resumes
 * right after it.
 *
 * When the exported snapshot is gone (the task that held it stopped), a
 * chunk reads a fresh snapshot instead: still no row twice, and replaying
 * the slot from its start afterwards brings a keyed target to the same state.
 */
import type { Readable } from 'node:stream';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { ChunkContext, ChunkPlanItem, ChunkRunner, JsonObject, Logger, SourceRecord } from '@ferry/core';
import { closeQuietly, connect, mapQueryError, qi, qualified, tableKey, type ConnectionOptions, type TableName } from './connection.js';
import { describeTable, type TableInfo } from './catalog.js';
import { PostgresCdcConfig } from './cdc-config.js';
import { buildShape, sourceStruct, type SourceInfo, type TableShape } from './cdc-events.js';
import { PgTypes, type ColumnCodec } from './types.js';

const INTEGER_TYPES = new Set(['int2', 'int4', 'int8']);

/** One chunk: a table and a half-open range `[lo, hi)` of its single integer key (null: unbounded). */
export interface SnapshotChunk extends JsonObject {
  schema: string;
  table: string;
  lo: string | null;
  hi: string | null;
  snapshot: string | null;
  lsn: string;
  txId: number | null;
  startedAt: number;
}

/** Opens a REPEATABLE READ transaction on `snapshotName`, or on a fresh snapshot when it is no longer importable. */
export async function beginSnapshot(client: pg.Client, snapshotName: string | null, log?: Logger): Promise<boolean> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  if (!snapshotName) return false;
  try {
    await client.query(`SET TRANSACTION SNAPSHOT '${snapshotName.replace(/'/g, "''")}'`);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code !== '22023') throw err;
    log?.warn({ snapshot: snapshotName }, 'The exported snapshot is gone: reading this chunk from a fresh snapshot');
    await client.query('ROLLBACK');
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    return false;
  }
}

/** Splits every table into at most `threads` key ranges (tables without a single integer key are one chunk). */
export async function planSnapshot(
  conn: ConnectionOptions,
  tables: TableName[],
  o: { snapshotName: string | null; threads: number; lsn: bigint; txId: number | null },
): Promise<{ items: ChunkPlanItem[]; txId: number }> {
  const client = await connect(conn);
  const out: ChunkPlanItem[] = [];
  const startedAt = Date.now();
  try {
    await beginSnapshot(client, o.snapshotName);
    const x = await client.query(`SELECT pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())::text AS xmin`);
    o = { ...o, txId: o.txId ?? Number(x.rows[0].xmin) };
    for (const name of [...tables].sort((a, b) => tableKey(a).localeCompare(tableKey(b)))) {
      const info = await describeTable(client, name);
      if (!info) throw new Error(`Table ${tableKey(name)} does not exist`);
      const est = await client.query(`SELECT GREATEST(reltuples, 0)::int8::text AS n FROM pg_catalog.pg_class WHERE oid = $1`, [info.oid]);
      const estimate = Number(est.rows[0]?.n ?? 0);
      const base = { schema: name.schema, table: name.table, snapshot: o.snapshotName, lsn: o.lsn.toString(), txId: o.txId, startedAt };
      const pk = info.primaryKey.length === 1 ? info.columns.find((c) => c.name === info.primaryKey[0]) : undefined;
      if (!pk || !INTEGER_TYPES.has(pk.typeName) || o.threads <= 1) {
        out.push({ chunk: { ...base, lo: null, hi: null }, estimatedRows: estimate, label: tableKey(name) });
        continue;
      }
      const r = await client.query(`SELECT min(${qi(pk.name)})::text AS lo, max(${qi(pk.name)})::text AS hi FROM ${qualified(name)}`);
      const lo = r.rows[0].lo === null ? null : BigInt(r.rows[0].lo);
      const hi = r.rows[0].hi === null ? null : BigInt(r.rows[0].hi) + 1n;
      const n = BigInt(o.threads);
      if (lo === null || hi === null || hi - lo < n) {
        out.push({ chunk: { ...base, lo: null, hi: null }, estimatedRows: estimate, label: tableKey(name) });
        continue;
      }
      const step = (hi - lo + n - 1n) / n;
      for (let i = 0n; i < n; i++) {
        const a = lo + i * step;
        if (a >= hi) break;
        const b = a + step;
        // The outer chunks are open-ended: a fresh snapshot (see above) may hold keys outside [min, max].
        const chunk: SnapshotChunk = { ...base, lo: i === 0n ? null : a.toString(), hi: b >= hi ? null : b.toString() };
        out.push({ chunk, estimatedRows: Math.round(estimate / o.threads), label: `${tableKey(name)} [${chunk.lo ?? '-inf'}, ${chunk.hi ?? '+inf'})` });
      }
    }
    await client.query('COMMIT');
    return { items: out, txId: o.txId! };
  } catch (err) {
    throw mapQueryError(err, 'Planning the snapshot');
  } finally {
    await closeQuietly(client);
  }
}

/** Text-format COPY field: `\N` is null, backslash escapes otherwise. */
function unescapeCopy(f: string): string | null {
  if (f === '\\N') return null;
  if (f.indexOf('\\') < 0) return f;
  let out = '';
  for (let i = 0; i < f.length; i++) {
    const ch = f[i]!;
    if (ch !== '\\' || i + 1 >= f.length) {
      out += ch;
      continue;
    }
    const n = f[++i]!;
    switch (n) {
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case 'x': {
        const m = /^[0-9a-fA-F]{1,2}/.exec(f.slice(i + 1))![0];
        out += String.fromCharCode(parseInt(m, 16));
        i += m.length;
        break;
      }
      default:
        if (n >= '0' && n <= '7') {
          const m = /^[0-7]{1,3}/.exec(f.slice(i))![0];
          out += String.fromCharCode(parseInt(m, 8));
          i += m.length - 1;
        } else out += n;
    }
  }
  return out;
}

interface Reader {
  /** True when pages hold records (built by {@link RowBuilderFn.decoded}), false for rows of text values. */
  readonly decoded: boolean;
  /** The next page (records, or rows of text values in column order), empty when done. */
  next(): Promise<unknown[]>;
  /** The key values (primary key order) of the last row of the page just read (record pages only). */
  lastKey?(): unknown[];
  close(): Promise<void>;
}

function cursorReader(client: pg.Client, sql: string, values: unknown[], fetchSize: number, skip = 0): Reader {
  let open = false;
  return {
    decoded: false,
    async next() {
      if (!open) {
        await client.query({ text: `DECLARE ferry_chunk NO SCROLL CURSOR FOR ${sql}`, values });
        open = true;
        if (skip > 0) await client.query(`MOVE FORWARD ${skip} IN ferry_chunk`);
      }
      const r = await client.query<string[]>({ text: `FETCH FORWARD ${fetchSize} FROM ferry_chunk`, rowMode: 'array' });
      return r.rows;
    },
    async close() {
      if (open) await client.query('CLOSE ferry_chunk').catch(() => undefined);
    },
  };
}

/** Buffer's string slicers without toString()'s argument handling (in Node.js since its first releases, not in its typings). */
type Slicing = Buffer & { utf8Slice(a: number, b: number): string; latin1Slice(a: number, b: number): string };
const HAS_SLICES = typeof (Buffer.prototype as Partial<Slicing>).utf8Slice === 'function' && typeof (Buffer.prototype as Partial<Slicing>).latin1Slice === 'function';
const utf8 = HAS_SLICES ? (buf: Buffer, a: number, b: number) => (buf as Slicing).utf8Slice(a, b) : (buf: Buffer, a: number, b: number) => buf.toString('utf8', a, b);
const latin1 = HAS_SLICES ? (buf: Buffer, a: number, b: number) => (buf as Slicing).latin1Slice(a, b) : (buf: Buffer, a: number, b: number) => buf.toString('latin1', a, b);

/** Decodes one COPY text field, bytes `buf[a..b)` free of backslashes, into its value. */
type FieldDecoder = (buf: Buffer, a: number, b: number) => unknown;

/** Digits of `buf[a..b)` with an optional sign, as a number (NaN when anything else is there). */
function intFromBytes(buf: Buffer, a: number, b: number): number {
  let neg = false;
  if (buf[a] === 45) {
    neg = true;
    a++;
  }
  if (a >= b) return NaN;
  let n = 0;
  for (let i = a; i < b; i++) {
    const c = buf[i]! - 48;
    if (c < 0 || c > 9) return NaN;
    n = n * 10 + c;
  }
  return neg ? -n : n;
}

/** Digits of buf[a..b) as a number, NaN if any is not a digit. */
function digitsAt(buf: Buffer, a: number, b: number): number {
  let n = 0;
  for (let i = a; i < b; i++) {
    const c = buf[i]! - 48;
    if (c < 0 || c > 9) return NaN;
    n = n * 10 + c;
  }
  return n;
}

/**
 * The server's ISO timestamp output read from the bytes (as `fastTimestamp` in types.ts reads the string):
 * `YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]]`, milliseconds since the epoch; undefined for anything else
 * (BC dates, years before 100, infinity), which the codec then decodes from the text.
 */
function timestampAt(buf: Buffer, a: number, b: number): number | undefined {
  if (b - a < 19 || buf[a + 4] !== 45 || buf[a + 7] !== 45 || buf[a + 10] !== 32 || buf[a + 13] !== 58 || buf[a + 16] !== 58) return undefined;
  const y = digitsAt(buf, a, a + 4);
  if (!(y >= 100)) return undefined;
  const mo = digitsAt(buf, a + 5, a + 7);
  const d = digitsAt(buf, a + 8, a + 10);
  const h = digitsAt(buf, a + 11, a + 13);
  const mi = digitsAt(buf, a + 14, a + 16);
  const se = digitsAt(buf, a + 17, a + 19);
  let i = a + 19;
  let ms = 0;
  if (i < b && buf[i] === 46) {
    let j = i + 1;
    let nd = 0;
    while (j < b) {
      const c = buf[j]! - 48;
      if (c < 0 || c > 9) break;
      if (nd < 3) {
        ms = ms * 10 + c;
        nd++;
      }
      j++;
    }
    if (j === i + 1) return undefined;
    ms *= nd === 1 ? 100 : nd === 2 ? 10 : 1;
    i = j;
  }
  let off = 0;
  if (i < b) {
    const sign = buf[i] === 43 ? 1 : buf[i] === 45 ? -1 : 0;
    if (sign === 0 || i + 3 > b) return undefined;
    let secs = digitsAt(buf, i + 1, i + 3) * 3600;
    i += 3;
    if (i < b && buf[i] === 58) {
      secs += digitsAt(buf, i + 1, i + 3) * 60;
      i += 3;
    }
    if (i < b && buf[i] === 58) {
      secs += digitsAt(buf, i + 1, i + 3);
      i += 3;
    }
    if (i !== b) return undefined;
    off = sign * secs * 1000;
  }
  const t = Date.UTC(y, mo - 1, d, h, mi, se, ms) - off;
  return Number.isNaN(t) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 24 || mi > 59 || se > 60 ? undefined : t;
}

/**
 * Field decoders by column type: integers and timestamps straight from the bytes (no string), text-like
 * values as one string; anything else through the column's codec, so values match the cursor path exactly.
 */
function fieldDecoder(codec: ColumnCodec): FieldDecoder {
  const decode = codec.decode;
  const generic: FieldDecoder = (buf, a, b) => decode(utf8(buf, a, b));
  switch (codec.typeOid) {
    case 21:
    case 23:
      return (buf, a, b) => {
        const n = intFromBytes(buf, a, b);
        return Number.isNaN(n) ? decode(latin1(buf, a, b)) : n;
      };
    case 20:
      return (buf, a, b) => {
        const n = b - a <= 15 ? intFromBytes(buf, a, b) : NaN;
        return Number.isNaN(n) ? decode(latin1(buf, a, b)) : n;
      };
    case 1114:
    case 1184:
      return (buf, a, b) => {
        const t = timestampAt(buf, a, b);
        return t === undefined ? decode(latin1(buf, a, b)) : new Date(t);
      };
    default:
      // text, varchar, json(b), numeric (exact text), uuid...: the codec keeps the text as it is
      return decode === String ? utf8 : generic;
  }
}

/**
 * COPY (SELECT ...) TO STDOUT in text format, parsed from the raw bytes as they stream into rows of decoded
 * values (one array per row, no per-field strings for integers and timestamps); paused while a page is
 * being delivered. Tab, newline and backslash never occur inside a multi-byte UTF-8 character, so the bytes
 * are split before anything is decoded; a field with a backslash (an escape, or `\N` for NULL) goes through
 * the text path.
 */
function copyReader(
  client: pg.Client,
  sql: string,
  values: unknown[],
  fetchSize: number,
  codecs: ColumnCodec[],
  make: (values: unknown[]) => unknown,
  keyIdx: number[],
): Reader {
  // COPY takes no parameters: the values are integer keys, inlined after a check.
  let i = 0;
  const text = sql.replace(/\$(\d+)::(?:bigint|integer|smallint)/g, () => {
    const v = String(values[i++]);
    if (!/^-?\d+$/.test(v)) throw new Error(`Not an integer key: ${v}`);
    return v;
  });
  const stream = client.query(copyTo(`COPY (${text}) TO STDOUT`)) as unknown as Readable;
  const n = codecs.length;
  const decoders = codecs.map(fieldDecoder);
  const decodeEscaped = (f: string, c: number): unknown => {
    const t = unescapeCopy(f);
    return t === null ? null : codecs[c]!.decode(t);
  };
  let rest: Buffer | null = null;
  // Records, and the key values of each (one per row: the page's last one is the chunk position).
  let rows: unknown[] = [];
  let keys: unknown[] = [];
  let lastKey: unknown[] = [];
  const k0 = keyIdx[0]!;
  const oneKey = keyIdx.length === 1;
  // One array for the values of the row being parsed: `make` copies them into the record.
  const row = new Array<unknown>(n);
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const parse = (buf: Buffer) => {
    const len = buf.length;
    let p = 0;
    // The next backslash at or after p (len when none): fields before it need no unescaping.
    let bs = buf.indexOf(92);
    if (bs < 0) bs = len;
    for (;;) {
      const nl = buf.indexOf(10, p);
      if (nl < 0) break;
      let a = p;
      for (let c = 0; c < n; c++) {
        let b = c === n - 1 ? nl : buf.indexOf(9, a);
        if (b < 0 || b > nl) b = nl;
        if (bs < b) {
          row[c] = b - a === 2 && buf[a + 1] === 78 ? null : decodeEscaped(utf8(buf, a, b), c);
          bs = buf.indexOf(92, b);
          if (bs < 0) bs = len;
        } else row[c] = decoders[c]!(buf, a, b);
        a = b + 1;
      }
      rows.push(make(row));
      keys.push(oneKey ? row[k0] : keyIdx.map((k) => row[k]));
      p = nl + 1;
    }
    rest = p < len ? buf.subarray(p) : null;
  };
  stream.on('data', (chunk: Buffer) => {
    parse(rest ? Buffer.concat([rest, chunk]) : chunk);
    if (rows.length >= fetchSize) stream.pause();
    wake?.();
  });
  stream.on('end', () => {
    ended = true;
    wake?.();
  });
  stream.on('error', (err: Error) => {
    failure = err;
    wake?.();
  });
  return {
    decoded: true,
    async next() {
      while (rows.length < fetchSize && !ended && !failure) {
        if (stream.isPaused()) stream.resume();
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
      if (failure) throw failure;
      const page = rows.length > fetchSize ? rows.slice(0, fetchSize) : rows;
      const last = keys[page.length - 1];
      lastKey = oneKey ? [last] : (last as unknown[]);
      rows = rows.length > fetchSize ? rows.slice(fetchSize) : [];
      keys = keys.length > fetchSize ? keys.slice(fetchSize) : [];
      return page;
    },
    lastKey: () => lastKey,
    async close() {
      if (!ended && !failure) {
        stream.destroy();
      }
    },
  };
}

/**
 * Turns a row of text values (column order) into a record; `decoded`, when present, does the same for a
 * row whose values were already decoded by the column codecs (the COPY reader's rows).
 */
export type RowBuilderFn = ((row: Array<string | null>) => SourceRecord) & { decoded?: (row: unknown[]) => SourceRecord };

/** How a chunk's rows become records: built once per chunk, after the table was described in the chunk's snapshot. */
export type RowBuilder = (info: TableInfo, types: PgTypes, db: string) => RowBuilderFn;

/**
 * Reads one chunk (a table and a key range, see {@link SnapshotChunk}) in its snapshot and emits its rows page
 * by page with the chunk position after each page; resumes after `ctx.resumeFrom`.
 */
export async function readTableChunk(
  ctx: ChunkContext,
  conn: ConnectionOptions,
  o: { fetchSize: number; method: 'cursor' | 'copy'; what: string },
  builder: RowBuilder,
): Promise<void> {
  const c = ctx.chunk as SnapshotChunk;
  const name: TableName = { schema: c.schema, table: c.table };
  const client = await connect(conn);
  const types = new PgTypes();
  let reader: Reader | undefined;
  try {
    let info: TableInfo | undefined;
    let db: string;
    let imported: boolean;
    try {
      imported = await beginSnapshot(client, c.snapshot, ctx.logger);
      info = await describeTable(client, name);
      if (!info) throw new Error(`Table ${tableKey(name)} does not exist`);
      await types.resolve(client, info.columns.map((col) => col.typeOid));
      db = (await client.query('SELECT current_database() AS db')).rows[0].db;
    } catch (err) {
      throw mapQueryError(err, `${o.what} of ${tableKey(name)}`);
    }
    const build = builder(info, types, db);
    const pkIdx = info.primaryKey.map((k) => info!.columns.findIndex((col) => col.name === k));
    const pkCols = pkIdx.map((i) => info!.columns[i]!);
    const conds: string[] = [];
    const values: unknown[] = [];
    const tuple = pkCols.map((col) => qi(col.name)).join(', ');
    const param = (v: unknown, col: { castType: string }) => {
      values.push(v);
      return `$${values.length}::${col.castType}`;
    };
    if (c.lo !== null) conds.push(`${tuple} >= ${param(c.lo, pkCols[0]!)}`);
    if (c.hi !== null) conds.push(`${tuple} < ${param(c.hi, pkCols[0]!)}`);
    const resume = ctx.resumeFrom as { after?: string[]; skip?: number } | null;
    if (resume?.after && pkCols.length) conds.push(`(${tuple}) > (${pkCols.map((col, i) => param(resume.after![i], col)).join(', ')})`);
    let sql = `SELECT * FROM ${qualified(name)}`;
    if (conds.length) sql += ` WHERE ${conds.join(' AND ')}`;
    if (pkCols.length) sql += ` ORDER BY ${tuple}`;
    const useCopy = o.method === 'copy' && !!build.decoded && pkCols.length > 0 && pkCols.every((col) => INTEGER_TYPES.has(col.typeName));
    // Tables without a key have no order to resume in: the position counts rows, valid only in the same snapshot.
    let skip = resume?.skip ?? 0;
    if (!pkCols.length && skip > 0 && !imported) {
      throw new Error(`Table ${tableKey(name)} has no primary key and its snapshot is gone: its chunk cannot resume after row ${skip} exactly`);
    }
    const codecs = info.columns.map((col) => types.codec(col.name, col.typeOid, col.typeMod, !col.notNull));
    reader = useCopy ? copyReader(client, sql, values, o.fetchSize, codecs, build.decoded!, pkIdx) : cursorReader(client, sql, values, o.fetchSize, pkCols.length ? 0 : skip);
    for (;;) {
      if (ctx.signal.aborted) return;
      let rows: unknown[];
      try {
        rows = await reader.next();
      } catch (err) {
        throw mapQueryError(err, `${o.what} of ${tableKey(name)}`);
      }
      if (rows.length === 0) break;
      const records = reader.decoded ? (rows as SourceRecord[]) : (rows as Array<Array<string | null>>).map(build);
      skip += rows.length;
      const last = reader.decoded ? reader.lastKey!() : pkIdx.map((i) => (rows[rows.length - 1] as unknown[])[i]);
      // Positions are JSON: decoded keys (numbers, bigints) as their text, which is what the cursor reads.
      await ctx.emit(records, pkCols.length ? { after: last.map((v) => (v === null || v === undefined ? null : String(v))) } : { skip });
    }
    await reader.close();
    reader = undefined;
    await client.query('COMMIT').catch(() => undefined);
  } finally {
    await reader?.close();
    await closeQuietly(client);
  }
}

/** Runs snapshot chunks (work `snapshot` of PostgresCdcSource). */
export class SnapshotChunkRunner implements ChunkRunner {
  async runChunk(ctx: ChunkContext): Promise<void> {
    const cfg = PostgresCdcConfig.parse(ctx.config);
    const c = ctx.chunk as SnapshotChunk;
    await readTableChunk(ctx, cfg, { fetchSize: cfg['snapshot.fetch.size'], method: cfg['snapshot.read.method'], what: 'Snapshot' }, (info, types, db) => {
      const shape = buildShape(cfg['topic.prefix'], c.schema, c.table, info.columns, info.primaryKey, types);
      const source: SourceInfo = { serverName: cfg['topic.prefix'], db, tsMs: c.startedAt, snapshot: 'true', txId: c.txId, lsn: BigInt(c.lsn) };
      return snapshotRecordBuilder(shape, source, c.startedAt);
    });
  }
}

/** Shared by every record of a chunk: the offsets of chunk records are ignored (the chunk position is their offset). */
const NO_PARTITION = Object.freeze({}) as Record<string, never>;
const NO_OFFSET = Object.freeze({}) as Record<string, never>;

/**
 * Builds the read events of one chunk. Everything that is the same for every
 * row (column names and codecs, the key columns, the `source` block) is
 * computed once; per row only the values are decoded. The columns of the
 * chunk's `SELECT *` are the shape's columns, in order.
 */
export function snapshotRecordBuilder(shape: TableShape, source: SourceInfo, ts: number): RowBuilderFn {
  const codecs = shape.codecs;
  const n = codecs.length;
  const names = codecs.map((c) => c.name);
  // One source block per chunk: records are immutable once built (transforms build new values).
  const sourceBlock = sourceStruct(shape, source);
  const { topic, keySchema, envelopeSchema } = shape;
  const afterOf = objectFactory(names);
  const keyOf = shape.keySchema ? objectFactory(shape.keyIdx.map((i) => names[i]!), shape.keyIdx) : null;
  const record = (values: unknown[]): SourceRecord => ({
    sourcePartition: NO_PARTITION,
    sourceOffset: NO_OFFSET,
    topic,
    keySchema,
    key: keyOf ? keyOf(values) : null,
    valueSchema: envelopeSchema,
    value: { before: null, after: afterOf(values), source: sourceBlock, op: 'r', ts_ms: Date.now(), transaction: null },
    timestamp: ts,
  });
  const fromText = ((row: Array<string | null>) => {
    const values = new Array<unknown>(n);
    for (let i = 0; i < n; i++) {
      const t = row[i];
      values[i] = t === null || t === undefined ? null : codecs[i]!.decode(t);
    }
    return record(values);
  }) as RowBuilderFn;
  fromText.decoded = record;
  return fromText;
}

/**
 * `values => ({[names[0]]: values[idx[0]], ...})` with one fixed object shape for every row (an object
 * literal compiled once per chunk: no per-row property additions). Names that cannot be a literal key
 * (`__proto__` would set the prototype) or repeat fall back to defining own properties.
 */
export function objectFactory(names: string[], idx: number[] = names.map((_, i) => i)): (values: unknown[]) => Record<string, unknown> {
  if (names.includes('__proto__') || new Set(names).size !== names.length) {
    return (values) => {
      const o: Record<string, unknown> = {};
      for (let i = 0; i < names.length; i++) Object.defineProperty(o, names[i]!, { value: values[idx[i]!], enumerable: true, writable: true, configurable: true });
      return o;
    };
  }
  // Keys are JSON string literals and indexes integers: nothing of a column name is ever evaluated as code.
  const body = `return {${names.map((k, i) => `${JSON.stringify(k)}: v[${Number(idx[i])}]`).join(', ')}};`;
  return new Function('v', body) as (values: unknown[]) => Record<string, unknown>;
}
