import { Config, defineConfig, type ConnectRecord, type Schema, type Transformation } from '@ferry/core';
import { keyValuePlugins } from './plugin.js';
import { SchemaCache, asField, setKey, type Side } from './util.js';

export const HoistFieldConfig = defineConfig({
  field: Config.string({
    doc: 'Field name for the single field that will be created in the resulting struct or map.',
    importance: 'MEDIUM',
    nonEmpty: true,
  }),
});

/** Wraps the key or value in a struct (or map) with a single field. */
class HoistField implements Transformation {
  private field = '';
  private readonly cache = new SchemaCache();

  constructor(private readonly side: Side) {}

  configure(config: Record<string, string>): void {
    this.field = HoistFieldConfig.parse(config).field;
  }

  apply(record: ConnectRecord): ConnectRecord {
    const value = this.side.value(record);
    const schema = this.side.schema(record);
    const out: Record<string, unknown> = {};
    setKey(out, this.field, value ?? null);
    if (!schema) return this.side.update(record, null, out);
    const hoisted = this.cache.get(schema, (s): Schema => ({ type: 'struct', fields: [asField(this.field, s)], optional: false }));
    return this.side.update(record, hoisted, out);
  }
}

export const hoistFieldPlugins = keyValuePlugins({
  name: 'HoistField',
  description: 'Wraps the data in a struct (with a schema) or a map (without) holding a single named field.',
  config: HoistFieldConfig,
  create: (side) => new HoistField(side),
});
