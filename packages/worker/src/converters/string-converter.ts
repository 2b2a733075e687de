import { Config, defineConfig, Schemas, type Converter, type ConverterPlugin, type Schema, type SchemaAndValue } from '@ferry/core';
import { FERRY_VERSION } from '@ferry/connector-kit';

export const StringConverterConfig = defineConfig({
  encoding: Config.string({ doc: 'Character encoding (utf8, latin1, ascii, utf16le).', default: 'utf8' }),
  'converter.encoding': Config.string({ doc: 'Alias of encoding, as in Kafka Connect.', optional: true }),
});

const OPTIONAL_STRING = Schemas.string(true);

/** Values as strings, like Kafka Connect's StringConverter. */
export class StringConverter implements Converter {
  private encoding: BufferEncoding = 'utf8';

  configure(config: Record<string, string>): void {
    const c = StringConverterConfig.parse(config);
    const enc = (c['converter.encoding'] ?? c.encoding).toLowerCase().replace('-', '');
    this.encoding = (enc === 'utf8' ? 'utf8' : enc) as BufferEncoding;
  }

  fromConnectData(_topic: string, _schema: Schema | null | undefined, value: unknown): Buffer | null {
    if (value === null || value === undefined) return null;
    if (Buffer.isBuffer(value)) return value;
    return Buffer.from(typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value), this.encoding);
  }

  toConnectData(_topic: string, data: Buffer | null): SchemaAndValue {
    return { schema: OPTIONAL_STRING, value: data === null ? null : data.toString(this.encoding) };
  }
}

export const StringConverterPlugin: ConverterPlugin = {
  type: 'converter',
  className: 'StringConverter',
  aliases: ['org.apache.kafka.connect.storage.StringConverter', 'string'],
  version: FERRY_VERSION,
  config: StringConverterConfig,
  create: () => new StringConverter(),
};
