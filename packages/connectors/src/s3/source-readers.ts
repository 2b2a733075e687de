/**
 * Reading objects back: listing, fetching, and decoding each format into
 * Connect values.
 */
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Schema } from '@ferry/core';
import { schemalessToJson, decodeEnvelope, decodeHeaders, type Envelope } from './json-codec.js';
import { META_LAYOUT, type FormatName } from './formats.js';
import { JSON_LOGICAL, fromParquetValue, readParquet } from './parquet.js';

export interface ListedObject {
  key: string;
  size: number;
}

/** Lists every key under `prefix` after `startAfter`, in key order. */
export async function* listKeys(client: S3Client, bucket: string, prefix: string, startAfter?: string): AsyncGenerator<ListedObject> {
  let token: string | undefined;
  do {
    const res = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, StartAfter: token ? undefined : startAfter, ContinuationToken: token }),
    );
    for (const o of res.Contents ?? []) if (o.Key) yield { key: o.Key, size: o.Size ?? 0 };
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
}

/**
 * The folders right below `prefix`. Uses delimiter listing; some
 * S3-compatible stores answer it with nothing, so an empty answer falls
 * back to a full listing.
 */
export async function listFolders(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  let sawAny = false;
  do {
    const res = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token }));
    for (const p of res.CommonPrefixes ?? []) if (p.Prefix) out.push(p.Prefix);
    if (res.Contents?.length) sawAny = true;
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
  if (out.length || sawAny) return out;
  const set = new Set<string>();
  for await (const o of listKeys(client, bucket, prefix)) {
    const rest = o.key.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash > 0) set.add(prefix + rest.slice(0, slash + 1));
  }
  return [...set].sort();
}

export async function getObject(client: S3Client, bucket: string, key: string): Promise<{ body: Readable; metadata: Record<string, string> }> {
  const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return { body: res.Body as Readable, metadata: res.Metadata ?? {} };
}

export async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Does this key hold the given format? */
export function matchesFormat(key: string, format: FormatName): boolean {
  const k = key.toLowerCase();
  switch (format) {
    case 'json':
      return /\.(json|jsonl|ndjson)(\.gz)?$/.test(k);
    case 'parquet':
      return k.endsWith('.parquet');
    case 'bytes':
      return k.endsWith('.bin');
  }
}

/** The lines of a (possibly gzipped) object, streamed. */
export async function* lines(body: Readable, gz: boolean): AsyncGenerator<string> {
  const input = gz ? body.pipe(zlib.createGunzip()) : body;
  const rl = createInterface({ input, crlfDelay: Infinity });
  for await (const line of rl) if (line !== '') yield line;
}

/** Splits bytes on a separator (the separator after the last record is optional). */
export function splitBytes(buf: Buffer, sep: Buffer): Buffer[] {
  if (!sep.length) return [buf];
  const out: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const i = buf.indexOf(sep, pos);
    if (i < 0) break;
    out.push(buf.subarray(pos, i));
    pos = i + sep.length;
  }
  if (pos < buf.length) out.push(buf.subarray(pos));
  return out;
}

/** A record read back from an object, before topic routing. */
export interface StoredRecord {
  /** Kafka offset (envelopes) or undefined when the layout does not keep it. */
  offset?: number;
  partition?: number;
  key: unknown;
  keySchema: Schema | null;
  value: unknown;
  valueSchema: Schema | null;
  headers?: import('@ferry/core').Header[];
  timestamp: number | null;
}

function isEnvelopeLike(v: unknown): v is Envelope {
  return !!v && typeof v === 'object' && typeof (v as Envelope).offset === 'number' && typeof (v as Envelope).partition === 'number' && 'value' in (v as object);
}

/** Decodes one JSON line of a file written with `layout`. */
export function decodeJsonLine(line: string, layout: string | undefined): StoredRecord {
  const v = JSON.parse(line) as unknown;
  if (layout === 'envelope-v1' || (layout === undefined && isEnvelopeLike(v))) {
    const env = v as Envelope;
    const d = decodeEnvelope(env);
    return { offset: env.offset, partition: env.partition, key: d.key, keySchema: d.keySchema ?? null, value: d.value, valueSchema: d.valueSchema ?? null, headers: d.headers, timestamp: d.timestamp ?? null };
  }
  return { key: null, keySchema: null, value: v, valueSchema: null, timestamp: null };
}

/** Rows of a Parquet object as stored records (restore) using the footer metadata S3Sink writes. */
export async function decodeParquet(bytes: Uint8Array, mode: 'restore' | 'generic'): Promise<StoredRecord[]> {
  const file = await readParquet(bytes);
  const kv = file.kv;
  const layout = kv['ferry.layout'];
  const parsed = new Map<string, Schema>();
  const schemaOf = (json: string | undefined): Schema | null => {
    if (!json) return null;
    let sc = parsed.get(json);
    if (!sc) parsed.set(json, (sc = JSON.parse(json) as Schema));
    return sc;
  };
  const kindValue = (v: unknown, kind: string | undefined, connect: string | undefined): { value: unknown; schema: Schema | null } => {
    const s = schemaOf(connect);
    if (v === null || v === undefined) return { value: null, schema: s };
    if (kind === 'schema' && s) return { value: fromParquetValue(v, s), schema: s };
    if (kind === 'bytes') return { value: Buffer.from(v as Uint8Array), schema: null };
    if (kind === 'string') return { value: typeof v === 'string' ? v : Buffer.from(v as Uint8Array).toString(), schema: null };
    return { value: schemalessToJson(v), schema: null };
  };
  // Generic view: every column, with a Connect struct schema derived from the file.
  const fields = file.columns.map((c) => {
    const s = c.schema.name === JSON_LOGICAL ? { type: 'string' as const, optional: true } : c.schema;
    return { ...s, field: c.name };
  });
  const structSchema: Schema = { type: 'struct', fields, optional: false };
  const genericValues = () =>
    file.rows.map((row) => {
      const o: Record<string, unknown> = {};
      for (const c of file.columns) {
        const v = row[c.name];
        o[c.name] = c.schema.name === JSON_LOGICAL ? (v === null || v === undefined ? null : JSON.stringify(v)) : fromParquetValue(v, c.schema);
      }
      return o;
    });
  if (mode === 'generic' || (layout !== 'envelope-v1' && layout !== 'value-v1')) {
    return genericValues().map((value) => ({ key: null, keySchema: null, value, valueSchema: structSchema, timestamp: null }));
  }
  if (layout === 'envelope-v1') {
    return file.rows.map((row) => {
      const value = kindValue(row.value, kv['ferry.value.kind'], kv['ferry.value.connect.schema']);
      const key = 'key' in row ? kindValue(row.key, kv['ferry.key.kind'], kv['ferry.key.connect.schema']) : { value: null, schema: null };
      const ts = row.timestamp;
      const rec: StoredRecord = {
        offset: Number(row.offset as bigint),
        partition: Number(row.partition),
        key: key.value,
        keySchema: key.schema,
        value: value.value,
        valueSchema: value.schema,
        timestamp: ts === null || ts === undefined ? null : ts instanceof Date ? ts.getTime() : Number(ts),
      };
      if ('headers' in row) rec.headers = decodeHeaders(row.headers as Envelope['headers']);
      return rec;
    });
  }
  {
    const kind = kv['ferry.value.kind'];
    const connect = kv['ferry.value.connect.schema'];
    return file.rows.map((row): StoredRecord => {
      const raw = kv['ferry.value.layout'] === 'columns' ? row : row.value;
      const v = kindValue(raw, kind === 'json' && kv['ferry.value.layout'] === 'columns' ? 'json-columns' : kind, connect);
      return { key: null, keySchema: null, value: v.value, valueSchema: v.schema, timestamp: null };
    });
  }
}

/** Reads one object fully into stored records (bytes: split on `separator`). */
export async function readStoredObject(
  client: S3Client,
  bucket: string,
  key: string,
  format: FormatName,
  mode: 'restore' | 'generic',
  separator: Buffer,
): Promise<StoredRecord[]> {
  const { body, metadata } = await getObject(client, bucket, key);
  if (format === 'parquet') return decodeParquet(await readAll(body), mode);
  if (format === 'bytes') return splitBytes(await readAll(body), separator).map((value) => ({ key: null, keySchema: null, value, valueSchema: null, timestamp: null }));
  const layout = mode === 'restore' ? layoutOf(metadata) : 'value-v1';
  const out: StoredRecord[] = [];
  for await (const line of lines(body, key.endsWith('.gz'))) out.push(decodeJsonLine(line, layout));
  return out;
}

export function layoutOf(metadata: Record<string, string>): string | undefined {
  return metadata[META_LAYOUT];
}
