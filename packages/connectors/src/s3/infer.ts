/**
 * Schema inference for schemaless values written as Parquet: the union of
 * every row's fields (all optional), integers widened to double when mixed,
 * anything that disagrees kept as a JSON column. Deterministic for the same
 * rows in the same order.
 */
import { LogicalNames, type Field, type Schema } from '@ferry/core';
import { jsonSchema } from './parquet.js';

type Inferred =
  | { k: 'null' | 'bool' | 'int' | 'double' | 'string' | 'bytes' | 'ts' | 'json' }
  | { k: 'array'; item: Inferred }
  | { k: 'struct'; fields: Map<string, Inferred> };

const NULL: Inferred = { k: 'null' };
const JSONK: Inferred = { k: 'json' };

function of(v: unknown): Inferred {
  if (v === null || v === undefined) return NULL;
  switch (typeof v) {
    case 'boolean':
      return { k: 'bool' };
    case 'number':
      return Number.isInteger(v) ? { k: 'int' } : { k: 'double' };
    case 'bigint':
      return { k: 'int' };
    case 'string':
      return { k: 'string' };
  }
  if (v instanceof Uint8Array) return { k: 'bytes' };
  if (v instanceof Date) return { k: 'ts' };
  if (Array.isArray(v)) {
    let item: Inferred = NULL;
    for (const x of v) item = merge(item, of(x));
    return { k: 'array', item };
  }
  if (typeof v === 'object' && !(v instanceof Map)) {
    const fields = new Map<string, Inferred>();
    for (const [name, x] of Object.entries(v as object)) fields.set(name, of(x));
    return { k: 'struct', fields };
  }
  return JSONK;
}

function merge(a: Inferred, b: Inferred): Inferred {
  if (a.k === 'null') return b;
  if (b.k === 'null') return a;
  if (a.k === 'json' || b.k === 'json') return JSONK;
  if (a.k === 'array' && b.k === 'array') return { k: 'array', item: merge(a.item, b.item) };
  if (a.k === 'struct' && b.k === 'struct') {
    const fields = new Map(a.fields);
    for (const [name, t] of b.fields) fields.set(name, merge(fields.get(name) ?? NULL, t));
    return { k: 'struct', fields };
  }
  if (a.k === b.k) return a;
  if ((a.k === 'int' && b.k === 'double') || (a.k === 'double' && b.k === 'int')) return { k: 'double' };
  return JSONK;
}

function toSchema(t: Inferred): Schema {
  switch (t.k) {
    case 'bool':
      return { type: 'boolean', optional: true };
    case 'int':
      return { type: 'int64', optional: true };
    case 'double':
      return { type: 'double', optional: true };
    case 'string':
      return { type: 'string', optional: true };
    case 'bytes':
      return { type: 'bytes', optional: true };
    case 'ts':
      return { type: 'int64', name: LogicalNames.Timestamp, version: 1, optional: true };
    case 'array':
      return t.item.k === 'null' ? jsonSchema() : { type: 'array', items: toSchema(t.item), optional: true };
    case 'struct': {
      if (t.fields.size === 0) return jsonSchema();
      const fields: Field[] = [];
      for (const [name, ft] of t.fields) fields.push({ ...toSchema(ft), field: name });
      return { type: 'struct', fields, optional: true };
    }
    default:
      return jsonSchema();
  }
}

/** Incremental inference over a stream of values. */
export class SchemaInferrer {
  private acc: Inferred = NULL;
  add(v: unknown): void {
    this.acc = merge(this.acc, of(v));
  }
  /** The inferred schema (a JSON column when nothing was learned). */
  schema(): Schema {
    return toSchema(this.acc);
  }
}
