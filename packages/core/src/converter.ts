import type { ConfigDef } from './config.js';
import type { Header } from './record.js';
import type { Schema, SchemaAndValue } from './schema.js';

/** Turns record keys or values into bytes and back. */
export interface Converter {
  /** `config` holds the converter's own options (prefix stripped). */
  configure(config: Record<string, string>, isKey: boolean): void;
  fromConnectData(topic: string, schema: Schema | null | undefined, value: unknown, headers?: Header[]): Buffer | null;
  toConnectData(topic: string, data: Buffer | null, headers?: Header[]): SchemaAndValue;
}

/** Turns header values into bytes and back. */
export interface HeaderConverter {
  configure(config: Record<string, string>): void;
  fromConnectHeader(topic: string, key: string, schema: Schema | null | undefined, value: unknown): Buffer | null;
  toConnectHeader(topic: string, key: string, data: Buffer | null): SchemaAndValue;
}

export interface ConverterPlugin {
  readonly type: 'converter';
  readonly className: string;
  readonly aliases?: readonly string[];
  readonly version: string;
  readonly config: ConfigDef<any>;
  create(): Converter;
}

export interface HeaderConverterPlugin {
  readonly type: 'header_converter';
  readonly className: string;
  readonly aliases?: readonly string[];
  readonly version: string;
  readonly config: ConfigDef<any>;
  create(): HeaderConverter;
}
