import { DataError, defineConfig, Schemas, type Converter, type ConverterPlugin, type Schema, type SchemaAndValue } from '@ferry/core';
import { FERRY_VERSION } from '@ferry/connector-kit';

const OPTIONAL_BYTES = Schemas.bytes(true);

/** Passes bytes through untouched, like Kafka Connect's ByteArrayConverter. */
export class ByteArrayConverter implements Converter {
  configure(): void {}

  fromConnectData(topic: string, schema: Schema | null | undefined, value: unknown): Buffer | null {
    if (value === null || value === undefined) return null;
    if (schema && schema.type !== 'bytes') throw new DataError(`Invalid schema type for ByteArrayConverter: ${schema.type} (topic ${topic})`);
    if (Buffer.isBuffer(value)) return value;
    if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    if (typeof value === 'string') return Buffer.from(value);
    throw new DataError(`ByteArrayConverter is not compatible with objects of type ${typeof value} (topic ${topic})`);
  }

  toConnectData(_topic: string, data: Buffer | null): SchemaAndValue {
    return { schema: OPTIONAL_BYTES, value: data };
  }
}

export const ByteArrayConverterPlugin: ConverterPlugin = {
  type: 'converter',
  className: 'ByteArrayConverter',
  aliases: ['org.apache.kafka.connect.converters.ByteArrayConverter', 'bytes'],
  version: FERRY_VERSION,
  config: defineConfig({}),
  create: () => new ByteArrayConverter(),
};
