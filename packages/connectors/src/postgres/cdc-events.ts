/**
 * Change events in Debezium's PostgreSQL envelope:
 * `{before, after, source, op, ts_ms, transaction}` with key = primary key.
 */
import { LogicalNames, type Field, type Schema } from '@ferry/core';
import { decodeValue, PgTypes, SemanticNames, UNAVAILABLE_VALUE, type ColumnCodec } from './types.js';
import { VERSION } from './version.js';

export interface ColumnSpec {
  name: string;
  typeOid: number;
  typeMod: number;
  notNull: boolean;
}

/** What is needed to turn a table's tuples into records. */
export interface TableShape {
  schema: string;
  table: string;
  topic: string;
  codecs: ColumnCodec[];
  /** Indexes (into codecs) of the key columns; empty: records have a null key. */
  keyIdx: number[];
  keySchema: Schema | null;
  valueSchema: Schema;
  envelopeSchema: Schema;
}

const SOURCE_SCHEMA: Schema = {
  type: 'struct',
  name: 'io.debezium.connector.postgresql.Source',
  optional: false,
  fields: [
    { field: 'version', type: 'string', optional: false },
    { field: 'connector', type: 'string', optional: false },
    { field: 'name', type: 'string', optional: false },
    { field: 'ts_ms', type: 'int64', optional: false },
    {
      field: 'snapshot',
      type: 'string',
      optional: true,
      name: 'io.debezium.data.Enum',
      version: 1,
      parameters: { allowed: 'true,last,false,incremental' },
      default: 'false',
    },
    { field: 'db', type: 'string', optional: false },
    { field: 'sequence', type: 'string', optional: true },
    { field: 'schema', type: 'string', optional: false },
    { field: 'table', type: 'string', optional: false },
    { field: 'txId', type: 'int64', optional: true },
    { field: 'lsn', type: 'int64', optional: true },
    { field: 'xmin', type: 'int64', optional: true },
  ],
};

const TRANSACTION_SCHEMA: Field = {
  field: 'transaction',
  type: 'struct',
  optional: true,
  name: 'event.block',
  version: 1,
  fields: [
    { field: 'id', type: 'string', optional: false },
    { field: 'total_order', type: 'int64', optional: false },
    { field: 'data_collection_order', type: 'int64', optional: false },
  ],
};

export function buildShape(prefix: string, schema: string, table: string, cols: ColumnSpec[], keyCols: string[], types: PgTypes): TableShape {
  const base = `${prefix}.${schema}.${table}`;
  const codecs = cols.map((c) => types.codec(c.name, c.typeOid, c.typeMod, !c.notNull));
  const keyIdx = keyCols.map((k) => cols.findIndex((c) => c.name === k)).filter((i) => i >= 0);
  const keySchema: Schema | null = keyIdx.length
    ? { type: 'struct', name: `${base}.Key`, optional: false, fields: keyIdx.map((i) => ({ ...codecs[i]!.field, optional: false })) }
    : null;
  const valueSchema: Schema = { type: 'struct', name: `${base}.Value`, optional: true, fields: codecs.map((c) => c.field) };
  const envelopeSchema: Schema = {
    type: 'struct',
    name: `${base}.Envelope`,
    version: 1,
    optional: false,
    fields: [
      { ...valueSchema, field: 'before' } as Field,
      { ...valueSchema, field: 'after' } as Field,
      { ...SOURCE_SCHEMA, field: 'source' } as Field,
      { field: 'op', type: 'string', optional: false },
      { field: 'ts_ms', type: 'int64', optional: true },
      TRANSACTION_SCHEMA,
    ],
  };
  return { schema, table, topic: base, codecs, keyIdx, keySchema, valueSchema, envelopeSchema };
}

const UNAVAILABLE_BYTES = Buffer.from(UNAVAILABLE_VALUE, 'utf8');

/**
 * Decodes a tuple (text values by column name). A column missing from the
 * tuple is an unchanged TOASTed value the event does not carry (without
 * REPLICA IDENTITY FULL): it gets Debezium's placeholder where the type can
 * hold it, so a sink leaves the column alone.
 */
export function decodeTuple(shape: TableShape, tuple: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of shape.codecs) {
    const raw = tuple[c.name] as string | null | undefined;
    if (raw === undefined) out[c.name] = unavailable(c);
    else out[c.name] = decodeValue(c, raw);
  }
  return out;
}

function unavailable(c: ColumnCodec): unknown {
  const f = c.field;
  if (f.type === 'string') return UNAVAILABLE_VALUE;
  if (f.type === 'bytes' && f.name !== LogicalNames.Decimal) return UNAVAILABLE_BYTES;
  return null;
}

export function keyOf(shape: TableShape, row: Record<string, unknown>): Record<string, unknown> | null {
  if (!shape.keySchema) return null;
  const k: Record<string, unknown> = {};
  for (const i of shape.keyIdx) k[shape.codecs[i]!.name] = row[shape.codecs[i]!.name];
  return k;
}

export interface SourceInfo {
  serverName: string;
  db: string;
  tsMs: number;
  snapshot: 'true' | 'last' | 'false' | 'incremental';
  txId: number | null;
  lsn: bigint | null;
  sequence?: string | null;
}

export function sourceStruct(shape: TableShape, s: SourceInfo): Record<string, unknown> {
  return {
    version: VERSION,
    connector: 'postgresql',
    name: s.serverName,
    ts_ms: s.tsMs,
    snapshot: s.snapshot,
    db: s.db,
    sequence: s.sequence ?? null,
    schema: shape.schema,
    table: shape.table,
    txId: s.txId,
    lsn: s.lsn === null ? null : Number(s.lsn),
    xmin: null,
  };
}

export function envelope(
  shape: TableShape,
  op: 'c' | 'u' | 'd' | 'r' | 't',
  before: Record<string, unknown> | null,
  after: Record<string, unknown> | null,
  source: SourceInfo,
): Record<string, unknown> {
  return { before, after, source: sourceStruct(shape, source), op, ts_ms: Date.now(), transaction: null };
}

/** Schemas of the heartbeat records (Debezium's names). */
export const HEARTBEAT_KEY_SCHEMA: Schema = {
  type: 'struct',
  name: 'io.debezium.connector.common.ServerNameKey',
  optional: false,
  fields: [{ field: 'serverName', type: 'string', optional: false }],
};
export const HEARTBEAT_VALUE_SCHEMA: Schema = {
  type: 'struct',
  name: 'io.debezium.connector.common.Heartbeat',
  optional: false,
  fields: [{ field: 'ts_ms', type: 'int64', optional: false }],
};

export { SemanticNames };
