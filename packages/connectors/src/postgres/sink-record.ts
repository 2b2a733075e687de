/**
 * Turns a sink record into a row operation: plain values by `insert.mode`,
 * change events (Debezium envelope) by their `op`, tombstones into deletes.
 */
import { DataError, fieldSchema, findField, type Schema, type SinkRecord } from '@ferry/core';
import { parseTableName, type TableName } from './connection.js';
import { UNAVAILABLE_VALUE } from './types.js';
import type { PostgresSinkOptions } from './sink-config.js';

export type OpKind = 'insert' | 'upsert' | 'update' | 'delete' | 'truncate' | 'skip';

export interface Cell {
  value: unknown;
  schema?: Schema | null | undefined;
}

export interface Op {
  record: SinkRecord;
  kind: OpKind;
  table: TableName;
  /** Column values; for a delete only the key columns. */
  row: Map<string, Cell>;
  keyCols: string[];
}

export { UNAVAILABLE_VALUE };

const UNAVAILABLE_BYTES = Buffer.from(UNAVAILABLE_VALUE, 'utf8');

function isUnavailable(v: unknown): boolean {
  return v === UNAVAILABLE_VALUE || (v instanceof Uint8Array && v.byteLength === UNAVAILABLE_BYTES.length && UNAVAILABLE_BYTES.equals(v));
}

const KAFKA_PK = ['__connect_topic', '__connect_partition', '__connect_offset'];

interface Envelope {
  op: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  source: Record<string, unknown> | null;
  beforeSchema?: Schema | undefined;
  afterSchema?: Schema | undefined;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Date) && !(v instanceof Map);
}

function asObject(v: unknown): Record<string, unknown> | null {
  if (v instanceof Map) return Object.fromEntries(v);
  return isPlainObject(v) ? v : null;
}

/** The change-event envelope of a record value, if it is one. */
export function asEnvelope(record: SinkRecord): Envelope | undefined {
  const v = record.value;
  if (!isPlainObject(v)) return undefined;
  const op = v.op;
  if (typeof op !== 'string' || op.length !== 1 || !'crudt'.includes(op)) return undefined;
  if (!('after' in v) && !('before' in v)) return undefined;
  const s = record.valueSchema;
  if (s && s.type === 'struct' && !(findField(s, 'after') || findField(s, 'before'))) return undefined;
  const sub = (name: string) => {
    const f = s ? findField(s, name) : undefined;
    return f ? fieldSchema(f) : undefined;
  };
  return {
    op,
    before: asObject(v.before),
    after: asObject(v.after),
    source: asObject(v.source),
    beforeSchema: sub('before'),
    afterSchema: sub('after'),
  };
}

export function tableFor(record: SinkRecord, format: string, env?: Envelope): TableName {
  let name = format.replace(/\$\{topic\}/g, record.topic);
  if (name.includes('${source.')) {
    const src = env?.source;
    if (!src) throw new DataError(`table.name.format "${format}" uses \${source.*} but ${where(record)} is not a change event`);
    name = name.replace(/\$\{source\.schema\}/g, String(src.schema ?? '')).replace(/\$\{source\.table\}/g, String(src.table ?? ''));
  }
  return parseTableName(name);
}

export function where(r: SinkRecord): string {
  return `record ${r.topic}/${r.kafkaPartition}@${r.kafkaOffset}`;
}

function cellsOf(obj: Record<string, unknown>, schema: Schema | null | undefined, into: Map<string, Cell>, skip?: Set<string>) {
  if (schema?.fields) {
    for (const f of schema.fields) {
      if (skip?.has(f.field)) continue;
      const value = obj[f.field];
      if (isUnavailable(value)) continue;
      into.set(f.field, { value: value ?? null, schema: fieldSchema(f) });
    }
  } else {
    for (const [k, value] of Object.entries(obj)) {
      if (skip?.has(k) || isUnavailable(value) || value === undefined) continue;
      into.set(k, { value, schema: undefined });
    }
  }
}

/** The key columns and their cells for a record, by pk.mode. */
function keyCells(
  record: SinkRecord,
  cfg: PostgresSinkOptions,
  valueObj: Record<string, unknown> | null,
  valueSchema: Schema | null | undefined,
): { cols: string[]; cells: Map<string, Cell> } {
  const cells = new Map<string, Cell>();
  switch (cfg['pk.mode']) {
    case 'none':
      return { cols: [], cells };
    case 'kafka': {
      const names = cfg['pk.fields'].length === 3 ? cfg['pk.fields'] : KAFKA_PK;
      cells.set(names[0]!, { value: record.topic, schema: { type: 'string' } });
      cells.set(names[1]!, { value: record.kafkaPartition, schema: { type: 'int32' } });
      cells.set(names[2]!, { value: record.kafkaOffset, schema: { type: 'int64' } });
      return { cols: names, cells };
    }
    case 'record_key': {
      const key = record.key;
      if (key === null || key === undefined) throw new DataError(`${where(record)} has a null key but pk.mode is record_key`);
      const obj = asObject(key);
      if (obj) {
        const ks = record.keySchema;
        const names = cfg['pk.fields'].length > 0 ? cfg['pk.fields'] : ks?.fields ? ks.fields.map((f) => f.field) : Object.keys(obj);
        for (const n of names) {
          if (!(n in obj)) throw new DataError(`${where(record)}: key field "${n}" (pk.fields) is missing from the record key`);
          const f = ks ? findField(ks, n) : undefined;
          cells.set(n, { value: obj[n], schema: f ? fieldSchema(f) : undefined });
        }
        return { cols: names, cells };
      }
      const name = cfg['pk.fields'][0] ?? '__connect_key';
      cells.set(name, { value: key, schema: record.keySchema ?? undefined });
      return { cols: [name], cells };
    }
    case 'record_value': {
      if (!valueObj) throw new DataError(`${where(record)} has no value to take pk.fields from`);
      for (const n of cfg['pk.fields']) {
        if (!(n in valueObj) || valueObj[n] === null || valueObj[n] === undefined) {
          throw new DataError(`${where(record)}: primary key field "${n}" (pk.fields) is missing or null in the value`);
        }
        const f = valueSchema ? findField(valueSchema, n) : undefined;
        cells.set(n, { value: valueObj[n], schema: f ? fieldSchema(f) : undefined });
      }
      return { cols: cfg['pk.fields'], cells };
    }
  }
}

/** Converts a record to the operation it asks for. Throws DataError for a record that cannot be applied. */
export function toOp(record: SinkRecord, cfg: PostgresSinkOptions): Op {
  const env = cfg['cdc.envelope.detect'] ? asEnvelope(record) : undefined;
  // The tombstone after a change event's delete carries no origin table; the delete already applied it.
  if ((record.value === null || record.value === undefined) && cfg['table.name.format'].includes('${source.')) {
    return { record, kind: 'skip', table: { schema: 'public', table: '' }, row: new Map(), keyCols: [] };
  }
  const table = tableFor(record, cfg['table.name.format'], env);
  const skip = (): Op => ({ record, kind: 'skip', table, row: new Map(), keyCols: [] });
  const mode = cfg['insert.mode'];

  if (record.value === null || record.value === undefined) {
    if (!cfg['delete.enabled']) return skip();
    if (cfg['pk.mode'] !== 'record_key') return skip();
    const k = keyCells(record, cfg, null, null);
    return { record, kind: 'delete', table, row: k.cells, keyCols: k.cols };
  }

  if (env) {
    if (env.op === 't') return cfg['truncate.enabled'] ? { record, kind: 'truncate', table, row: new Map(), keyCols: [] } : skip();
    if (env.op === 'd') {
      if (!cfg['delete.enabled']) return skip();
      const k = keyCells(record, cfg, env.before, env.beforeSchema);
      return { record, kind: 'delete', table, row: k.cells, keyCols: k.cols };
    }
    if (!env.after) throw new DataError(`${where(record)}: change event with op ${env.op} has no "after" state`);
    const k = keyCells(record, cfg, env.after, env.afterSchema);
    const row = new Map(k.cells);
    cellsOf(env.after, env.afterSchema, row, new Set(k.cols));
    let kind: OpKind = mode;
    if (env.op === 'u' && mode === 'insert') kind = k.cols.length > 0 ? 'upsert' : 'insert';
    return { record, kind, table, row, keyCols: k.cols };
  }

  const obj = asObject(record.value);
  if (!obj) {
    throw new DataError(`${where(record)}: the value must be a struct or a JSON object to be written as a row, got ${typeof record.value}`);
  }
  const vs = record.valueSchema && record.valueSchema.type === 'struct' ? record.valueSchema : undefined;
  const k = keyCells(record, cfg, obj, vs);
  const row = new Map(k.cells);
  cellsOf(obj, vs, row, new Set(k.cols));
  return { record, kind: mode, table, row, keyCols: k.cols };
}
