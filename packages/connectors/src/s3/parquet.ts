/**
 * The narrow Parquet interface of the S3 connectors. Everything else speaks
 * Connect schemas and values; this file alone knows the Parquet libraries
 * (hyparquet-writer to write, hyparquet + hyparquet-compressors to read), so
 * swapping them touches nothing else.
 */
import * as zlib from 'node:zlib';
import { parquetMetadata, parquetReadObjects, parquetSchema, type SchemaElement, type SchemaTree } from 'hyparquet';
import { compressors as readCompressors } from 'hyparquet-compressors';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import { snappyCompressor } from 'hysnappy';
import { LogicalNames, fieldSchema, type Schema } from '@ferry/core';
import { schemalessToJson, structFields } from './json-codec.js';

/** Pseudo logical name for a column holding arbitrary JSON (Parquet JSON type). */
export const JSON_LOGICAL = 'io.ferry.Json';
export const jsonSchema = (optional = true): Schema => ({ type: 'string', name: JSON_LOGICAL, optional });

export type ParquetCodec = 'snappy' | 'gzip' | 'zstd' | 'none';

export { zstdAvailable } from './format-names.js';
type ZstdZlib = { zstdCompressSync?: (b: Uint8Array) => Buffer };

const DAY = 86400000;

/** A top-level column: its name and the Connect schema of its values. */
export interface ParquetColumn {
  name: string;
  schema: Schema;
}

function rep(optional: boolean | undefined): 'OPTIONAL' | 'REQUIRED' {
  return optional ? 'OPTIONAL' : 'REQUIRED';
}

/** Connect schema -> Parquet schema elements (depth-first, with num_children). */
export function toParquetElements(name: string, s: Schema, optional: boolean): SchemaElement[] {
  const repetition_type = rep(optional);
  switch (s.name) {
    case LogicalNames.Decimal: {
      const scale = Number(s.parameters?.scale ?? 0);
      const precision = Number(s.parameters?.['connect.decimal.precision'] ?? 38);
      return [{ name, type: 'BYTE_ARRAY', converted_type: 'DECIMAL', scale, precision, repetition_type }];
    }
    case LogicalNames.Timestamp:
      return [{ name, type: 'INT64', converted_type: 'TIMESTAMP_MILLIS', repetition_type }];
    case LogicalNames.Date:
      return [{ name, type: 'INT32', converted_type: 'DATE', repetition_type }];
    case LogicalNames.Time:
      return [{ name, type: 'INT32', converted_type: 'TIME_MILLIS', repetition_type }];
    case JSON_LOGICAL:
      return [{ name, type: 'BYTE_ARRAY', converted_type: 'JSON', repetition_type }];
  }
  switch (s.type) {
    case 'int8':
      return [{ name, type: 'INT32', converted_type: 'INT_8', repetition_type }];
    case 'int16':
      return [{ name, type: 'INT32', converted_type: 'INT_16', repetition_type }];
    case 'int32':
      return [{ name, type: 'INT32', repetition_type }];
    case 'int64':
      return [{ name, type: 'INT64', repetition_type }];
    case 'float':
      return [{ name, type: 'FLOAT', repetition_type }];
    case 'double':
      return [{ name, type: 'DOUBLE', repetition_type }];
    case 'boolean':
      return [{ name, type: 'BOOLEAN', repetition_type }];
    case 'string':
      return [{ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type }];
    case 'bytes':
      return [{ name, type: 'BYTE_ARRAY', repetition_type }];
    case 'struct': {
      const fields = s.fields ?? [];
      if (fields.length === 0) return toParquetElements(name, jsonSchema(), optional);
      const out: SchemaElement[] = [{ name, repetition_type, num_children: fields.length }];
      for (const f of fields) out.push(...toParquetElements(f.field, fieldSchema(f), f.optional ?? false));
      return out;
    }
    case 'array': {
      const items = s.items ?? jsonSchema();
      return [
        { name, repetition_type, converted_type: 'LIST', num_children: 1 },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        ...toParquetElements('element', items, items.optional ?? false),
      ];
    }
    case 'map': {
      const keys = s.keys ?? { type: 'string' };
      const values = s.values ?? jsonSchema();
      return [
        { name, repetition_type, converted_type: 'MAP', num_children: 1 },
        { name: 'key_value', repetition_type: 'REPEATED', num_children: 2 },
        ...toParquetElements('key', keys, false),
        ...toParquetElements('value', values, values.optional ?? true),
      ];
    }
  }
  return toParquetElements(name, jsonSchema(), optional);
}

/** "-12.30" at scale 2 -> -1230n. */
export function decimalToUnscaled(v: unknown, scale: number): bigint {
  const s = typeof v === 'string' ? v.trim() : typeof v === 'number' ? v.toFixed(scale) : String(v);
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(s);
  if (!m) throw new Error(`not a decimal: ${JSON.stringify(s)}`);
  let frac = m[3] ?? '';
  if (frac.length > scale) frac = frac.slice(0, scale);
  const digits = (m[2] || '0') + frac.padEnd(scale, '0');
  const b = BigInt(digits);
  return m[1] === '-' ? -b : b;
}

/** A Connect value -> what hyparquet-writer expects for the schema. */
export function toParquetValue(v: unknown, s: Schema): unknown {
  if (v === null || v === undefined) return null;
  switch (s.name) {
    case LogicalNames.Decimal:
      return decimalToUnscaled(v, Number(s.parameters?.scale ?? 0));
    case LogicalNames.Timestamp:
      return v instanceof Date ? v : Number(v);
    case LogicalNames.Date:
      return v instanceof Date ? Math.floor(v.getTime() / DAY) : Math.floor(Number(v) / DAY);
    case LogicalNames.Time: {
      const ms = v instanceof Date ? v.getTime() : Number(v);
      return ((ms % DAY) + DAY) % DAY;
    }
    case JSON_LOGICAL:
      return schemalessToJson(v);
  }
  switch (s.type) {
    case 'int64':
      return typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v)));
    case 'int8':
    case 'int16':
    case 'int32':
    case 'float':
    case 'double':
      return typeof v === 'number' ? v : Number(v);
    case 'boolean':
      return Boolean(v);
    case 'string':
      return typeof v === 'string' ? v : String(v);
    case 'bytes':
      return v instanceof Uint8Array ? v : Buffer.from(String(v));
    case 'struct': {
      const fields = s.fields ?? [];
      if (fields.length === 0) return schemalessToJson(v);
      const src = v as Record<string, unknown>;
      const o: Record<string, unknown> = {};
      for (const [name, fs] of structFields(s)) o[name] = toParquetValue(src[name], fs);
      return o;
    }
    case 'array': {
      const items = s.items ?? jsonSchema();
      return (v as unknown[]).map((x) => toParquetValue(x, items));
    }
    case 'map': {
      const keys = s.keys ?? { type: 'string' };
      const values = s.values ?? jsonSchema();
      const entries: Array<[unknown, unknown]> = v instanceof Map ? [...v.entries()] : Object.entries(v as object);
      return entries.map(([k, x]) => ({ key: toParquetValue(k, keys), value: toParquetValue(x, values) }));
    }
  }
  return schemalessToJson(v);
}

/** A value read by hyparquet -> the Connect value for the schema. */
export function fromParquetValue(v: unknown, s: Schema): unknown {
  if (v === null || v === undefined) return null;
  switch (s.name) {
    case LogicalNames.Decimal: {
      const scale = Number(s.parameters?.scale ?? 0);
      return typeof v === 'number' ? v.toFixed(scale) : String(v);
    }
    case LogicalNames.Timestamp:
    case LogicalNames.Date:
      return v instanceof Date ? v : new Date(Number(v));
    case LogicalNames.Time:
      return v instanceof Date ? v : new Date(Number(v));
    case JSON_LOGICAL:
      return v;
  }
  switch (s.type) {
    case 'int64': {
      if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v;
      return v;
    }
    case 'int8':
    case 'int16':
    case 'int32':
    case 'float':
    case 'double':
      return typeof v === 'bigint' ? Number(v) : v;
    case 'bytes':
      return v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : Buffer.from(String(v));
    case 'struct': {
      const fields = s.fields ?? [];
      if (fields.length === 0) return v;
      const src = v as Record<string, unknown>;
      const o: Record<string, unknown> = {};
      for (const [name, fs] of structFields(s)) o[name] = fromParquetValue(src[name], fs);
      return o;
    }
    case 'array': {
      const items = s.items ?? jsonSchema();
      return (v as unknown[]).map((x) => fromParquetValue(x, items));
    }
    case 'map': {
      const keys = s.keys ?? { type: 'string' };
      const values = s.values ?? jsonSchema();
      const entries: Array<[unknown, unknown]> = v instanceof Map ? [...v.entries()] : Object.entries(v as object);
      if (keys.type === 'string') {
        const o: Record<string, unknown> = {};
        for (const [k, x] of entries) o[String(k)] = fromParquetValue(x, values);
        return o;
      }
      return new Map(entries.map(([k, x]) => [fromParquetValue(typeof k === 'string' && /^-?\d+$/.test(k) ? Number(k) : k, keys), fromParquetValue(x, values)]));
    }
  }
  return v;
}

let snappy: ((b: Uint8Array) => Uint8Array) | undefined;

function writeCompressors(codec: ParquetCodec) {
  // The wasm compressor is far faster than the library's pure-JS fallback.
  if (codec === 'snappy') return { SNAPPY: (snappy ??= snappyCompressor()) };
  if (codec === 'gzip') return { GZIP: (b: Uint8Array) => new Uint8Array(zlib.gzipSync(b)) };
  if (codec === 'zstd') {
    const z = (zlib as unknown as ZstdZlib).zstdCompressSync;
    if (!z) throw new Error('zstd compression needs Node.js 22.15 or later');
    return { ZSTD: (b: Uint8Array) => new Uint8Array(z(b)) };
  }
  return undefined;
}

const CODEC_NAMES = { snappy: 'SNAPPY', gzip: 'GZIP', zstd: 'ZSTD', none: 'UNCOMPRESSED' } as const;

export interface ParquetWriteOptions {
  codec: ParquetCodec;
  /** Key/value metadata stored in the file footer. */
  kv?: Record<string, string>;
  /** Rows per row group. */
  rowGroupSize?: number;
}

/**
 * Writes a Parquet file. `rows` is iterated once per row group worth of
 * rows, so the caller can stream rows from a spill file: only one row
 * group's values are held at a time (plus the compressed output).
 */
export function writeParquet(columns: ParquetColumn[], rows: Iterable<Record<string, unknown>>, opts: ParquetWriteOptions): Uint8Array {
  const schema: SchemaElement[] = [{ name: 'root', num_children: columns.length }];
  for (const c of columns) schema.push(...toParquetElements(c.name, c.schema, c.schema.optional ?? true));
  const writer = new ByteWriter();
  const pq = new ParquetWriter({
    writer,
    schema,
    codec: CODEC_NAMES[opts.codec],
    compressors: writeCompressors(opts.codec),
    statistics: true,
    kvMetadata: Object.entries(opts.kv ?? {}).map(([key, value]) => ({ key, value })),
    createdBy: 'ferry s3 sink',
  });
  const groupSize = opts.rowGroupSize ?? 100000;
  let data: unknown[][] = columns.map(() => []);
  let n = 0;
  const flush = () => {
    if (n === 0) return;
    pq.write({ columnData: columns.map((c, i) => ({ name: c.name, data: data[i] as never })), rowGroupSize: n });
    data = columns.map(() => []);
    n = 0;
  };
  for (const row of rows) {
    for (let i = 0; i < columns.length; i++) data[i].push(toParquetValue(row[columns[i].name], columns[i].schema));
    if (++n >= groupSize) flush();
  }
  flush();
  pq.finish();
  return writer.getBytes();
}

export interface ParquetFile {
  /** Rows as hyparquet decodes them (convert with fromParquetValue). */
  rows: Record<string, unknown>[];
  kv: Record<string, string>;
  /** A Connect schema per top-level column, derived from the Parquet schema. */
  columns: ParquetColumn[];
}

/** Derives the Connect schema of a Parquet schema node. */
export function toConnectSchema(node: SchemaTree): Schema {
  const e = node.element;
  const optional = e.repetition_type !== 'REQUIRED';
  const ct = e.converted_type;
  if (node.children.length > 0) {
    if (ct === 'LIST' || e.logical_type?.type === 'LIST') {
      const list = node.children[0];
      const elem = list.children.length === 1 && list.element.repetition_type === 'REPEATED' && list.children.length ? list.children[0] : list;
      return { type: 'array', items: toConnectSchema(elem), optional };
    }
    if (ct === 'MAP' || ct === 'MAP_KEY_VALUE' || e.logical_type?.type === 'MAP') {
      const kv = node.children[0];
      return { type: 'map', keys: toConnectSchema(kv.children[0]), values: toConnectSchema(kv.children[1]), optional };
    }
    return {
      type: 'struct',
      optional,
      fields: node.children.map((c) => ({ ...toConnectSchema(c), field: c.element.name })),
    };
  }
  if (ct === 'DECIMAL' || e.logical_type?.type === 'DECIMAL')
    return { type: 'bytes', name: LogicalNames.Decimal, version: 1, parameters: { scale: String(e.scale ?? 0) }, optional };
  if (ct === 'TIMESTAMP_MILLIS' || ct === 'TIMESTAMP_MICROS' || e.logical_type?.type === 'TIMESTAMP' || e.type === 'INT96')
    return { type: 'int64', name: LogicalNames.Timestamp, version: 1, optional };
  if (ct === 'DATE') return { type: 'int32', name: LogicalNames.Date, version: 1, optional };
  if (ct === 'TIME_MILLIS') return { type: 'int32', name: LogicalNames.Time, version: 1, optional };
  if (ct === 'JSON') return jsonSchema(optional);
  if (ct === 'INT_8') return { type: 'int8', optional };
  if (ct === 'INT_16') return { type: 'int16', optional };
  switch (e.type) {
    case 'BOOLEAN':
      return { type: 'boolean', optional };
    case 'INT32':
      return { type: 'int32', optional };
    case 'INT64':
      return { type: 'int64', optional };
    case 'FLOAT':
      return { type: 'float', optional };
    case 'DOUBLE':
      return { type: 'double', optional };
    case 'BYTE_ARRAY':
      return ct === 'UTF8' || e.logical_type?.type === 'STRING' ? { type: 'string', optional } : { type: 'bytes', optional };
    default:
      return { type: 'bytes', optional };
  }
}

/** Reads a whole Parquet file held in memory. */
export async function readParquet(bytes: Uint8Array): Promise<ParquetFile> {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const metadata = parquetMetadata(file);
  const kv: Record<string, string> = {};
  for (const { key, value } of metadata.key_value_metadata ?? []) kv[key] = value ?? '';
  const tree = parquetSchema(metadata);
  const columns = tree.children.map((c) => ({ name: c.element.name, schema: toConnectSchema(c) }));
  const rows = (await parquetReadObjects({ file, metadata, compressors: readCompressors, utf8: false })) as Record<string, unknown>[];
  return { rows, kv, columns };
}
