import { Config, DataError, LogicalNames, Schemas, defineConfig, type ConnectRecord, type Schema, type Transformation } from '@ferry/core';
import { keyValuePlugins } from './plugin.js';
import { compileDateFormat, dateFormatError, type DateFormat } from './simple-date-format.js';
import { SchemaCache, compileStructBuilder, copyMap, requireMap, requireStruct, typeName, type Side, type StructBuilder } from './util.js';

const TARGET_TYPES = ['string', 'unix', 'Date', 'Time', 'Timestamp'] as const;
type TsType = (typeof TARGET_TYPES)[number];
const PRECISIONS = ['seconds', 'milliseconds', 'microseconds', 'nanoseconds'] as const;
type Precision = (typeof PRECISIONS)[number];

export const TimestampConverterConfig = defineConfig({
  field: Config.string({ doc: 'The field containing the timestamp, or empty if the entire value is a timestamp.', default: '', importance: 'HIGH' }),
  'target.type': Config.enum(TARGET_TYPES, {
    doc: 'The desired timestamp representation: string, unix, Date, Time, or Timestamp.',
    importance: 'HIGH',
  }),
  format: Config.string({
    doc: 'A SimpleDateFormat-compatible format for the timestamp (UTC). Used to generate the output when target.type=string or used to parse the input if the input is a string.',
    default: '',
    example: "yyyy-MM-dd'T'HH:mm:ss.SSSZ",
  }),
  'unix.precision': Config.enum(PRECISIONS, {
    doc: 'The desired Unix precision for the timestamp: seconds, milliseconds, microseconds, or nanoseconds. Used to generate the output when target.type=unix or used to parse the input if the input is a number. Sub-millisecond precision is lost.',
    default: 'milliseconds',
    importance: 'LOW',
  }),
}).check((cfg) => {
  if (cfg['target.type'] === 'string' && cfg.format.trim() === '')
    return { format: ['TimestampConverter requires format option to be specified when using string timestamps'] };
  const err = cfg.format.trim() === '' ? null : dateFormatError(cfg.format);
  return err ? { format: [`TimestampConverter requires a SimpleDateFormat-compatible pattern for string timestamps: ${err}`] } : undefined;
});

const DAY_MS = 86_400_000;
const PURPOSE = 'converting timestamp formats';
const MILLIS_PER: Record<Precision, bigint> = { seconds: 0n, milliseconds: 1n, microseconds: 1000n, nanoseconds: 1_000_000n };

function typeFromSchema(s: Schema): TsType {
  switch (s.name) {
    case LogicalNames.Timestamp:
      return 'Timestamp';
    case LogicalNames.Date:
      return 'Date';
    case LogicalNames.Time:
      return 'Time';
  }
  if (s.type === 'int64') return 'unix';
  if (s.type === 'string') return 'string';
  throw new DataError(`Schema of type ${s.type}${s.name ? ` (${s.name})` : ''} does not correspond to a known timestamp type format`);
}

function typeFromValue(v: unknown): TsType {
  if (v instanceof Date) return 'Timestamp';
  if (typeof v === 'number' || typeof v === 'bigint') return 'unix';
  if (typeof v === 'string') return 'string';
  throw new DataError(`TimestampConverter does not support ${typeName(v)} objects as timestamps`);
}

function targetSchema(t: TsType, optional: boolean): Schema {
  switch (t) {
    case 'string':
      return Schemas.string(optional);
    case 'unix':
      return Schemas.int64(optional);
    case 'Date':
      return Schemas.date(optional);
    case 'Time':
      return Schemas.time(optional);
    case 'Timestamp':
      return Schemas.timestamp(optional);
  }
}

/** Converts timestamps between strings, Unix epochs and Connect Date / Time / Timestamp values. */
class TimestampConverter implements Transformation {
  private field = '';
  private target: TsType = 'Timestamp';
  private format: DateFormat | undefined;
  private precision: Precision = 'milliseconds';
  private readonly cache = new SchemaCache<{ schema: Schema; source: TsType; build: StructBuilder | null }>();
  private readonly scratch: unknown[] = [];

  constructor(private readonly side: Side) {}

  configure(config: Record<string, string>): void {
    const cfg = TimestampConverterConfig.parse(config);
    this.field = cfg.field;
    this.target = cfg['target.type'];
    this.format = cfg.format.trim() === '' ? undefined : compileDateFormat(cfg.format);
    this.precision = cfg['unix.precision'];
  }

  apply(record: ConnectRecord): ConnectRecord {
    const value = this.side.value(record);
    const schema = this.side.schema(record);
    if (!schema) {
      if (value === null || value === undefined) return record;
      if (this.field === '') return this.side.update(record, null, this.convert(value, typeFromValue(value)));
      const out = copyMap(requireMap(value, PURPOSE));
      const v = out[this.field];
      if (v !== null && v !== undefined) out[this.field] = this.convert(v, typeFromValue(v));
      return this.side.update(record, null, out);
    }
    const plan = this.cache.get(schema, (s) => this.plan(s));
    if (this.field === '') return this.side.update(record, plan.schema, value == null ? null : this.convert(value, plan.source));
    if (value === null || value === undefined) return this.side.update(record, plan.schema, value ?? null);
    const struct = requireStruct(value, schema, PURPOSE);
    const v = struct[this.field];
    this.scratch[0] = v === null || v === undefined ? null : this.convert(v, plan.source);
    return this.side.update(record, plan.schema, plan.build!(struct, this.scratch));
  }

  private plan(schema: Schema): { schema: Schema; source: TsType; build: StructBuilder | null } {
    if (this.field === '') return { schema: targetSchema(this.target, schema.optional ?? false), source: typeFromSchema(schema), build: null };
    if (schema.type !== 'struct') throw new DataError(`Only struct schemas supported for [${PURPOSE}], found schema type: ${schema.type}`);
    let source: TsType | undefined;
    const fields = (schema.fields ?? []).map((f) => {
      if (f.field !== this.field) return f;
      source = typeFromSchema(f);
      return { ...targetSchema(this.target, f.optional ?? false), field: f.field };
    });
    if (source === undefined) throw new DataError(`Field ${this.field} does not exist in the ${this.side.name} schema`);
    const build = compileStructBuilder(fields.map((f) => (f.field === this.field ? { to: f.field, extra: 0 } : { to: f.field, path: [f.field] })));
    return { schema: { ...schema, fields }, source, build };
  }

  private convert(v: unknown, source: TsType): unknown {
    return this.fromMillis(this.toMillis(v, source));
  }

  private toMillis(v: unknown, source: TsType): number {
    switch (source) {
      case 'string': {
        if (typeof v !== 'string') throw new DataError(`Expected string timestamp to be a string, but found ${typeName(v)}`);
        if (!this.format) throw new DataError('TimestampConverter requires the format option to parse string timestamps');
        try {
          return this.format.parse(v);
        } catch (err) {
          throw new DataError(`Could not parse timestamp: ${(err as Error).message}`, { cause: err });
        }
      }
      case 'unix': {
        if (typeof v === 'bigint') {
          if (this.precision === 'seconds') return Number(v * 1000n);
          return Number(v / MILLIS_PER[this.precision]);
        }
        if (typeof v !== 'number') throw new DataError(`Expected Unix timestamp to be a number, but found ${typeName(v)}`);
        switch (this.precision) {
          case 'seconds':
            return Math.trunc(v * 1000);
          case 'microseconds':
            return Math.trunc(v / 1000);
          case 'nanoseconds':
            return Math.trunc(v / 1_000_000);
          default:
            return v;
        }
      }
      default: {
        if (v instanceof Date) return v.getTime();
        if (typeof v === 'number') return v;
        throw new DataError(`Expected ${source} to be a Date, but found ${typeName(v)}`);
      }
    }
  }

  private fromMillis(ms: number): unknown {
    if (!Number.isFinite(ms)) throw new DataError(`Invalid timestamp: ${ms}`);
    switch (this.target) {
      case 'string':
        return this.format!.format(ms);
      case 'unix':
        switch (this.precision) {
          case 'seconds':
            return Math.trunc(ms / 1000);
          case 'milliseconds':
            return ms;
          case 'microseconds': {
            const us = ms * 1000;
            return Number.isSafeInteger(us) ? us : BigInt(Math.trunc(ms)) * 1000n;
          }
          case 'nanoseconds': {
            const ns = BigInt(Math.trunc(ms)) * 1_000_000n;
            return ns >= BigInt(Number.MIN_SAFE_INTEGER) && ns <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(ns) : ns;
          }
        }
        break;
      case 'Date':
        return new Date(Math.floor(ms / DAY_MS) * DAY_MS);
      case 'Time':
        return new Date(((ms % DAY_MS) + DAY_MS) % DAY_MS);
      case 'Timestamp':
        return new Date(ms);
    }
  }
}

export const timestampConverterPlugins = keyValuePlugins({
  name: 'TimestampConverter',
  description: 'Converts timestamps between different formats such as Unix epoch, strings, and Connect Date/Time/Timestamp types, for one field or the whole value.',
  config: TimestampConverterConfig,
  create: (side) => new TimestampConverter(side),
});
