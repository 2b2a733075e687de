/**
 * Object format names and what this Node.js can compress: what the config
 * declarations check, without loading the format writers (Parquet).
 */
import * as zlib from 'node:zlib';

export type FormatName = 'json' | 'parquet' | 'bytes';

const ALIASES: Record<string, FormatName> = {
  json: 'json',
  jsonformat: 'json',
  'io.confluent.connect.s3.format.json.jsonformat': 'json',
  parquet: 'parquet',
  parquetformat: 'parquet',
  'io.confluent.connect.s3.format.parquet.parquetformat': 'parquet',
  bytes: 'bytes',
  bytearray: 'bytes',
  bytearrayformat: 'bytes',
  'io.confluent.connect.s3.format.bytearray.bytearrayformat': 'bytes',
};

/** Accepts our names and Confluent's class names (case-insensitive). */
export function resolveFormat(name: string): FormatName | undefined {
  return ALIASES[name.trim().toLowerCase()];
}

export const FORMAT_CHOICES = 'json, parquet, bytes (or io.confluent.connect.s3.format.{json.JsonFormat,parquet.ParquetFormat,bytearray.ByteArrayFormat})';

type ZstdZlib = { zstdCompressSync?: (b: Uint8Array) => Buffer };
/** True when this Node.js can compress zstd (22.15+). */
export const zstdAvailable = typeof (zlib as unknown as ZstdZlib).zstdCompressSync === 'function';
