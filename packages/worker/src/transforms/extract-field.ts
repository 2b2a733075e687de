import { Config, DataError, defineConfig, fieldSchema, type ConnectRecord, type Schema, type Transformation } from '@ferry/core';
import { fieldPathError, parseFieldPath, type FieldSyntaxVersion } from './field-path.js';
import { keyValuePlugins } from './plugin.js';
import { SchemaCache, isPlainObject, requireMap, requireStruct, typeName, type Side } from './util.js';

export const ExtractFieldConfig = defineConfig({
  field: Config.string({
    doc: 'Field name to extract (a dotted path into nested structs with field.syntax.version=V2).',
    importance: 'MEDIUM',
    nonEmpty: true,
  }),
  'field.syntax.version': Config.enum(['V1', 'V2'], {
    doc: 'How `field` is read: V1 takes it as one field name; V2 reads dots as nested field access, with backticks around names containing dots.',
    default: 'V1',
    ignoreCase: true,
    importance: 'LOW',
  }),
}).check((cfg) => {
  const err = fieldPathError(cfg.field, cfg['field.syntax.version'] as FieldSyntaxVersion);
  return err ? { field: [err] } : undefined;
});

const PURPOSE = 'field extraction';

/** Replaces the key or value with one of its fields. */
class ExtractField implements Transformation {
  private path: string[] = [];
  private original = '';
  private readonly cache = new SchemaCache();

  constructor(private readonly side: Side) {}

  configure(config: Record<string, string>): void {
    const cfg = ExtractFieldConfig.parse(config);
    this.original = cfg.field;
    this.path = parseFieldPath(cfg.field, cfg['field.syntax.version'] as FieldSyntaxVersion);
  }

  apply(record: ConnectRecord): ConnectRecord {
    const value = this.side.value(record);
    const schema = this.side.schema(record);
    if (!schema) {
      if (value === null || value === undefined) return this.side.update(record, null, null);
      let cur: unknown = requireMap(value, PURPOSE);
      for (const p of this.path) {
        if (cur === null || cur === undefined) break;
        if (!isPlainObject(cur) && !(cur instanceof Map)) throw new DataError(`Cannot read field ${p} of a ${typeName(cur)} (extracting ${this.original})`);
        cur = cur instanceof Map ? cur.get(p) : cur[p];
      }
      return this.side.update(record, null, cur ?? null);
    }
    const extracted = this.cache.get(schema, (s) => this.extractedSchema(s));
    if (value === null || value === undefined) return this.side.update(record, extracted, null);
    let cur: unknown = requireStruct(value, schema, PURPOSE);
    for (const p of this.path) {
      if (cur === null || cur === undefined) break;
      cur = (cur as Record<string, unknown>)[p];
    }
    return this.side.update(record, extracted, cur ?? null);
  }

  private extractedSchema(schema: Schema): Schema {
    let cur: Schema = schema;
    for (const p of this.path) {
      if (cur.type !== 'struct') throw new DataError(`Unknown field: ${this.original} (${p} is not a struct field)`);
      const f = cur.fields?.find((x) => x.field === p);
      if (!f) throw new DataError(`Unknown field: ${this.original}`);
      cur = fieldSchema(f);
    }
    return cur;
  }
}

export const extractFieldPlugins = keyValuePlugins({
  name: 'ExtractField',
  description: 'Extracts the specified field from a struct (with a schema) or a map (without) and makes it the whole key or value.',
  config: ExtractFieldConfig,
  create: (side) => new ExtractField(side),
});
