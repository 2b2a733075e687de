/**
 * The object formats of S3Sink: how records of one file are buffered and
 * turned into the uploaded object body. The same names are understood by
 * S3Source.
 */
import * as zlib from 'node:zlib';
import { promisify } from 'node:util';
import { Readable } from 'node:stream';
import { DataError, type Schema, type SinkRecord } from '@ferry/core';
import { encodeEnvelope, encodeHeaders, toJson } from './json-codec.js';
import { jsonSchema, writeParquet, type ParquetCodec, type ParquetColumn } from './parquet.js';
import { SchemaInferrer } from './infer.js';
import type { MemoryBudget, SpillBuffer } from './spill-buffer.js';

export { FORMAT_CHOICES, resolveFormat, type FormatName } from './format-names.js';
import type { FormatName } from './format-names.js';

/** Object user metadata telling S3Source how a file was written. */
export const META_LAYOUT = 'ferry-layout';
export type Layout = 'envelope-v1' | 'value-v1';

export interface FormatOptions {
  format: FormatName;
  /** Store key/headers/metadata beside the value (an envelope per record). */
  envelope: { keys: boolean; headers: boolean } | null;
  gzip: boolean;
  parquetCodec: ParquetCodec;
  separator: Buffer;
}

export interface Body {
  body: Buffer | Readable;
  contentType: string;
}

/** One open file: records go in, an object body comes out. */
export interface OpenFile {
  readonly records: number;
  readonly bytes: number;
  append(r: SinkRecord): void;
  body(): Promise<Body>;
  dispose(): void;
}

export interface SinkFormat {
  readonly extension: string;
  readonly layout: Layout;
  /** Whether a null value can be stored (bytes cannot). */
  readonly storesNull: boolean;
  /**
   * A signature of the record's shape; a change closes the open files
   * (Parquet needs one schema per file). Undefined: no constraint.
   */
  shapeOf(r: SinkRecord): string | undefined;
  open(budget: MemoryBudget): OpenFile;
}

export function createFormat(o: FormatOptions): SinkFormat {
  switch (o.format) {
    case 'json':
      return jsonFormat(o);
    case 'bytes':
      return bytesFormat(o);
    case 'parquet':
      return parquetFormat(o);
  }
}

const gzip = promisify(zlib.gzip);
/** Bodies up to this size are built in memory; larger ones are streamed. */
const IN_MEMORY_BODY = 16 << 20;

async function rawBody(buf: SpillBuffer, compress: boolean): Promise<Buffer | Readable> {
  if (buf.size <= IN_MEMORY_BODY) {
    const all = await buf.readAll();
    return compress ? gzip(all) : all;
  }
  const s = buf.stream();
  return compress ? s.pipe(zlib.createGzip()) : s;
}

function jsonFormat(o: FormatOptions): SinkFormat {
  const env = o.envelope;
  return {
    extension: o.gzip ? 'json.gz' : 'json',
    layout: env ? 'envelope-v1' : 'value-v1',
    storesNull: true,
    shapeOf: () => undefined,
    open(budget) {
      const buf = budget.create();
      let records = 0;
      return {
        get records() {
          return records;
        },
        get bytes() {
          return buf.size;
        },
        append(r) {
          const doc = env ? encodeEnvelope(r, env.keys, env.headers) : toJson(r.value, r.valueSchema);
          buf.append(Buffer.from(JSON.stringify(doc) + '\n'));
          records++;
        },
        async body() {
          return { body: await rawBody(buf, o.gzip), contentType: o.gzip ? 'application/gzip' : 'application/x-ndjson' };
        },
        dispose: () => buf.dispose(),
      };
    },
  };
}

function valueBytes(r: SinkRecord): Buffer {
  const v = r.value;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (typeof v === 'string') return Buffer.from(v);
  throw new DataError(
    `format.class=bytes needs Buffer or string values; record ${r.topic}/${r.kafkaPartition}/${r.kafkaOffset} has ${v === null ? 'null' : typeof v} (use value.converter=ByteArrayConverter, or format.class=json)`,
  );
}

function bytesFormat(o: FormatOptions): SinkFormat {
  return {
    extension: 'bin',
    layout: 'value-v1',
    storesNull: false,
    shapeOf: () => undefined,
    open(budget) {
      const buf = budget.create();
      let records = 0;
      return {
        get records() {
          return records;
        },
        get bytes() {
          return buf.size;
        },
        append(r) {
          const b = valueBytes(r);
          buf.append(b);
          if (o.separator.length) buf.append(o.separator);
          records++;
        },
        async body() {
          return { body: await rawBody(buf, false), contentType: 'application/octet-stream' };
        },
        dispose: () => buf.dispose(),
      };
    },
  };
}

/** How a key or value column is stored in Parquet. */
type Kind = { k: 'schema'; schema: Schema } | { k: 'bytes' } | { k: 'string' } | { k: 'json' };

function kindOf(v: unknown, schema: Schema | null | undefined): Kind | undefined {
  if (schema) return { k: 'schema', schema };
  if (v === null || v === undefined) return undefined;
  if (v instanceof Uint8Array) return { k: 'bytes' };
  if (typeof v === 'string') return { k: 'string' };
  return { k: 'json' };
}

const schemaSigs = new WeakMap<Schema, string>();

function kindSig(k: Kind | undefined): string {
  if (!k) return '';
  if (k.k !== 'schema') return k.k;
  // Converters hand the same schema object to many records: stringify it once.
  let sig = schemaSigs.get(k.schema);
  if (sig === undefined) schemaSigs.set(k.schema, (sig = 'schema:' + JSON.stringify(k.schema)));
  return sig;
}

function kindColumnSchema(k: Kind | undefined): Schema {
  if (!k) return jsonSchema();
  switch (k.k) {
    case 'schema':
      return { ...k.schema, optional: true };
    case 'bytes':
      return { type: 'bytes', optional: true };
    case 'string':
      return { type: 'string', optional: true };
    case 'json':
      return jsonSchema();
  }
}

interface Row {
  value: unknown;
  key?: unknown;
  offset?: number;
  partition?: number;
  timestamp?: number | null;
  timestampType?: string;
  headers?: unknown;
}

function parquetFormat(o: FormatOptions): SinkFormat {
  const env = o.envelope;
  return {
    extension: 'parquet',
    layout: env ? 'envelope-v1' : 'value-v1',
    storesNull: true,
    shapeOf(r) {
      const v = kindSig(kindOf(r.value, r.valueSchema));
      const k = env?.keys ? kindSig(kindOf(r.key, r.keySchema)) : '';
      // Nulls fit any shape: they never force a new file.
      return v === '' && k === '' ? undefined : `${k}|${v}`;
    },
    open(budget) {
      const buf = budget.createRows();
      let records = 0;
      let valueKind: Kind | undefined;
      let keyKind: Kind | undefined;
      let topic = '';
      let sawNull = false;
      return {
        get records() {
          return records;
        },
        get bytes() {
          return buf.size;
        },
        append(r) {
          valueKind ??= kindOf(r.value, r.valueSchema);
          if (env?.keys) keyKind ??= kindOf(r.key, r.keySchema);
          if (r.value === null || r.value === undefined) sawNull = true;
          topic = r.topic;
          const row: Row = { value: r.value };
          if (env) {
            row.partition = r.kafkaPartition;
            row.offset = r.kafkaOffset;
            row.timestamp = r.timestamp ?? null;
            if (r.timestampType) row.timestampType = r.timestampType;
            if (env.keys) row.key = r.key;
            if (env.headers) row.headers = encodeHeaders(r.headers);
          }
          buf.push(row);
          records++;
        },
        async body() {
          const rows = function* (): Generator<Row> {
            for (const r of buf.all()) yield r as Row;
          };
          const kv: Record<string, string> = { 'ferry.layout': env ? 'envelope-v1' : 'value-v1' };
          let columns: ParquetColumn[];
          let source: Iterable<Record<string, unknown>>;
          let valueSchema: Schema;
          if (valueKind?.k === 'json' && !env) {
            // Schemaless objects meant for analytics: infer columns from every row.
            const inf = new SchemaInferrer();
            for (const r of rows()) inf.add(r.value);
            valueSchema = inf.schema();
          } else {
            valueSchema = kindColumnSchema(valueKind);
          }
          kv['ferry.value.kind'] = valueKind?.k ?? 'null';
          if (valueKind?.k === 'schema') kv['ferry.value.connect.schema'] = JSON.stringify(valueKind.schema);
          if (env) {
            columns = [
              { name: 'topic', schema: { type: 'string', optional: false } },
              { name: 'partition', schema: { type: 'int32', optional: false } },
              { name: 'offset', schema: { type: 'int64', optional: false } },
              { name: 'timestamp', schema: { type: 'int64', name: 'org.apache.kafka.connect.data.Timestamp', optional: true } },
              { name: 'timestampType', schema: { type: 'string', optional: true } },
            ];
            if (env.keys) {
              const ks = kindColumnSchema(keyKind);
              kv['ferry.key.kind'] = keyKind?.k ?? 'null';
              if (keyKind?.k === 'schema') kv['ferry.key.connect.schema'] = JSON.stringify(keyKind.schema);
              columns.push({ name: 'key', schema: ks });
            }
            if (env.headers) columns.push({ name: 'headers', schema: jsonSchema() });
            columns.push({ name: 'value', schema: valueSchema });
            source = (function* () {
              for (const r of rows()) yield { ...r, topic } as unknown as Record<string, unknown>;
            })();
          } else if (valueSchema.type === 'struct' && valueSchema.fields?.length) {
            kv['ferry.value.layout'] = 'columns';
            columns = valueSchema.fields.map((f) => {
              const { field, ...s } = f;
              return { name: field, schema: sawNull ? { ...s, optional: true } : s };
            });
            source = (function* () {
              for (const r of rows()) yield (r.value ?? {}) as Record<string, unknown>;
            })();
          } else {
            kv['ferry.value.layout'] = 'value';
            columns = [{ name: 'value', schema: { ...valueSchema, optional: true } }];
            source = (function* () {
              for (const r of rows()) yield r as unknown as Record<string, unknown>;
            })();
          }
          const bytes = writeParquet(columns, source, { codec: o.parquetCodec, kv });
          return { body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), contentType: 'application/vnd.apache.parquet' };
        },
        dispose: () => buf.dispose(),
      };
    },
  };
}
