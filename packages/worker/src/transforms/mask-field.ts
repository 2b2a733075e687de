import { Config, DataError, LogicalNames, defineConfig, fieldSchema, type ConnectRecord, type Schema, type Transformation } from '@ferry/core';
import { keyValuePlugins } from './plugin.js';
import { SchemaCache, compileStructBuilder, copyMap, requireMap, requireStruct, typeName, type Side, type StructBuilder } from './util.js';

export const MaskFieldConfig = defineConfig({
  fields: Config.list({ doc: 'Names of fields to mask.', importance: 'HIGH' }),
  replacement: Config.string({
    doc: 'Custom value replacement, that will be applied to all `fields` values (numeric or non-empty string values only).',
    optional: true,
    nonEmpty: true,
  }),
}).check((cfg) => (cfg.fields.length === 0 ? { fields: ['Must specify at least one field to mask.'] } : undefined));

const PURPOSE = 'masking fields';
const INT_RANGE: Record<string, [number, number]> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
};

/** Replaces field values with the type's empty value (0, "", false, ...) or a given replacement. */
class MaskField implements Transformation {
  private fields: string[] = [];
  private replacement: string | undefined;
  private readonly cache = new SchemaCache<{ masks: Array<[string, Schema]>; build: StructBuilder }>();
  private readonly scratch: unknown[] = [];

  constructor(private readonly side: Side) {}

  configure(config: Record<string, string>): void {
    const cfg = MaskFieldConfig.parse(config);
    this.fields = cfg.fields;
    this.replacement = cfg.replacement;
  }

  apply(record: ConnectRecord): ConnectRecord {
    const value = this.side.value(record);
    if (value === null || value === undefined) return record;
    const schema = this.side.schema(record);
    if (!schema) {
      const out = copyMap(requireMap(value, PURPOSE));
      for (const f of this.fields) if (f in out) out[f] = this.maskSchemaless(out[f], f);
      return this.side.update(record, null, out);
    }
    const struct = requireStruct(value, schema, PURPOSE);
    const plan = this.cache.get(schema, (s) => this.plan(s));
    const vals = this.scratch;
    for (let i = 0; i < plan.masks.length; i++) {
      const [name, fs] = plan.masks[i];
      vals[i] = this.maskWithSchema(struct[name], fs, name);
    }
    return this.side.update(record, schema, plan.build(struct, vals));
  }

  private plan(s: Schema): { masks: Array<[string, Schema]>; build: StructBuilder } {
    const masks = this.fields.map((name): [string, Schema] => {
      const f = s.fields?.find((x) => x.field === name);
      if (!f) throw new DataError(`${name} is not a valid field name`);
      return [name, fieldSchema(f)];
    });
    const build = compileStructBuilder(
      (s.fields ?? []).map((f) => {
        const i = this.fields.indexOf(f.field);
        return i >= 0 ? { to: f.field, extra: i } : { to: f.field, path: [f.field] };
      }),
    );
    return { masks, build };
  }

  private maskSchemaless(v: unknown, name: string): unknown {
    if (v === null || v === undefined) return v;
    const r = this.replacement;
    if (r !== undefined) {
      if (typeof v === 'string') return r;
      if (typeof v === 'number') return toNumber(r);
      if (typeof v === 'bigint') return toBigInt(r);
      throw new DataError(`Cannot mask value of type ${typeName(v)} with custom replacement (field ${name}).`);
    }
    if (typeof v === 'string') return '';
    if (typeof v === 'number') return 0;
    if (typeof v === 'bigint') return 0n;
    if (typeof v === 'boolean') return false;
    if (v instanceof Date) return new Date(0);
    if (v instanceof Uint8Array) return Buffer.alloc(0);
    if (Array.isArray(v)) return [];
    if (v instanceof Map) return new Map();
    if (typeof v === 'object') return {};
    throw new DataError(`Cannot mask value of type ${typeName(v)} (field ${name})`);
  }

  private maskWithSchema(v: unknown, s: Schema, name: string): unknown {
    if (v === null || v === undefined) return v;
    const r = this.replacement;
    const logical = s.name;
    if (r !== undefined) {
      if (logical === LogicalNames.Decimal) {
        toNumber(r);
        return r.trim();
      }
      if (logical === undefined) {
        switch (s.type) {
          case 'string':
            return r;
          case 'int8':
          case 'int16':
          case 'int32': {
            const n = toNumber(r);
            const [lo, hi] = INT_RANGE[s.type];
            if (!Number.isInteger(n) || n < lo || n > hi) throw new DataError(`Unable to convert ${r} to ${s.type}`);
            return n;
          }
          case 'int64':
            return toInt64(r);
          case 'float':
          case 'double':
            return toNumber(r);
        }
      }
      throw new DataError(`Cannot mask value of type ${logical ?? s.type} with custom replacement (field ${name}).`);
    }
    switch (logical) {
      case LogicalNames.Decimal:
        return '0';
      case LogicalNames.Date:
      case LogicalNames.Time:
      case LogicalNames.Timestamp:
        return new Date(0);
    }
    switch (s.type) {
      case 'string':
        return '';
      case 'boolean':
        return false;
      case 'int64':
        return typeof v === 'bigint' ? 0n : 0;
      case 'int8':
      case 'int16':
      case 'int32':
      case 'float':
      case 'double':
        return 0;
      case 'bytes':
        return Buffer.alloc(0);
      case 'array':
        return [];
      case 'map':
        return v instanceof Map ? new Map() : {};
      default:
        throw new DataError(`Cannot mask value of type ${s.type} (field ${name})`);
    }
  }
}

function toNumber(r: string): number {
  const n = r.trim() === '' ? NaN : Number(r);
  if (Number.isNaN(n)) throw new DataError(`Unable to convert ${r} to number`);
  return n;
}

function toBigInt(r: string): bigint {
  try {
    return BigInt(r.trim());
  } catch (err) {
    throw new DataError(`Unable to convert ${r} to int64`, { cause: err });
  }
}

function toInt64(r: string): number | bigint {
  const b = toBigInt(r);
  if (b < -(2n ** 63n) || b >= 2n ** 63n) throw new DataError(`Unable to convert ${r} to int64`);
  return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
}

export const maskFieldPlugins = keyValuePlugins({
  name: 'MaskField',
  description: 'Masks fields with the empty value of their type, or with a replacement.',
  config: MaskFieldConfig,
  create: (side) => new MaskField(side),
});
