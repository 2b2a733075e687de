import { Config, DataError, LogicalNames, defineConfig, type ConnectRecord, type Field, type Schema, type SchemaType, type Transformation } from '@ferry/core';
import { isoDateString, javaDoubleString, javaFloatString } from './java-format.js';
import { keyValuePlugins } from './plugin.js';
import { SchemaCache, compileStructBuilder, copyMap, requireMap, requireStruct, typeName, type Side, type StructBuilder } from './util.js';

const CAST_TYPES = ['int8', 'int16', 'int32', 'int64', 'float32', 'float64', 'boolean', 'string'] as const;
type CastType = (typeof CAST_TYPES)[number];
const SCHEMA_TYPE: Record<CastType, SchemaType> = {
  int8: 'int8',
  int16: 'int16',
  int32: 'int32',
  int64: 'int64',
  float32: 'float',
  float64: 'double',
  boolean: 'boolean',
  string: 'string',
};
const DAY_MS = 86_400_000;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

interface CastSpec {
  whole: CastType | undefined;
  fields: Map<string, CastType>;
}

function parseCastSpec(items: string[]): CastSpec | string[] {
  const errors: string[] = [];
  const fields = new Map<string, CastType>();
  let whole: CastType | undefined;
  const typeOf = (t: string): CastType | undefined => {
    const n = t.trim().toLowerCase();
    if ((CAST_TYPES as readonly string[]).includes(n)) return n as CastType;
    errors.push(`Invalid type found in casting spec: ${t.trim()} (supported: ${CAST_TYPES.join(', ')})`);
    return undefined;
  };
  for (const item of items) {
    const parts = item.split(':');
    if (parts.length > 2) errors.push(`Invalid cast mapping: ${item}`);
    else if (parts.length === 1) whole = typeOf(parts[0]);
    else {
      const t = typeOf(parts[1]);
      if (t) fields.set(parts[0].trim(), t);
    }
  }
  if (items.length === 0) errors.push('Must specify at least one field to cast.');
  if (whole !== undefined && items.length > 1) errors.push('A cast of the entire value may only specify a single cast in its spec.');
  return errors.length ? errors : { whole, fields };
}

export const CastConfig = defineConfig({
  spec: Config.list({
    doc: 'List of fields and the type to cast them to of the form field1:type,field2:type to cast fields of maps or structs. A single type to cast the entire value. Valid types are int8, int16, int32, int64, float32, float64, boolean, and string. Binary fields can only be cast to string (base64).',
    importance: 'HIGH',
    example: 'age:int32,score:float64',
  }),
}).check((cfg) => {
  const r = parseCastSpec(cfg.spec);
  return Array.isArray(r) ? { spec: r } : undefined;
});

/** How to read a value: from its schema, or (`jsdate`) a schemaless JS Date. */
type SourceKind = 'int' | 'float32' | 'float' | 'boolean' | 'string' | 'bytes' | 'decimal' | 'date' | 'time' | 'timestamp' | 'jsdate';

function kindFromSchema(s: Schema): SourceKind {
  switch (s.name) {
    case LogicalNames.Decimal:
      return 'decimal';
    case LogicalNames.Date:
      return 'date';
    case LogicalNames.Time:
      return 'time';
    case LogicalNames.Timestamp:
      return 'timestamp';
  }
  switch (s.type) {
    case 'int8':
    case 'int16':
    case 'int32':
    case 'int64':
      return 'int';
    case 'float':
      return 'float32';
    case 'double':
      return 'float';
    case 'boolean':
    case 'string':
    case 'bytes':
      return s.type;
    default:
      throw new DataError(`Cast transformation does not support casting from ${s.type}; supported types are int8, int16, int32, int64, float32, float64, boolean, string, bytes`);
  }
}

function kindFromValue(v: unknown): SourceKind {
  switch (typeof v) {
    case 'number':
      return Number.isInteger(v) ? 'int' : 'float';
    case 'bigint':
      return 'int';
    case 'boolean':
      return 'boolean';
    case 'string':
      return 'string';
  }
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof Date) return 'jsdate';
  throw new DataError(`Cast transformation does not support casting from ${typeName(v)}`);
}

function outOfRange(v: unknown): DataError {
  return new DataError(`Value (${String(v)}) was out of range for requested data type`);
}

const normalizeInt64 = (b: bigint): number | bigint =>
  b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;

/** Java's narrowing: integers wrap, floats saturate to int (or long) first. */
function toIntBits(v: number | bigint, bits: 8 | 16 | 32, fromFloat: boolean): number {
  if (typeof v === 'bigint') return Number(BigInt.asIntN(bits, v));
  let n = v;
  if (fromFloat) {
    if (Number.isNaN(n)) return 0;
    n = Math.trunc(Math.min(2147483647, Math.max(-2147483648, n)));
  } else if (!Number.isSafeInteger(n)) {
    return Number(BigInt.asIntN(bits, BigInt(n)));
  }
  return bits === 32 ? n | 0 : bits === 16 ? (n << 16) >> 16 : (n << 24) >> 24;
}

function toInt64(v: number | bigint, fromFloat: boolean): number | bigint {
  if (typeof v === 'bigint') return normalizeInt64(BigInt.asIntN(64, v));
  if (fromFloat) {
    if (Number.isNaN(v)) return 0;
    const t = Math.trunc(v);
    if (Number.isSafeInteger(t)) return t;
    if (t >= 9223372036854775807) return INT64_MAX;
    if (t <= -9223372036854775808) return INT64_MIN;
    return normalizeInt64(BigInt(t));
  }
  return Number.isSafeInteger(v) ? v : normalizeInt64(BigInt.asIntN(64, BigInt(v)));
}

const INT_TEXT = /^[+-]?\d+$/;
const FLOAT_TEXT = /^[+-]?(NaN|Infinity|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)[fFdD]?$/;

function parseIntText(s: string, bits: 8 | 16 | 32 | 64): number | bigint {
  if (!INT_TEXT.test(s)) throw outOfRange(s);
  const b = BigInt(s);
  const lim = 1n << BigInt(bits - 1);
  if (b < -lim || b >= lim) throw outOfRange(s);
  return bits === 64 ? normalizeInt64(b) : Number(b);
}

function parseFloatText(s: string): number {
  const t = s.trim();
  if (!FLOAT_TEXT.test(t)) throw outOfRange(s);
  return Number(t.replace(/[fFdD]$/, ''));
}

/** A decimal string's integer part, as Java's BigDecimal narrowing sees it. */
function decimalIntPart(s: string): bigint {
  const m = /^\s*([+-]?)(\d*)(?:\.\d*)?(?:[eE]([+-]?\d+))?\s*$/.exec(s);
  if (!m) throw new DataError(`Invalid decimal value: ${s}`);
  if (m[3] !== undefined) return BigInt(Math.trunc(Number(s)));
  return BigInt(`${m[1]}${m[2] || '0'}`);
}

/** Casts one value. `kind` says how to read it (from its schema, or its runtime type). */
function castValue(v: unknown, kind: SourceKind, target: CastType): unknown {
  if (v === null || v === undefined) return null;
  let k = kind;
  let val: unknown = v;
  if (k === 'date' || k === 'time' || k === 'timestamp' || k === 'jsdate') {
    const ms = v instanceof Date ? v.getTime() : Number(v);
    if (target === 'string') return isoDateString(ms, k === 'jsdate' ? undefined : k);
    // Logical values cast through their Connect encoding (days, millis of day, epoch millis).
    val = k === 'date' ? Math.floor(ms / DAY_MS) : k === 'time' ? ((ms % DAY_MS) + DAY_MS) % DAY_MS : ms;
    if (!Number.isFinite(val as number)) throw new DataError(`Invalid ${kind} value: ${String(v)}`);
    k = 'int';
  }
  if (k === 'bytes') {
    if (target !== 'string') throw new DataError(`Unexpected type in Cast transformation: bytes can only be cast to string`);
    return Buffer.from(val as Uint8Array).toString('base64');
  }
  const fromFloat = k === 'float' || k === 'float32';
  switch (target) {
    case 'int8':
    case 'int16':
    case 'int32': {
      const bits = target === 'int8' ? 8 : target === 'int16' ? 16 : 32;
      if (k === 'boolean') return val ? 1 : 0;
      if (k === 'string') return parseIntText(val as string, bits);
      if (k === 'decimal') return Number(BigInt.asIntN(bits, decimalIntPart(val as string)));
      return toIntBits(val as number | bigint, bits, fromFloat);
    }
    case 'int64':
      if (k === 'boolean') return val ? 1 : 0;
      if (k === 'string') return parseIntText(val as string, 64);
      if (k === 'decimal') return normalizeInt64(BigInt.asIntN(64, decimalIntPart(val as string)));
      return toInt64(val as number | bigint, fromFloat);
    case 'float32':
    case 'float64': {
      let n: number;
      if (k === 'boolean') n = val ? 1 : 0;
      else if (k === 'string') n = parseFloatText(val as string);
      else if (k === 'decimal') n = Number(val);
      else n = Number(val);
      return target === 'float32' ? Math.fround(n) : n;
    }
    case 'boolean':
      if (k === 'boolean') return val;
      if (k === 'string') return (val as string).toLowerCase() === 'true';
      if (k === 'decimal') return decimalIntPart(val as string) !== 0n;
      if (typeof val === 'bigint') return val !== 0n;
      return Math.trunc(val as number) !== 0;
    case 'string':
      if (k === 'float32') return javaFloatString(val as number);
      if (k === 'float') return javaDoubleString(val as number);
      return String(val);
  }
}

const PURPOSE = 'cast types';

interface Plan {
  schema: Schema;
  /** [field, source kind, target] for each cast field present in the schema. */
  casts: Array<[string, SourceKind, CastType]>;
  /** Builds the struct with the cast values (given in `casts` order). */
  build: StructBuilder | null;
}

/** Casts fields, or the whole key or value, to another primitive type. */
class Cast implements Transformation {
  private spec: CastSpec = { whole: undefined, fields: new Map() };
  private readonly cache = new SchemaCache<Plan>();
  private readonly scratch: unknown[] = [];

  constructor(private readonly side: Side) {}

  configure(config: Record<string, string>): void {
    this.spec = parseCastSpec(CastConfig.parse(config).spec) as CastSpec;
  }

  apply(record: ConnectRecord): ConnectRecord {
    const value = this.side.value(record);
    if (value === null || value === undefined) return record;
    const schema = this.side.schema(record);
    const whole = this.spec.whole;
    if (!schema) {
      if (whole) return this.side.update(record, null, castValue(value, kindFromValue(value), whole));
      const out = copyMap(requireMap(value, PURPOSE));
      for (const [name, target] of this.spec.fields) {
        const v = out[name];
        if (v !== undefined && v !== null) out[name] = castValue(v, kindFromValue(v), target);
      }
      return this.side.update(record, null, out);
    }
    const plan = this.cache.get(schema, (s) => this.plan(s));
    if (whole) return this.side.update(record, plan.schema, castValue(value, plan.casts[0][1], whole));
    const struct = requireStruct(value, schema, PURPOSE);
    const vals = this.scratch;
    for (let i = 0; i < plan.casts.length; i++) {
      const [name, kind, target] = plan.casts[i];
      vals[i] = castValue(struct[name], kind, target);
    }
    return this.side.update(record, plan.schema, plan.build!(struct, vals));
  }

  private plan(schema: Schema): Plan {
    const whole = this.spec.whole;
    if (whole) {
      const kind = kindFromSchema(schema);
      return { schema: castSchema(schema, kind, whole), casts: [['', kind, whole]], build: null };
    }
    if (schema.type !== 'struct') throw new DataError(`Only struct schemas supported for [${PURPOSE}], found schema type: ${schema.type}`);
    const casts: Plan['casts'] = [];
    const fields: Field[] = (schema.fields ?? []).map((f) => {
      const target = this.spec.fields.get(f.field);
      if (!target) return f;
      const kind = kindFromSchema(f);
      casts.push([f.field, kind, target]);
      const { field, ...fs } = f;
      return { field, ...castSchema(fs, kind, target) };
    });
    const out: Schema = { ...schema, fields };
    const build = compileStructBuilder(
      fields.map((f) => {
        const i = casts.findIndex((c) => c[0] === f.field);
        return i >= 0 ? { to: f.field, extra: i } : { to: f.field, path: [f.field] };
      }),
    );
    return { schema: out, casts, build };
  }
}

function castSchema(s: Schema, kind: SourceKind, target: CastType): Schema {
  const out: Schema = { type: SCHEMA_TYPE[target], optional: s.optional ?? false };
  const logical = kind === 'decimal' || kind === 'date' || kind === 'time' || kind === 'timestamp';
  if (!logical) {
    if (s.name !== undefined) out.name = s.name;
    if (s.version !== undefined) out.version = s.version;
    if (s.parameters !== undefined) out.parameters = s.parameters;
  }
  if (s.doc !== undefined) out.doc = s.doc;
  if (s.default !== undefined && s.default !== null) out.default = castValue(s.default, kind, target);
  return out;
}

export const castPlugins = keyValuePlugins({
  name: 'Cast',
  description: 'Casts fields, or the entire key or value, to a specific type, e.g. to force an integer field to a smaller width.',
  config: CastConfig,
  create: (side) => new Cast(side),
});
