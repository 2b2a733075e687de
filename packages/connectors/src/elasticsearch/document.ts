import { DataError, LogicalNames, type Schema, type SinkRecord } from '@ferry/core';
import { dataStreamName, indexNameFor, invalidIndexName, type ElasticsearchSinkOptions } from './config.js';

/** One bulk action (header line plus optional source line) for one record. */
export interface BulkAction {
  readonly record: SinkRecord;
  /** index + id: actions on the same document must reach the server in order. */
  readonly docKey: string;
  /** Header and source lines, each ending with "\n". */
  readonly lines: string;
  readonly bytes: number;
  /** Data stream writes use op_type create: an existing id (a replay) is success. */
  readonly create: boolean;
  readonly isDelete: boolean;
}

function where(r: SinkRecord): string {
  return `${r.topic}/${r.kafkaPartition}@${r.kafkaOffset}`;
}

/**
 * Turns sink records into bulk actions. Pure logic, no I/O: returns null for
 * records that are skipped, throws {@link DataError} for records that cannot
 * become a document.
 */
export class DocumentBuilder {
  private readonly indexCache = new Map<string, string>();

  constructor(private readonly cfg: ElasticsearchSinkOptions) {}

  build(record: SinkRecord): BulkAction | null {
    const cfg = this.cfg;
    const dataStream = cfg['data.stream.type'] !== 'none';
    const index = this.indexFor(record);
    // Data streams are append-only: a key as id would turn later events into no-ops.
    const id = cfg['key.ignore'] || dataStream ? `${record.topic}+${record.kafkaPartition}+${record.kafkaOffset}` : keyToId(record);
    const docKey = `${index}\u0000${id}`;
    const meta = `{"_index":${JSON.stringify(index)},"_id":${JSON.stringify(id)}`;

    if (record.value === null || record.value === undefined) {
      switch (cfg['behavior.on.null.values']) {
        case 'ignore':
          return null;
        case 'delete': {
          const lines = `{"delete":${meta}}}\n`;
          return { record, docKey, lines, bytes: Buffer.byteLength(lines), create: false, isDelete: true };
        }
        default:
          throw new DataError(`Record ${where(record)} has a null value (tombstone) and behavior.on.null.values=fail`);
      }
    }

    let doc = toDocument(record);
    if (dataStream) doc = withTimestamp(doc, record, cfg['data.stream.timestamp.field'] ?? []);
    const source = serialize(doc, record);
    let lines: string;
    if (cfg['write.method'] === 'upsert') {
      lines = `{"update":${meta},"retry_on_conflict":3}}\n{"doc":${source},"doc_as_upsert":true}\n`;
    } else if (dataStream) {
      lines = `{"create":${meta}}}\n${source}\n`;
    } else {
      lines = `{"index":${meta}}}\n${source}\n`;
    }
    return { record, docKey, lines, bytes: Buffer.byteLength(lines), create: dataStream, isDelete: false };
  }

  indexFor(record: SinkRecord): string {
    let name = this.indexCache.get(record.topic);
    if (name === undefined) {
      const cfg = this.cfg;
      name =
        cfg['data.stream.type'] !== 'none'
          ? dataStreamName(cfg['data.stream.type'], cfg['data.stream.dataset'] ?? '', record.topic)
          : indexNameFor(cfg['index.name.format'], record.topic);
      const bad = invalidIndexName(name);
      if (bad) throw new DataError(`Record ${where(record)}: index name "${name}" for topic "${record.topic}" is invalid: ${bad}`);
      if (this.indexCache.size > 10_000) this.indexCache.clear();
      this.indexCache.set(record.topic, name);
    }
    return name;
  }
}

/** The record key as a document id (key.ignore=false). */
export function keyToId(record: SinkRecord): string {
  const k = record.key;
  if (k === null || k === undefined)
    throw new DataError(`Record ${where(record)} has a null key, which key.ignore=false uses as the document id`);
  if (typeof k === 'string') {
    if (k.length === 0) throw new DataError(`Record ${where(record)} has an empty key, which cannot be a document id`);
    return k;
  }
  if (typeof k === 'number' || typeof k === 'bigint' || typeof k === 'boolean') return String(k);
  if (k instanceof Uint8Array) return Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('utf8');
  if (k instanceof Date) return String(k.getTime());
  if (typeof k === 'object') {
    // A struct key with one field (e.g. {id: 42}) is that field's value; others become canonical JSON.
    const entries = k instanceof Map ? [...k.entries()] : Object.entries(k as object);
    if (entries.length === 1) {
      const v = entries[0]![1];
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
    }
    return serialize(toJsonValue(k, record.keySchema ?? undefined), record);
  }
  throw new DataError(`Record ${where(record)} has a key of type ${typeof k} that cannot be a document id`);
}

/** The record value as a JSON-ready object (struct, map or a JSON object in a string/bytes). */
export function toDocument(record: SinkRecord): Record<string, unknown> {
  let v = record.value;
  if (typeof v === 'string' || v instanceof Uint8Array) {
    const text = typeof v === 'string' ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8');
    try {
      v = JSON.parse(text);
    } catch {
      throw new DataError(`Record ${where(record)}: the value is a string that is not a JSON object, so it cannot be a document`);
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v))
      throw new DataError(`Record ${where(record)}: the value is JSON but not an object, so it cannot be a document`);
    return v as Record<string, unknown>;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Date)
    throw new DataError(
      `Record ${where(record)}: the value is ${Array.isArray(v) ? 'an array' : `a ${typeof v}`}; a document needs a struct or a map`,
    );
  return toJsonValue(v, record.valueSchema ?? undefined) as Record<string, unknown>;
}

const fieldMaps = new WeakMap<Schema, Map<string, Schema>>();
function fieldsOf(schema: Schema): Map<string, Schema> {
  let m = fieldMaps.get(schema);
  if (!m) {
    m = new Map((schema.fields ?? []).map((f) => [f.field, f as Schema]));
    fieldMaps.set(schema, m);
  }
  return m;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

function logical(v: unknown, schema: Schema): unknown {
  switch (schema.name) {
    case LogicalNames.Timestamp: {
      const d = v instanceof Date ? v : typeof v === 'number' ? new Date(v) : undefined;
      return d && !Number.isNaN(d.getTime()) ? d.toISOString() : v;
    }
    case LogicalNames.Date: {
      const d = v instanceof Date ? v : typeof v === 'number' ? new Date(v) : undefined;
      return d && !Number.isNaN(d.getTime()) ? d.toISOString().slice(0, 10) : v;
    }
    case LogicalNames.Time: {
      const d = v instanceof Date ? v : typeof v === 'number' ? new Date(v) : undefined;
      return d && !Number.isNaN(d.getTime())
        ? `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`
        : v;
    }
    case LogicalNames.Decimal: {
      // Elasticsearch has no exact decimal type: a number maps to double / scaled_float.
      if (typeof v === 'string') {
        const n = Number(v);
        return Number.isFinite(n) ? n : v;
      }
      return v;
    }
    default:
      return undefined;
  }
}

/**
 * Makes a record value JSON-ready: logical types become ISO dates / numbers,
 * bytes base64, Maps objects. Copies only what changes; bigints are kept
 * and written as exact JSON numbers by {@link serialize}.
 */
export function toJsonValue(v: unknown, schema: Schema | undefined): unknown {
  if (v === null || v === undefined) return v ?? null;
  if (schema?.name) {
    const l = logical(v, schema);
    if (l !== undefined) return l;
  }
  switch (typeof v) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
      return v;
    case 'object':
      break;
    default:
      return null;
  }
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  if (Array.isArray(v)) {
    const items = schema?.items;
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const c = v[i];
      const n = toJsonValue(c, items);
      if (n !== c && out === undefined) out = v.slice(0, i);
      if (out) out.push(n);
    }
    return out ?? v;
  }
  if (v instanceof Map) {
    const o: Record<string, unknown> = {};
    for (const [k, c] of v) o[String(k)] = toJsonValue(c, schema?.values);
    return o;
  }
  const obj = v as Record<string, unknown>;
  const fields = schema?.type === 'struct' ? fieldsOf(schema) : undefined;
  const valueSchema = schema?.type === 'map' ? schema.values : undefined;
  let out: Record<string, unknown> | undefined;
  for (const k in obj) {
    const c = obj[k];
    const n = toJsonValue(c, fields ? fields.get(k) : valueSchema);
    if (n !== c && out === undefined) out = { ...obj };
    if (out) out[k] = n;
  }
  return out ?? obj;
}

const BIGINT_MARK = '\u0001ferry-bigint:';
const BIGINT_RE = /"\\u0001ferry-bigint:(-?\d+)"/g;

/** JSON text of a JSON-ready value; bigints are written as exact numbers. */
export function serialize(v: unknown, record: SinkRecord): string {
  try {
    return JSON.stringify(v);
  } catch (e) {
    if (!(e instanceof TypeError) || !/bigint/i.test(e.message))
      throw new DataError(`Record ${where(record)}: the value cannot be written as JSON: ${(e as Error).message}`, { cause: e });
  }
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? BIGINT_MARK + x.toString() : x)).replace(BIGINT_RE, '$1');
}

/** The document with `@timestamp` set, for data streams (copied, never mutating the record). */
function withTimestamp(doc: Record<string, unknown>, record: SinkRecord, fields: string[]): Record<string, unknown> {
  for (const f of fields) {
    const v = doc[f];
    if (v !== undefined && v !== null) return f === '@timestamp' ? doc : { ...doc, '@timestamp': v };
  }
  const ts = record.timestamp ?? Date.now();
  return { ...doc, '@timestamp': new Date(ts).toISOString() };
}
