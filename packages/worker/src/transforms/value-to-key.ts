import { Config, DataError, defineConfig, type ConnectRecord, type Field, type Schema, type Transformation } from '@ferry/core';
import { transformPlugin } from './plugin.js';
import { KEY, SchemaCache, compileStructBuilder, requireMap, requireStruct, setKey, VALUE, type StructBuilder } from './util.js';

export const ValueToKeyConfig = defineConfig({
  fields: Config.list({ doc: 'Field names on the record value to extract as the record key.', importance: 'HIGH' }),
}).check((cfg) => (cfg.fields.length === 0 ? { fields: ['Must specify at least one field.'] } : undefined));

const PURPOSE = 'copying fields from value to key';

/** Replaces the record key with a struct (or map) of fields copied from the value. */
class ValueToKey implements Transformation {
  private fields: string[] = [];
  private readonly cache = new SchemaCache<{ schema: Schema; build: StructBuilder }>();

  configure(config: Record<string, string>): void {
    this.fields = ValueToKeyConfig.parse(config).fields;
  }

  apply(record: ConnectRecord): ConnectRecord {
    const value = record.value;
    // A tombstone has no fields to copy; it keeps its key so deletes still reach the target.
    if (value === null || value === undefined) return record;
    const schema = VALUE.schema(record);
    if (!schema) {
      const map = requireMap(value, PURPOSE);
      const key: Record<string, unknown> = {};
      for (const f of this.fields) setKey(key, f, map[f] ?? null);
      return KEY.update(record, null, key);
    }
    const struct = requireStruct(value, schema, PURPOSE);
    const plan = this.cache.get(schema, (s) => this.plan(s));
    return KEY.update(record, plan.schema, plan.build(struct));
  }

  private plan(schema: Schema): { schema: Schema; build: StructBuilder } {
    const fields: Field[] = this.fields.map((name) => {
      const f = schema.fields?.find((x) => x.field === name);
      if (!f) throw new DataError(`Field does not exist: ${name}`);
      return f;
    });
    const build = compileStructBuilder(this.fields.map((f) => ({ to: f, path: [f], nullish: true })));
    return { schema: { type: 'struct', fields, optional: false }, build };
  }
}

export const valueToKeyPlugin = transformPlugin({
  name: 'ValueToKey',
  description: 'Replaces the record key with a new key formed from a subset of fields in the record value.',
  config: ValueToKeyConfig,
  create: () => new ValueToKey(),
});
