import { DataError, type ConnectRecord, type Field, type Schema } from '@ferry/core';

/** Version reported by every bundled transformation and predicate. */
export const TRANSFORMS_VERSION = '0.1.0';

/**
 * Which half of a record a `$Key` / `$Value` transform operates on. The
 * update builds a new record object: transforms never mutate their input.
 */
export interface Side {
  readonly name: 'key' | 'value';
  schema(record: ConnectRecord): Schema | null | undefined;
  value(record: ConnectRecord): unknown;
  update<R extends ConnectRecord>(record: R, schema: Schema | null | undefined, value: unknown): R;
}

export const KEY: Side = {
  name: 'key',
  schema: (r) => r.keySchema,
  value: (r) => r.key,
  update: (r, schema, value) => ({ ...r, keySchema: schema ?? null, key: value }),
};

export const VALUE: Side = {
  name: 'value',
  schema: (r) => r.valueSchema,
  value: (r) => r.value,
  update: (r, schema, value) => ({ ...r, valueSchema: schema ?? null, value }),
};

/** A plain JSON-like object (what a struct or a schemaless map is). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** A short description of a value's runtime type, for error messages. */
export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return 'array';
  if (v instanceof Date) return 'Date';
  if (v instanceof Map) return 'Map';
  if (v instanceof Uint8Array) return 'bytes';
  if (typeof v === 'object') return v.constructor?.name ?? 'object';
  return typeof v;
}

/** The value as a schemaless map (a `Map` is converted), or a DataError. */
export function requireMap(v: unknown, purpose: string): Record<string, unknown> {
  if (isPlainObject(v)) return v;
  if (v instanceof Map) return Object.fromEntries(v) as Record<string, unknown>;
  throw new DataError(`Only map objects supported in absence of schema for [${purpose}], found: ${typeName(v)}`);
}

/** The value and schema of a schemaful struct, or a DataError. */
export function requireStruct(v: unknown, schema: Schema, purpose: string): Record<string, unknown> {
  if (schema.type !== 'struct') throw new DataError(`Only struct schemas supported for [${purpose}], found schema type: ${schema.type}`);
  if (!isPlainObject(v)) throw new DataError(`Only struct objects supported for [${purpose}], found: ${typeName(v)}`);
  return v;
}

export function requireSchemaFields(schema: Schema, purpose: string): Field[] {
  if (schema.type !== 'struct') throw new DataError(`Only struct schemas supported for [${purpose}], found schema type: ${schema.type}`);
  return schema.fields ?? [];
}

/**
 * Derived schemas keyed by the identity of the schema they derive from, so a
 * converter that reuses schema objects costs one Map lookup per record. A
 * WeakMap lets schemas that are no longer used go away.
 */
export class SchemaCache<V = Schema> {
  private readonly map = new WeakMap<Schema, V>();

  get(schema: Schema, build: (schema: Schema) => V): V {
    let v = this.map.get(schema);
    if (v === undefined) {
      v = build(schema);
      this.map.set(schema, v);
    }
    return v;
  }
}

/** A struct schema with `schema`'s name, version, doc, parameters and optionality, and new fields. */
export function structLike(schema: Schema, fields: Field[]): Schema {
  const s: Schema = { type: 'struct', fields, optional: schema.optional ?? false };
  if (schema.name !== undefined) s.name = schema.name;
  if (schema.version !== undefined) s.version = schema.version;
  if (schema.doc !== undefined) s.doc = schema.doc;
  if (schema.parameters !== undefined) s.parameters = schema.parameters;
  return s;
}

/** A struct field from a standalone schema. */
export function asField(name: string, schema: Schema): Field {
  return { ...schema, field: name };
}

/** The schema with `optional: true` (same object when it already is optional). */
export function optionalSchema(schema: Schema): Schema {
  return schema.optional ? schema : { ...schema, optional: true };
}

/** Where a record comes from, for error messages: topic, partition, offset when known. */
export function recordLocation(record: ConnectRecord): string {
  const parts = [`topic=${record.topic}`];
  if (record.kafkaPartition !== undefined && record.kafkaPartition !== null) parts.push(`partition=${record.kafkaPartition}`);
  const offset = (record as { kafkaOffset?: unknown }).kafkaOffset;
  if (typeof offset === 'number' || typeof offset === 'bigint') parts.push(`offset=${offset}`);
  return parts.join(' ');
}

/** Epoch milliseconds of a Date or an epoch-ms number (the logical-type conventions). */
export function toEpochMs(v: unknown, what: string): number {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  throw new DataError(`Expected ${what} to be a Date or epoch milliseconds, found ${typeName(v)}`);
}

/** Splits `a:b` pairs (ReplaceField renames); `null` when malformed. */
export function parsePair(s: string): [string, string] | null {
  const i = s.indexOf(':');
  if (i <= 0 || i === s.length - 1 || s.indexOf(':', i + 1) !== -1) return null;
  return [s.slice(0, i).trim(), s.slice(i + 1).trim()];
}
