import { DataError, type ConnectRecord, type Field, type Header, type Schema } from '@ferry/core';
import { FERRY_VERSION } from '@ferry/connector-kit';

/** Version reported by every bundled transformation and predicate. */
export const TRANSFORMS_VERSION = FERRY_VERSION;

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

/*
 * Copies stay off V8's slow paths. In Node 20, `{...record, value}` is fast
 * or takes microseconds depending on the hidden classes involved (records
 * whose fields changed representation, copies of copies), and adding a key to
 * a spread copy is always slow. So a record is copied through a fixed object
 * literal per record kind (source, sink, plain), plus any extra fields it
 * carries, and structs with a known schema are built by compiled literals.
 */

const enum Kind {
  Plain,
  Source,
  Sink,
}

/** Whether `k` is one of the fields the copy template of `kind` already holds. */
function inTemplate(k: string, kind: Kind): boolean {
  switch (k) {
    case 'topic':
    case 'kafkaPartition':
    case 'keySchema':
    case 'key':
    case 'valueSchema':
    case 'value':
    case 'timestamp':
    case 'headers':
      return true;
    case 'kafkaOffset':
    case 'timestampType':
      return kind === Kind.Sink;
    case 'sourcePartition':
    case 'sourceOffset':
      return kind === Kind.Source;
    default:
      return false;
  }
}

/**
 * A shallow copy of a record, to update before returning it. It has every
 * field of its kind (absent optional ones as `undefined`) and keeps any
 * extra field the runtime put on the record.
 */
export function copyRecord<R extends ConnectRecord>(r: R): R {
  const a = r as unknown as Record<string, unknown>;
  let o: Record<string, unknown>;
  let kind: Kind;
  if ('kafkaOffset' in r) {
    kind = Kind.Sink;
    o = {
      topic: a.topic,
      kafkaPartition: a.kafkaPartition,
      kafkaOffset: a.kafkaOffset,
      timestampType: a.timestampType,
      keySchema: a.keySchema,
      key: a.key,
      valueSchema: a.valueSchema,
      value: a.value,
      timestamp: a.timestamp,
      headers: a.headers,
    };
  } else if ('sourceOffset' in r) {
    kind = Kind.Source;
    o = {
      topic: a.topic,
      kafkaPartition: a.kafkaPartition,
      keySchema: a.keySchema,
      key: a.key,
      valueSchema: a.valueSchema,
      value: a.value,
      timestamp: a.timestamp,
      headers: a.headers,
      sourcePartition: a.sourcePartition,
      sourceOffset: a.sourceOffset,
    };
  } else {
    kind = Kind.Plain;
    o = {
      topic: a.topic,
      kafkaPartition: a.kafkaPartition,
      keySchema: a.keySchema,
      key: a.key,
      valueSchema: a.valueSchema,
      value: a.value,
      timestamp: a.timestamp,
      headers: a.headers,
    };
  }
  // Records are plain objects: every enumerable key is an own key.
  for (const k in a) if (!inTemplate(k, kind)) setKey(o, k, a[k]);
  return o as unknown as R;
}

export const KEY: Side = {
  name: 'key',
  schema: (r) => r.keySchema,
  value: (r) => r.key,
  update: (r, schema, value) => {
    const o = copyRecord(r);
    o.keySchema = schema ?? null;
    o.key = value;
    return o;
  },
};

export const VALUE: Side = {
  name: 'value',
  schema: (r) => r.valueSchema,
  value: (r) => r.value,
  update: (r, schema, value) => {
    const o = copyRecord(r);
    o.valueSchema = schema ?? null;
    o.value = value;
    return o;
  },
};

/** The record with new headers. */
export function withHeaders<R extends ConnectRecord>(r: R, headers: Header[]): R {
  const o = copyRecord(r);
  o.headers = headers;
  return o;
}

/** The record with a new topic. */
export function withTopic<R extends ConnectRecord>(r: R, topic: string): R {
  const o = copyRecord(r);
  o.topic = topic;
  return o;
}

/** A copy of a schemaless map that takes new keys cheaply. */
export function copyMap(m: Record<string, unknown>): Record<string, unknown> {
  return Object.assign({}, m);
}

/** Sets a key on a plain object, `__proto__` included (as an own property, as JSON.parse does). */
export function setKey(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

/** One key of a compiled struct: read from `path` in the source, or from `extra[index]`. */
export type BuilderEntry = { to: string; path: string[]; nullish?: boolean } | { to: string; extra: number };

/**
 * Compiles a function that builds a struct with a fixed list of keys as one
 * object literal (`{"id": s["id"], ...}`), which V8 creates an order of
 * magnitude faster than adding computed keys one by one. Keys are quoted with
 * JSON.stringify; a `__proto__` key falls back to the generic builder.
 */
export type StructBuilder = (src: Record<string, unknown>, extra?: readonly unknown[]) => Record<string, unknown>;

export function compileStructBuilder(entries: BuilderEntry[]): StructBuilder {
  if (entries.some((e) => e.to === '__proto__' || ('path' in e && e.path.includes('__proto__')))) return genericBuilder(entries);
  const q = JSON.stringify;
  const props = entries.map((e) => {
    if ('extra' in e) return `${q(e.to)}: e[${e.extra}]`;
    const read = e.path.length === 1 ? `s[${q(e.path[0])}]` : `s${e.path.map((p, i) => `${i === 0 ? '' : '?.'}[${q(p)}]`).join('')}`;
    return `${q(e.to)}: ${read}${e.nullish ? ' ?? null' : ''}`;
  });
  try {
    return new Function('s', 'e', `return {${props.join(', ')}};`) as StructBuilder;
  } catch {
    return genericBuilder(entries);
  }
}

function genericBuilder(entries: BuilderEntry[]): StructBuilder {
  return (s, e) => {
    const o: Record<string, unknown> = {};
    for (const en of entries) {
      let v: unknown;
      if ('extra' in en) v = e?.[en.extra];
      else {
        v = s;
        for (const p of en.path) v = v === null || v === undefined ? undefined : Object.hasOwn(v as object, p) ? (v as Record<string, unknown>)[p] : undefined;
        if (en.nullish) v ??= null;
      }
      setKey(o, en.to, v);
    }
    return o;
  };
}

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
  // The schema says struct; a cheap check catches values that cannot be one.
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Date || ArrayBuffer.isView(v))
    throw new DataError(`Only struct objects supported for [${purpose}], found: ${typeName(v)}`);
  return v as Record<string, unknown>;
}

const STRUCTURAL_CACHE_SIZE = 256;

function bigintSafe(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? `${v}n` : v;
}

/** A string that is equal for structurally equal schemas. */
export function schemaFingerprint(schema: Schema): string {
  try {
    return JSON.stringify(schema);
  } catch {
    return JSON.stringify(schema, bigintSafe); // bigint defaults
  }
}

function sameParams(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (a[k] !== b[k]) return false;
  return true;
}

function sameDefault(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  return JSON.stringify(a, bigintSafe) === JSON.stringify(b, bigintSafe);
}

/** Structural equality of two schemas (or fields), without allocating. */
export function sameSchema(a: Schema | Field, b: Schema | Field): boolean {
  if (a === b) return true;
  if (
    a.type !== b.type ||
    (a.optional ?? false) !== (b.optional ?? false) ||
    a.name !== b.name ||
    a.version !== b.version ||
    a.doc !== b.doc ||
    (a as Field).field !== (b as Field).field ||
    (a.parameters !== b.parameters && !sameParams(a.parameters, b.parameters)) ||
    (a.default !== b.default && !sameDefault(a.default, b.default))
  )
    return false;
  const fa = a.fields;
  const fb = b.fields;
  if (fa !== fb) {
    if (!fa || !fb || fa.length !== fb.length) return false;
    for (let i = 0; i < fa.length; i++) if (!sameSchema(fa[i], fb[i])) return false;
  }
  return sameChild(a.items, b.items) && sameChild(a.keys, b.keys) && sameChild(a.values, b.values);
}

function sameChild(x: Schema | undefined, y: Schema | undefined): boolean {
  return x === y || (x !== undefined && y !== undefined && sameSchema(x, y));
}

/**
 * What a transform derives from an input schema (the output schema, a
 * compiled builder), computed once per distinct schema. Lookups go by
 * identity first (none when the schema is the last one seen, else one
 * WeakMap probe). A converter that parses a fresh but equal schema object for
 * every record hits by a structural comparison with the last schema, or by a
 * structural fingerprint, so a plan is never rebuilt per record.
 */
export class SchemaCache<V = Schema> {
  private readonly byIdentity = new WeakMap<Schema, V>();
  private readonly byStructure = new Map<string, V>();
  private lastKey: Schema | undefined;
  private lastValue: V | undefined;

  get(schema: Schema, build: (schema: Schema) => V): V {
    const last = this.lastKey;
    if (schema === last) return this.lastValue as V;
    // A converter may parse an equal schema object per record: compare with the last one before hashing.
    if (last !== undefined && sameSchema(schema, last)) return this.lastValue as V;
    let v = this.byIdentity.get(schema);
    if (v === undefined) {
      const fp = schemaFingerprint(schema);
      v = this.byStructure.get(fp);
      if (v === undefined) {
        v = build(schema);
        if (this.byStructure.size >= STRUCTURAL_CACHE_SIZE) this.byStructure.delete(this.byStructure.keys().next().value!);
        this.byStructure.set(fp, v);
        // Only the first object of a structure is remembered by identity:
        // adding every fresh schema object to the WeakMap costs more in GC
        // than the fingerprint saves.
        this.byIdentity.set(schema, v);
      }
    }
    this.lastKey = schema;
    this.lastValue = v;
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

/** Splits `a:b` pairs (ReplaceField renames); `null` when malformed. */
export function parsePair(s: string): [string, string] | null {
  const i = s.indexOf(':');
  if (i <= 0 || i === s.length - 1 || s.indexOf(':', i + 1) !== -1) return null;
  return [s.slice(0, i).trim(), s.slice(i + 1).trim()];
}
