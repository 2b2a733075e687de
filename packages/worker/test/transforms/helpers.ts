import type { ConnectRecord, Predicate, Schema, SinkRecord, SourceRecord, Transformation } from '@ferry/core';
import { builtinTransformLookup } from '../../src/transforms/index.js';

/**
 * Freezes a record (schema, value, headers) all the way down, so a transform
 * that writes to its input fails the test instead of corrupting data.
 */
export function deepFreeze<T>(v: T): T {
  if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v) || Object.isFrozen(v)) return v;
  if (v instanceof Map) {
    for (const [k, x] of v) deepFreeze(k), deepFreeze(x);
  } else if (!(v instanceof Date)) {
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return Object.freeze(v);
}

/** A configured built-in transformation, found by any of its names. */
export function transform(name: string, config: Record<string, string> = {}): Transformation {
  const plugin = builtinTransformLookup.transformation(name);
  if (!plugin) throw new Error(`no transformation ${name}`);
  const t = plugin.create();
  t.configure(config);
  return t;
}

export function predicate(name: string, config: Record<string, string> = {}): Predicate {
  const plugin = builtinTransformLookup.predicate(name);
  if (!plugin) throw new Error(`no predicate ${name}`);
  const p = plugin.create();
  p.configure(config);
  return p;
}

/** Applies a transform to a frozen copy of the record. */
export function run(t: Transformation, record: ConnectRecord): ConnectRecord | null {
  return t.apply(deepFreeze(record));
}

export function sourceRecord(fields: Partial<SourceRecord> = {}): SourceRecord {
  return {
    topic: 'orders',
    kafkaPartition: null,
    key: null,
    value: null,
    sourcePartition: { table: 'orders' },
    sourceOffset: { pos: 1 },
    ...fields,
  };
}

export function sinkRecord(fields: Partial<SinkRecord> = {}): SinkRecord {
  return {
    topic: 'orders',
    kafkaPartition: 3,
    kafkaOffset: 42,
    key: null,
    value: null,
    timestamp: Date.UTC(2024, 0, 31, 12, 30, 0),
    ...fields,
  };
}

/** A struct schema for `{id: int32, name: string?, price: double}`. */
export const orderSchema: Schema = {
  type: 'struct',
  name: 'shop.Order',
  version: 2,
  optional: false,
  fields: [
    { field: 'id', type: 'int32', optional: false },
    { field: 'name', type: 'string', optional: true },
    { field: 'price', type: 'double', optional: false },
  ],
};

export const order = { id: 7, name: 'widget', price: 9.5 };
