import { Config, defineConfig, type ConnectRecord, type Field, type Schema, type Transformation } from '@ferry/core';
import { keyValuePlugins } from './plugin.js';
import { SchemaCache, compileStructBuilder, isPlainObject, requireMap, requireStruct, setKey, structLike, type Side, type StructBuilder } from './util.js';

export const FlattenConfig = defineConfig({
  delimiter: Config.string({
    doc: 'Delimiter to insert between field names from the input record when generating field names for the output record.',
    default: '.',
  }),
});

const PURPOSE = 'flattening';

interface Plan {
  schema: Schema;
  build: StructBuilder;
}

/**
 * Flattens nested structs (or maps) into one level, joining names with the
 * delimiter. Arrays and maps with a schema are kept as they are; a field
 * under an optional struct becomes optional.
 */
class Flatten implements Transformation {
  private delimiter = '.';
  private readonly cache = new SchemaCache<Plan>();

  constructor(private readonly side: Side) {}

  configure(config: Record<string, string>): void {
    this.delimiter = FlattenConfig.parse(config).delimiter;
  }

  apply(record: ConnectRecord): ConnectRecord {
    const value = this.side.value(record);
    if (value === null || value === undefined) return record;
    const schema = this.side.schema(record);
    if (!schema) {
      const out: Record<string, unknown> = {};
      this.flattenSchemaless(requireMap(value, PURPOSE), '', out);
      return this.side.update(record, null, out);
    }
    const struct = requireStruct(value, schema, PURPOSE);
    const plan = this.cache.get(schema, (s) => this.plan(s));
    return this.side.update(record, plan.schema, plan.build(struct));
  }

  private flattenSchemaless(map: Record<string, unknown>, prefix: string, out: Record<string, unknown>): void {
    for (const k in map) {
      const name = prefix === '' ? k : prefix + this.delimiter + k;
      const v = map[k];
      if (isPlainObject(v)) this.flattenSchemaless(v, name, out);
      else if (v instanceof Map) this.flattenSchemaless(Object.fromEntries(v) as Record<string, unknown>, name, out);
      else setKey(out, name, v);
    }
  }

  private plan(schema: Schema): Plan {
    const fields: Field[] = [];
    const leaves: Array<{ to: string; path: string[]; nullish: true }> = [];
    const walk = (s: Schema, path: string[], prefix: string, optional: boolean) => {
      for (const f of s.fields ?? []) {
        const name = prefix === '' ? f.field : prefix + this.delimiter + f.field;
        const opt = optional || (f.optional ?? false);
        if (f.type === 'struct') {
          walk(f, [...path, f.field], name, opt);
        } else {
          fields.push(opt && !f.optional ? { ...f, field: name, optional: true } : { ...f, field: name });
          leaves.push({ to: name, path: [...path, f.field], nullish: true });
        }
      }
    };
    walk(schema, [], '', schema.optional ?? false);
    return { schema: structLike(schema, fields), build: compileStructBuilder(leaves) };
  }
}

export const flattenPlugins = keyValuePlugins({
  name: 'Flatten',
  description: 'Flattens a nested data structure, generating names for each field by concatenating the field names at each level with a delimiter.',
  config: FlattenConfig,
  create: (side) => new Flatten(side),
});
