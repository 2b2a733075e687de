import { Config, type FieldErrors, Schemas, defineConfig, fieldSchema, type ConnectRecord, type Header, type Schema, type Transformation } from '@ferry/core';
import { keyValuePlugins, transformPlugin } from './plugin.js';
import { SchemaCache, compileStructBuilder, requireMap, requireStruct, setKey, structLike, withHeaders, type Side, type StructBuilder } from './util.js';

// ---------------------------------------------------------------- HeaderFrom

export const HeaderFromConfig = defineConfig({
  fields: Config.list({ doc: 'Field names in the record whose values are to be copied or moved to headers.', importance: 'HIGH' }),
  headers: Config.list({ doc: 'Header names, in the same order as the field names listed in the fields configuration property.', importance: 'HIGH' }),
  operation: Config.enum(['copy', 'move'], {
    doc: 'Either `move` if the fields are to be moved to the headers (removed from the key/value), or `copy` if the fields are to be copied to the headers (retained in the key/value).',
    importance: 'HIGH',
  }),
}).check((cfg): FieldErrors | undefined => {
  if (cfg.fields.length === 0) return { fields: ['Must specify at least one field.'] };
  if (cfg.headers.length !== cfg.fields.length)
    return { headers: ["'headers' config must have the same number of elements as 'fields' config."] };
  return undefined;
});

interface HeaderFromPlan {
  schema: Schema;
  headerSchemas: Array<Schema | null>;
  /** Builds the value without the moved fields (move only). */
  build: StructBuilder | null;
}

/** Copies or moves fields of the key or value into headers. */
class HeaderFrom implements Transformation {
  private fields: string[] = [];
  private headers: string[] = [];
  private move = false;
  private readonly cache = new SchemaCache<HeaderFromPlan>();

  constructor(private readonly side: Side) {}

  configure(config: Record<string, string>): void {
    const cfg = HeaderFromConfig.parse(config);
    this.fields = cfg.fields;
    this.headers = cfg.headers;
    this.move = cfg.operation === 'move';
  }

  apply(record: ConnectRecord): ConnectRecord {
    const value = this.side.value(record);
    if (value === null || value === undefined) return record; // nothing to read in a tombstone
    const schema = this.side.schema(record);
    const headers: Header[] = record.headers ? [...record.headers] : [];
    if (!schema) {
      const map = requireMap(value, 'header ' + (this.move ? 'move' : 'copy'));
      let out = map;
      if (this.move) {
        out = {};
        for (const k in map) if (!this.fields.includes(k)) setKey(out, k, map[k]);
      }
      for (let i = 0; i < this.fields.length; i++) headers.push({ key: this.headers[i], value: map[this.fields[i]] ?? null, schema: null });
      const updated = this.side.update(record, null, out);
      updated.headers = headers; // a fresh copy that has the key: a cheap store
      return updated;
    }
    const struct = requireStruct(value, schema, 'header ' + (this.move ? 'move' : 'copy'));
    const plan = this.cache.get(schema, (s) => this.plan(s));
    const out = plan.build ? plan.build(struct) : struct;
    for (let i = 0; i < this.fields.length; i++) headers.push({ key: this.headers[i], value: struct[this.fields[i]] ?? null, schema: plan.headerSchemas[i] });
    const updated = this.side.update(record, plan.schema, out);
    updated.headers = headers;
    return updated;
  }

  private plan(schema: Schema): HeaderFromPlan {
    const byName = new Map((schema.fields ?? []).map((f) => [f.field, f]));
    const headerSchemas = this.fields.map((name) => {
      const f = byName.get(name);
      return f ? fieldSchema(f) : null;
    });
    if (!this.move) return { schema, headerSchemas, build: null };
    const kept = (schema.fields ?? []).filter((f) => !this.fields.includes(f.field));
    return { schema: structLike(schema, kept), headerSchemas, build: compileStructBuilder(kept.map((f) => ({ to: f.field, path: [f.field] }))) };
  }
}

export const headerFromPlugins = keyValuePlugins({
  name: 'HeaderFrom',
  description: 'Moves or copies fields in the key or value of a record into that record\'s headers.',
  config: HeaderFromConfig,
  create: (side) => new HeaderFrom(side),
});

// -------------------------------------------------------------- InsertHeader

export const InsertHeaderConfig = defineConfig({
  header: Config.string({ doc: 'The name of the header.', importance: 'HIGH', nonEmpty: true }),
  'value.literal': Config.string({ doc: 'The literal value that is to be set as the header value on all records.', importance: 'HIGH' }),
});

/**
 * A literal's value and schema, inferred the way Kafka Connect's
 * `Values.parseString` does for the simple cases: booleans, the smallest
 * integer type that holds an integer, float64 for other numbers, else string.
 */
export function inferLiteral(s: string): { value: unknown; schema: Schema } {
  const t = s.trim();
  if (t === 'true' || t === 'false') return { value: t === 'true', schema: Schemas.boolean() };
  if (/^[+-]?\d+$/.test(t)) {
    const b = BigInt(t);
    if (b >= -128n && b <= 127n) return { value: Number(b), schema: { type: 'int8', optional: false } };
    if (b >= -32768n && b <= 32767n) return { value: Number(b), schema: { type: 'int16', optional: false } };
    if (b >= -2147483648n && b <= 2147483647n) return { value: Number(b), schema: Schemas.int32() };
    if (b >= -(2n ** 63n) && b < 2n ** 63n)
      return { value: b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b, schema: Schemas.int64() };
    return { value: s, schema: Schemas.string() };
  }
  if (/^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$/.test(t)) return { value: Number(t), schema: Schemas.float64() };
  return { value: s, schema: Schemas.string() };
}

/** Adds a header with a literal value to every record. */
class InsertHeader implements Transformation {
  private header!: Header;

  configure(config: Record<string, string>): void {
    const cfg = InsertHeaderConfig.parse(config);
    const { value, schema } = inferLiteral(cfg['value.literal']);
    this.header = { key: cfg.header, value, schema };
  }

  apply(record: ConnectRecord): ConnectRecord {
    // Always added, even when a header of that name exists (headers are a multimap).
    return withHeaders(record, record.headers ? [...record.headers, this.header] : [this.header]);
  }
}

export const insertHeaderPlugin = transformPlugin({
  name: 'InsertHeader',
  description: 'Adds a header with a literal value to each record.',
  config: InsertHeaderConfig,
  create: () => new InsertHeader(),
});

// --------------------------------------------------------------- DropHeaders

export const DropHeadersConfig = defineConfig({
  headers: Config.list({ doc: 'The name of the headers to be removed.', importance: 'HIGH' }),
}).check((cfg) => (cfg.headers.length === 0 ? { headers: ['Must specify at least one header.'] } : undefined));

/** Removes every header with one of the given names. */
class DropHeaders implements Transformation {
  private names = new Set<string>();

  configure(config: Record<string, string>): void {
    this.names = new Set(DropHeadersConfig.parse(config).headers);
  }

  apply(record: ConnectRecord): ConnectRecord {
    const hs = record.headers;
    if (!hs || hs.length === 0 || !hs.some((h) => this.names.has(h.key))) return record;
    return withHeaders(record, hs.filter((h) => !this.names.has(h.key)));
  }
}

export const dropHeadersPlugin = transformPlugin({
  name: 'DropHeaders',
  description: 'Removes one or more headers from each record.',
  config: DropHeadersConfig,
  create: () => new DropHeaders(),
});
