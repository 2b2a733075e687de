/**
 * PostgreSQL types <-> Kafka Connect schemas and values.
 *
 * Every value is read in PostgreSQL's text form (see `clientConfig`) and
 * decoded here by type OID, so the query source, the snapshot and the
 * replication stream produce identical values for the same row.
 */
import type pg from 'pg';
import { LogicalNames, type Field, type Schema } from '@ferry/core';

/** Debezium's stand-in for an unchanged TOASTed value an event does not carry: sinks leave the column as it is. */
export const UNAVAILABLE_VALUE = '__debezium_unavailable_value';

/** Debezium's semantic type names, kept so its consumers read our events unchanged. */
export const SemanticNames = {
  Json: 'io.debezium.data.Json',
  Uuid: 'io.debezium.data.Uuid',
} as const;

type Kind =
  | 'int16'
  | 'int32'
  | 'int64'
  | 'float'
  | 'double'
  | 'boolean'
  | 'string'
  | 'bytes'
  | 'decimal'
  | 'date'
  | 'time'
  | 'timestamp'
  | 'timestamptz'
  | 'json'
  | 'uuid'
  | 'array';

interface TypeInfo {
  oid: number;
  name: string;
  kind: Kind;
  /** element type OID, arrays only */
  elem?: number;
}

const BUILTIN: Array<[number, string, Kind, number?]> = [
  [16, 'bool', 'boolean'],
  [17, 'bytea', 'bytes'],
  [18, 'char', 'string'],
  [19, 'name', 'string'],
  [20, 'int8', 'int64'],
  [21, 'int2', 'int16'],
  [23, 'int4', 'int32'],
  [25, 'text', 'string'],
  [26, 'oid', 'int64'],
  [114, 'json', 'json'],
  [700, 'float4', 'float'],
  [701, 'float8', 'double'],
  [1042, 'bpchar', 'string'],
  [1043, 'varchar', 'string'],
  [1082, 'date', 'date'],
  [1083, 'time', 'time'],
  [1114, 'timestamp', 'timestamp'],
  [1184, 'timestamptz', 'timestamptz'],
  [1700, 'numeric', 'decimal'],
  [2950, 'uuid', 'uuid'],
  [3802, 'jsonb', 'json'],
  [1000, '_bool', 'array', 16],
  [1001, '_bytea', 'array', 17],
  [1005, '_int2', 'array', 21],
  [1007, '_int4', 'array', 23],
  [1009, '_text', 'array', 25],
  [1014, '_bpchar', 'array', 1042],
  [1015, '_varchar', 'array', 1043],
  [1016, '_int8', 'array', 20],
  [1021, '_float4', 'array', 700],
  [1022, '_float8', 'array', 701],
  [1115, '_timestamp', 'array', 1114],
  [1182, '_date', 'array', 1082],
  [1183, '_time', 'array', 1083],
  [1185, '_timestamptz', 'array', 1184],
  [1231, '_numeric', 'array', 1700],
  [2951, '_uuid', 'array', 2950],
  [199, '_json', 'array', 114],
  [3807, '_jsonb', 'array', 3802],
];

/** A column's schema plus the decoder of its text values. */
export interface ColumnCodec {
  name: string;
  typeOid: number;
  field: Field;
  decode(text: string | null | undefined): unknown;
}

/** Resolves type OIDs (user-defined ones through the catalog) and builds column codecs. */
export class PgTypes {
  private readonly types = new Map<number, TypeInfo>();

  constructor() {
    for (const [oid, name, kind, elem] of BUILTIN) this.types.set(oid, elem === undefined ? { oid, name, kind } : { oid, name, kind, elem });
  }

  /** Loads what the catalog says about OIDs not known yet (enums, domains, arrays of them). */
  async resolve(client: pg.Client, oids: Iterable<number>): Promise<void> {
    let todo = [...new Set(oids)].filter((o) => !this.types.has(o));
    const domains: Array<{ oid: number; name: string; base: number }> = [];
    for (let depth = 0; todo.length > 0 && depth < 5; depth++) {
      const r = await client.query(
        `SELECT oid::int8 AS oid, typname, typtype, typcategory, typelem::int8 AS typelem, typbasetype::int8 AS typbasetype
           FROM pg_catalog.pg_type WHERE oid = ANY($1::oid[])`,
        [todo],
      );
      const next: number[] = [];
      for (const row of r.rows) {
        const oid = Number(row.oid);
        const elem = Number(row.typelem);
        const base = Number(row.typbasetype);
        if (row.typtype === 'd' && base) {
          domains.push({ oid, name: row.typname, base });
          next.push(base);
        } else if (row.typcategory === 'A' && elem) {
          this.types.set(oid, { oid, name: row.typname, kind: 'array', elem });
          next.push(elem);
        } else {
          // enums, ranges, geometric and network types keep their text form
          this.types.set(oid, { oid, name: row.typname, kind: 'string' });
        }
      }
      for (const o of todo) if (!r.rows.some((row) => Number(row.oid) === o)) this.types.set(o, { oid: o, name: String(o), kind: 'string' });
      todo = [...new Set(next)].filter((o) => !this.types.has(o) && !domains.some((d) => d.oid === o));
    }
    // Innermost domains were found last: resolve from the end.
    for (const d of domains.reverse()) {
      const base = this.types.get(d.base) ?? { oid: d.base, name: String(d.base), kind: 'string' as Kind };
      this.types.set(d.oid, { ...base, oid: d.oid, name: d.name });
    }
  }

  private info(oid: number): TypeInfo {
    return this.types.get(oid) ?? { oid, name: String(oid), kind: 'string' };
  }

  /** The codec of a column. `typeMod` carries numeric precision and scale. */
  codec(name: string, typeOid: number, typeMod: number, optional: boolean): ColumnCodec {
    const { schema, decode } = this.build(typeOid, typeMod, optional);
    return { name, typeOid, field: { field: name, ...schema }, decode };
  }

  private build(typeOid: number, typeMod: number, optional: boolean): { schema: Schema; decode: (t: string) => unknown } {
    const t = this.info(typeOid);
    switch (t.kind) {
      case 'int16':
        return { schema: { type: 'int16', optional }, decode: Number };
      case 'int32':
        return { schema: { type: 'int32', optional }, decode: Number };
      case 'int64':
        return { schema: { type: 'int64', optional }, decode: decodeInt64 };
      case 'float':
        return { schema: { type: 'float', optional }, decode: Number };
      case 'double':
        return { schema: { type: 'double', optional }, decode: Number };
      case 'boolean':
        return { schema: { type: 'boolean', optional }, decode: (s) => s === 't' || s === 'true' };
      case 'bytes':
        return { schema: { type: 'bytes', optional }, decode: decodeBytea };
      case 'decimal': {
        if (typeMod >= 4) {
          const scale = (typeMod - 4) & 0xffff;
          const precision = ((typeMod - 4) >> 16) & 0xffff;
          return {
            schema: {
              type: 'bytes',
              optional,
              name: LogicalNames.Decimal,
              version: 1,
              parameters: { scale: String(scale), 'connect.decimal.precision': String(precision) },
            },
            decode: String,
          };
        }
        // An unconstrained numeric has no fixed scale, which Decimal needs: keep its exact text.
        return { schema: { type: 'string', optional }, decode: String };
      }
      case 'date':
        return { schema: { type: 'int32', optional, name: LogicalNames.Date, version: 1 }, decode: decodeDate };
      case 'time':
        return { schema: { type: 'int32', optional, name: LogicalNames.Time, version: 1 }, decode: decodeTime };
      case 'timestamp':
      case 'timestamptz':
        return { schema: { type: 'int64', optional, name: LogicalNames.Timestamp, version: 1 }, decode: decodeTimestamp };
      case 'json':
        return { schema: { type: 'string', optional, name: SemanticNames.Json, version: 1 }, decode: String };
      case 'uuid':
        return { schema: { type: 'string', optional, name: SemanticNames.Uuid, version: 1 }, decode: String };
      case 'array': {
        const el = this.build(t.elem ?? 25, -1, true);
        return {
          schema: { type: 'array', optional, items: el.schema },
          decode: (s) => parseArrayLiteral(s, (x) => (x === null ? null : el.decode(x))),
        };
      }
      default:
        return { schema: { type: 'string', optional }, decode: String };
    }
  }

  /** The type name (`int4`, `_text`, ...) of an OID, as far as known. */
  typeName(oid: number): string {
    return this.info(oid).name;
  }
}

/** Wraps a codec's decoder so SQL NULL stays null and a missing value (unchanged TOAST) stays undefined. */
export function decodeValue(c: ColumnCodec, text: string | null | undefined): unknown {
  if (text === null) return null;
  if (text === undefined) return undefined;
  return c.decode(text);
}

function decodeInt64(s: string): number | bigint {
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : BigInt(s);
}

function decodeBytea(s: string): Buffer {
  if (s.startsWith('\\x')) return Buffer.from(s.slice(2), 'hex');
  // escape format (bytea_output = escape)
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\') {
      if (s[i + 1] === '\\') {
        out.push(92);
        i++;
      } else {
        out.push(parseInt(s.slice(i + 1, i + 4), 8));
        i += 3;
      }
    } else out.push(s.charCodeAt(i));
  }
  return Buffer.from(out);
}

function decodeDate(s: string): Date | null {
  const ms = Date.parse(`${s}T00:00:00Z`);
  return Number.isNaN(ms) ? null : new Date(ms);
}

function decodeTime(s: string): Date | null {
  const ms = Date.parse(`1970-01-01T${s}Z`);
  return Number.isNaN(ms) ? null : new Date(ms);
}

/** `2024-01-02 03:04:05.123456[+00]` -> Date (UTC when no zone: sessions run in UTC). */
/** Digits of s[a..b) as a number, NaN if any is not a digit. */
function digits(s: string, a: number, b: number): number {
  let n = 0;
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return NaN;
    n = n * 10 + c;
  }
  return n;
}

/**
 * The server's ISO output (`YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]]`) read by position: snapshots decode
 * millions of these and the general path (regex, string rebuild, Date.parse) was their largest cost.
 * Anything else (BC dates, years before 100, infinity) returns undefined for the general path.
 */
function fastTimestamp(s: string): number | undefined {
  if (s.length < 19 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 32 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return undefined;
  const y = digits(s, 0, 4);
  if (!(y >= 100)) return undefined;
  const mo = digits(s, 5, 7);
  const d = digits(s, 8, 10);
  const h = digits(s, 11, 13);
  const mi = digits(s, 14, 16);
  const se = digits(s, 17, 19);
  let i = 19;
  let ms = 0;
  if (s.charCodeAt(i) === 46) {
    // Milliseconds from the first three fraction digits, without building a string.
    let j = i + 1;
    let nd = 0;
    while (j < s.length) {
      const c = s.charCodeAt(j) - 48;
      if (c < 0 || c > 9) break;
      if (nd < 3) {
        ms = ms * 10 + c;
        nd++;
      }
      j++;
    }
    if (j === i + 1) return undefined;
    ms *= nd === 1 ? 100 : nd === 2 ? 10 : 1;
    i = j;
  }
  let off = 0;
  if (i < s.length) {
    const sign = s.charCodeAt(i) === 43 ? 1 : s.charCodeAt(i) === 45 ? -1 : 0;
    if (sign === 0 || i + 3 > s.length) return undefined;
    let secs = digits(s, i + 1, i + 3) * 3600;
    i += 3;
    if (i < s.length && s.charCodeAt(i) === 58) {
      secs += digits(s, i + 1, i + 3) * 60;
      i += 3;
    }
    if (i < s.length && s.charCodeAt(i) === 58) {
      secs += digits(s, i + 1, i + 3);
      i += 3;
    }
    if (i !== s.length) return undefined;
    off = sign * secs * 1000;
  }
  const t = Date.UTC(y, mo - 1, d, h, mi, se, ms) - off;
  return Number.isNaN(t) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 24 || mi > 59 || se > 60 ? undefined : t;
}

export function decodeTimestamp(s: string): Date | null {
  const fast = fastTimestamp(s);
  if (fast !== undefined) return new Date(fast);
  let t = s.replace(' ', 'T');
  const z = /([+-]\d\d)(:?\d\d)?(:?\d\d)?$/.exec(t);
  if (z && t.indexOf('T') < z.index) {
    const mins = z[2] ? z[2].replace(':', '') : '00';
    t = `${t.slice(0, z.index)}${z[1]}:${mins}`;
  } else if (!t.endsWith('Z')) t += 'Z';
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? null : new Date(ms);
}

/** Parses a PostgreSQL array literal (`{1,2,NULL}`, `{"a b","c\"d"}`, nested, with bounds). */
export function parseArrayLiteral(text: string, convert: (s: string | null) => unknown): unknown[] {
  let i = 0;
  if (text[0] === '[') i = text.indexOf('=') + 1;
  const parse = (): unknown[] => {
    const out: unknown[] = [];
    i++; // '{'
    if (text[i] === '}') {
      i++;
      return out;
    }
    for (;;) {
      if (text[i] === '{') out.push(parse());
      else if (text[i] === '"') {
        i++;
        let s = '';
        while (text[i] !== '"') {
          if (text[i] === '\\') i++;
          s += text[i];
          i++;
        }
        i++;
        out.push(convert(s));
      } else {
        let j = i;
        while (text[j] !== ',' && text[j] !== '}') j++;
        const raw = text.slice(i, j).trim();
        i = j;
        out.push(raw.toUpperCase() === 'NULL' ? convert(null) : convert(raw));
      }
      if (text[i] === ',') {
        i++;
        continue;
      }
      i++; // '}'
      return out;
    }
  };
  return parse();
}

// ---------------------------------------------------------------------------
// Writing: JavaScript values -> PostgreSQL text input

/** What a sink needs to know about a target column to format a value for it. */
export interface TargetColumn {
  name: string;
  /** pg_type.typname, e.g. `int4`, `_text`, `jsonb` */
  typeName: string;
  /** The element type name of array columns. */
  elemTypeName?: string | undefined;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

function dateOnly(d: Date): string {
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}
function timeOnly(d: Date): string {
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
}

function asDate(v: unknown): Date | undefined {
  if (v instanceof Date) return v;
  if (typeof v === 'number' || typeof v === 'bigint') return new Date(Number(v));
  return undefined;
}

/**
 * Formats a value as PostgreSQL text input for a column of `typeName`
 * (`schema` is the record field's schema, when the record has one).
 */
export function toPgText(value: unknown, typeName: string, schema?: Schema | null): string | null {
  if (value === null || value === undefined) return null;
  const logical = schema?.name;
  if (logical === LogicalNames.Date || typeName === 'date') {
    const d = asDate(value);
    if (d) return dateOnly(d);
  }
  if (logical === LogicalNames.Time || typeName === 'time') {
    const d = asDate(value);
    if (d) return timeOnly(d);
  }
  if (logical === LogicalNames.Timestamp || typeName === 'timestamp' || typeName === 'timestamptz') {
    const d = asDate(value);
    if (d) return d.toISOString();
  }
  if (typeName.startsWith('_') && Array.isArray(value)) {
    return arrayLiteral(value, typeName.slice(1), schema?.items);
  }
  return scalarText(value, typeName);
}

function scalarText(value: unknown, typeName: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (value instanceof Uint8Array) {
    const b = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    return typeName === 'bytea' ? `\\x${b.toString('hex')}` : b.toString(typeName === 'text' || typeName === 'varchar' ? 'base64' : 'hex');
  }
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(toJsonable(value));
}

/** Maps, Buffers and bigints made JSON-friendly. */
export function toJsonable(v: unknown): unknown {
  if (v === null || v === undefined) return v ?? null;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  if (v instanceof Map) return Object.fromEntries([...v.entries()].map(([k, x]) => [String(k), toJsonable(x)]));
  if (Array.isArray(v)) return v.map(toJsonable);
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = toJsonable(x);
    return out;
  }
  return v;
}

function arrayLiteral(values: unknown[], elemType: string, items?: Schema | null): string {
  const parts = values.map((e) => {
    if (e === null || e === undefined) return 'NULL';
    if (Array.isArray(e)) return arrayLiteral(e, elemType, items?.items);
    const s = toPgText(e, elemType, items) ?? '';
    return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  });
  return `{${parts.join(',')}}`;
}

/** The column type `auto.create` / `auto.evolve` use for a Connect schema. */
export function sqlTypeForSchema(s: Schema): string {
  switch (s.name) {
    case LogicalNames.Decimal:
      return 'numeric';
    case LogicalNames.Timestamp:
      return 'timestamptz';
    case LogicalNames.Date:
      return 'date';
    case LogicalNames.Time:
      return 'time';
    case SemanticNames.Json:
      return 'jsonb';
    case SemanticNames.Uuid:
      return 'uuid';
    default:
      break;
  }
  switch (s.type) {
    case 'int8':
    case 'int16':
      return 'smallint';
    case 'int32':
      return 'integer';
    case 'int64':
      return 'bigint';
    case 'float':
      return 'real';
    case 'double':
      return 'double precision';
    case 'boolean':
      return 'boolean';
    case 'string':
      return 'text';
    case 'bytes':
      return 'bytea';
    case 'array': {
      const it = s.items;
      if (it && it.type !== 'array' && it.type !== 'map' && it.type !== 'struct') return `${sqlTypeForSchema(it)}[]`;
      return 'jsonb';
    }
    default:
      return 'jsonb';
  }
}

/** The column type `auto.create` / `auto.evolve` use for a schemaless JSON value. */
export function sqlTypeForValue(v: unknown): string {
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'bigint') return 'bigint';
  if (typeof v === 'number') return Number.isInteger(v) ? 'bigint' : 'double precision';
  if (typeof v === 'string') return 'text';
  if (v instanceof Date) return 'timestamptz';
  if (v instanceof Uint8Array) return 'bytea';
  return 'jsonb';
}
