import { Config, DataError, defineConfig, type ConnectRecord, type Schema, type Transformation } from '@ferry/core';
import { keyValuePlugins } from './plugin.js';
import { SchemaCache, type Side } from './util.js';

export const SetSchemaMetadataConfig = defineConfig({
  'schema.name': Config.string({ doc: 'Schema name to set.', optional: true, importance: 'HIGH' }),
  'schema.version': Config.int({ doc: 'Schema version to set.', optional: true, importance: 'HIGH' }),
}).check((cfg) =>
  cfg['schema.name'] === undefined && cfg['schema.version'] === undefined
    ? { 'schema.name': ['Neither schema name nor version configured'] }
    : undefined,
);

/** Sets the name and/or version of the key or value schema. */
class SetSchemaMetadata implements Transformation {
  private name: string | undefined;
  private version: number | undefined;
  private readonly cache = new SchemaCache();

  constructor(private readonly side: Side) {}

  configure(config: Record<string, string>): void {
    const cfg = SetSchemaMetadataConfig.parse(config);
    this.name = cfg['schema.name'];
    this.version = cfg['schema.version'];
  }

  apply(record: ConnectRecord): ConnectRecord {
    const schema = this.side.schema(record);
    if (!schema) throw new DataError(`Schema required for [updating schema metadata] on the record ${this.side.name}`);
    const updated = this.cache.get(schema, (s): Schema => {
      const out: Schema = { ...s };
      if (this.name !== undefined) out.name = this.name;
      if (this.version !== undefined) out.version = this.version;
      return out;
    });
    return this.side.update(record, updated, this.side.value(record));
  }
}

export const setSchemaMetadataPlugins = keyValuePlugins({
  name: 'SetSchemaMetadata',
  description: 'Sets the schema name, version or both on the record schema.',
  config: SetSchemaMetadataConfig,
  create: (side) => new SetSchemaMetadata(side),
});
