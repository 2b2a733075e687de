import { defineConfig, Schemas, type HeaderConverter, type HeaderConverterPlugin, type Schema, type SchemaAndValue } from '@ferry/core';
import { FERRY_VERSION } from '@ferry/connector-kit';

const OPTIONAL_STRING = Schemas.string(true);

/**
 * Headers as text: strings are written as UTF-8, bytes as they are, other
 * values as JSON. Read back, a header is a string.
 */
export class SimpleHeaderConverter implements HeaderConverter {
  configure(): void {}

  fromConnectHeader(_topic: string, _key: string, _schema: Schema | null | undefined, value: unknown): Buffer | null {
    if (value === null || value === undefined) return null;
    if (Buffer.isBuffer(value)) return value;
    if (value instanceof Uint8Array) return Buffer.from(value);
    if (typeof value === 'string') return Buffer.from(value);
    if (value instanceof Date) return Buffer.from(String(value.getTime()));
    return Buffer.from(typeof value === 'object' ? JSON.stringify(value) : String(value));
  }

  toConnectHeader(_topic: string, _key: string, data: Buffer | null): SchemaAndValue {
    return { schema: OPTIONAL_STRING, value: data === null ? null : data.toString('utf8') };
  }
}

export const SimpleHeaderConverterPlugin: HeaderConverterPlugin = {
  type: 'header_converter',
  className: 'SimpleHeaderConverter',
  aliases: ['org.apache.kafka.connect.storage.SimpleHeaderConverter'],
  version: FERRY_VERSION,
  config: defineConfig({}),
  create: () => new SimpleHeaderConverter(),
};
