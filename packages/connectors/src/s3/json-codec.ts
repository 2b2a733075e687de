/**
 * Connect values <-> JSON-safe values, driven by the value's schema the way
 * Kafka Connect's JsonConverter lays them out (bytes as base64, Timestamp as
 * epoch ms, Date as days since epoch, Time as ms of day, maps with non-string
 * keys as [key, value] pairs). Decimals stay decimal strings (exact), int64
 * beyond 2^53 is written as a string. `fromJson` is the exact inverse when
 * given the same schema, which is what makes restores lossless.
 */
import { LogicalNames, fieldSchema, type Header, type Schema, type SinkRecord, type SourceRecord } from '@ferry/core';

const DAY = 86400000;

const fieldCache = new WeakMap<Schema, Array<[string, Schema]>>();

/** A struct's fields as [name, standalone schema] pairs, computed once per schema object. */
export function structFields(schema: Schema): Array<[string, Schema]> {
  let f = fieldCache.get(schema);
  if (!f) fieldCache.set(schema, (f = (schema.fields ?? []).map((x) => [x.field, fieldSchema(x)])));
  return f;
}

function isBytes(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array;
}

function toBase64(v: Uint8Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

function num(v: unknown): number | string {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return v as number;
}

function epochMs(v: unknown): number {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'bigint') return Number(v);
  return Number(v);
}

/** A schemaless value made JSON-safe (Buffers base64, Dates epoch ms, Maps objects). */
export function schemalessToJson(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return num(v);
  if (typeof v === 'number') return num(v);
  if (typeof v !== 'object') return v;
  if (isBytes(v)) return toBase64(v);
  if (v instanceof Date) return v.getTime();
  if (Array.isArray(v)) return v.map(schemalessToJson);
  if (v instanceof Map) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of v) o[String(k)] = schemalessToJson(x);
    return o;
  }
  const o: Record<string, unknown> = {};
  for (const k of Object.keys(v)) o[k] = schemalessToJson((v as Record<string, unknown>)[k]);
  return o;
}

export function toJson(v: unknown, schema: Schema | null | undefined): unknown {
  if (v === null || v === undefined) return null;
  if (!schema) return schemalessToJson(v);
  switch (schema.name) {
    case LogicalNames.Decimal:
      return typeof v === 'string' ? v : isBytes(v) ? toBase64(v) : String(v);
    case LogicalNames.Timestamp:
      return epochMs(v);
    case LogicalNames.Date:
      return v instanceof Date ? Math.floor(v.getTime() / DAY) : Number(v);
    case LogicalNames.Time:
      return v instanceof Date ? ((v.getTime() % DAY) + DAY) % DAY : Number(v);
  }
  switch (schema.type) {
    case 'bytes':
      return isBytes(v) ? toBase64(v) : typeof v === 'string' ? v : schemalessToJson(v);
    case 'int8':
    case 'int16':
    case 'int32':
    case 'int64':
    case 'float':
    case 'double':
      return num(v);
    case 'struct': {
      const o: Record<string, unknown> = {};
      const src = v as Record<string, unknown>;
      for (const [name, fs] of structFields(schema)) o[name] = toJson(src[name], fs);
      return o;
    }
    case 'array':
      return (v as unknown[]).map((x) => toJson(x, schema.items));
    case 'map': {
      const entries: Array<[unknown, unknown]> = v instanceof Map ? [...v.entries()] : Object.entries(v as object);
      if (!schema.keys || schema.keys.type === 'string') {
        const o: Record<string, unknown> = {};
        for (const [k, x] of entries) o[String(k)] = toJson(x, schema.values);
        return o;
      }
      return entries.map(([k, x]) => [toJson(k, schema.keys), toJson(x, schema.values)]);
    }
    default:
      return schemalessToJson(v);
  }
}

function toNumber(v: unknown): number | bigint {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    if (/^-?\d+$/.test(v)) {
      const b = BigInt(v);
      return Number.isSafeInteger(Number(b)) ? Number(b) : b;
    }
    return Number(v);
  }
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v;
  return Number(v);
}

export function fromJson(v: unknown, schema: Schema | null | undefined): unknown {
  if (v === null || v === undefined) return null;
  if (!schema) return v;
  switch (schema.name) {
    case LogicalNames.Decimal:
      return typeof v === 'string' ? v : String(v);
    case LogicalNames.Timestamp:
      return new Date(Number(v));
    case LogicalNames.Date:
      return new Date(Number(v) * DAY);
    case LogicalNames.Time:
      return new Date(Number(v));
  }
  switch (schema.type) {
    case 'bytes':
      return typeof v === 'string' ? Buffer.from(v, 'base64') : v;
    case 'int8':
    case 'int16':
    case 'int32':
    case 'int64':
      return toNumber(v);
    case 'float':
    case 'double':
      return typeof v === 'string' ? Number(v) : v;
    case 'struct': {
      const o: Record<string, unknown> = {};
      const src = v as Record<string, unknown>;
      for (const [name, fs] of structFields(schema)) o[name] = fromJson(src[name], fs);
      return o;
    }
    case 'array':
      return (v as unknown[]).map((x) => fromJson(x, schema.items));
    case 'map': {
      if (!schema.keys || schema.keys.type === 'string') {
        const o: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v as object)) o[k] = fromJson(x, schema.values);
        return o;
      }
      return new Map((v as Array<[unknown, unknown]>).map(([k, x]) => [fromJson(k, schema.keys), fromJson(x, schema.values)]));
    }
    default:
      return v;
  }
}

/**
 * One stored datum (key, value or header value): the JSON form plus what is
 * needed to rebuild the exact Connect value.
 */
interface Datum {
  v: unknown;
  schema?: Schema;
  /** A schemaless Buffer (the JSON form is base64). */
  bytes?: true;
}

function encodeDatum(value: unknown, schema: Schema | null | undefined): Datum {
  if (schema) return { v: toJson(value, schema), schema };
  if (isBytes(value)) return { v: toBase64(value), bytes: true };
  return { v: schemalessToJson(value) };
}

function decodeDatum(v: unknown, schema: Schema | undefined, bytes: boolean | undefined): unknown {
  if (v === null || v === undefined) return null;
  if (schema) return fromJson(v, schema);
  if (bytes) return Buffer.from(v as string, 'base64');
  return v;
}

/**
 * The envelope written when `store.kafka.keys` or `store.kafka.headers` is
 * on: everything S3Source needs to reproduce the record exactly.
 */
export interface Envelope {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number | null;
  timestampType?: string;
  key?: unknown;
  keySchema?: Schema;
  keyBytes?: true;
  value: unknown;
  valueSchema?: Schema;
  valueBytes?: true;
  headers?: Array<{ key: string; value: unknown; schema?: Schema; bytes?: true }>;
}

export function encodeEnvelope(r: SinkRecord, withKey: boolean, withHeaders: boolean): Envelope {
  const env: Envelope = {
    topic: r.topic,
    partition: r.kafkaPartition,
    offset: r.kafkaOffset,
    timestamp: r.timestamp ?? null,
    value: null,
  };
  if (r.timestampType) env.timestampType = r.timestampType;
  if (withKey) {
    const k = encodeDatum(r.key, r.keySchema);
    env.key = k.v;
    if (k.schema) env.keySchema = k.schema;
    if (k.bytes) env.keyBytes = true;
  }
  const val = encodeDatum(r.value, r.valueSchema);
  env.value = val.v;
  if (val.schema) env.valueSchema = val.schema;
  if (val.bytes) env.valueBytes = true;
  if (withHeaders) env.headers = encodeHeaders(r.headers);
  return env;
}

export function encodeHeaders(headers: Header[] | undefined): NonNullable<Envelope['headers']> {
  return (headers ?? []).map((h) => {
    const d = encodeDatum(h.value, h.schema);
    const out: NonNullable<Envelope['headers']>[number] = { key: h.key, value: d.v };
    if (d.schema) out.schema = d.schema;
    if (d.bytes) out.bytes = true;
    return out;
  });
}

export function decodeHeaders(hs: Envelope['headers']): Header[] {
  return (hs ?? []).map((h) => {
    const out: Header = { key: h.key, value: decodeDatum(h.value, h.schema, h.bytes) };
    if (h.schema) out.schema = h.schema;
    return out;
  });
}

/** The Connect parts of a stored envelope (topic and partition chosen by the caller). */
export function decodeEnvelope(env: Envelope): Pick<SourceRecord, 'key' | 'keySchema' | 'value' | 'valueSchema' | 'headers' | 'timestamp'> {
  const out: Pick<SourceRecord, 'key' | 'keySchema' | 'value' | 'valueSchema' | 'headers' | 'timestamp'> = {
    key: decodeDatum(env.key, env.keySchema, env.keyBytes),
    value: decodeDatum(env.value, env.valueSchema, env.valueBytes),
    timestamp: env.timestamp ?? null,
  };
  out.keySchema = env.keySchema ?? null;
  out.valueSchema = env.valueSchema ?? null;
  if (env.headers) out.headers = decodeHeaders(env.headers);
  return out;
}
