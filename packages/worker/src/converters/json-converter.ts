import {
  Config,
  DataError,
  defineConfig,
  LogicalNames,
  type Converter,
  type ConverterPlugin,
  type Field,
  type Schema,
  type SchemaAndValue,
} from '@ferry/core';
import { decimalFromBase64, decimalToBase64, decimalToNumericJson, normalizeDecimal } from './decimal.js';
import { ExactNumber, floatingJson, hasLongInteger, jsonString, parseJsonExact, plainJsonString, plainNumbers, toJacksonText } from './json-text.js';
import { FERRY_VERSION } from '@ferry/connector-kit';

export const JsonConverterConfig = defineConfig({
  'schemas.enable': Config.bool({
    doc: 'Wrap each value in a {"schema": ..., "payload": ...} envelope, as Kafka Connect\'s JsonConverter does.',
    default: true,
    importance: 'HIGH',
    group: 'Schemas',
  }),
  'schemas.cache.size': Config.int({ doc: 'Accepted for compatibility; schemas are cached per schema object.', default: 1000, group: 'Schemas' }),
  'decimal.format': Config.enum(['BASE64', 'NUMERIC'] as const, {
    doc: 'How Decimal values are written: BASE64 (the unscaled two\'s-complement bytes, Kafka Connect\'s default) or NUMERIC (a JSON number).',
    default: 'BASE64',
    ignoreCase: true,
    group: 'Serialization',
  }),
  'replace.null.with.default': Config.bool({ doc: 'Write a field\'s default when its value is null.', default: true, group: 'Serialization' }),
});

const DAY_MS = 86_400_000;
const LOGICAL_NAMES: ReadonlySet<string> = new Set(Object.values(LogicalNames));

interface WriteOptions {
  decimalNumeric: boolean;
  replaceNullWithDefault: boolean;
}

const DEFAULT_WRITE_OPTIONS: WriteOptions = { decimalNumeric: false, replaceNullWithDefault: true };

/** Writes one value of a schema as JSON text. */
type Writer = (v: unknown) => string;

// ------------------------------------------------------------------ schemas

/**
 * A schema as the JSON text of Kafka Connect's JsonConverter envelope: its
 * key order, and a default written as a value of its own schema (a Decimal
 * default as base64 or a number, a Timestamp as epoch milliseconds, ...).
 */
function writeSchema(schema: Schema | Field, opts: WriteOptions): string {
  let out = `{"type":${jsonString(schema.type)}`;
  if (schema.type === 'array') out += `,"items":${schema.items ? writeSchema(schema.items, opts) : 'null'}`;
  if (schema.type === 'map') {
    out += `,"keys":${schema.keys ? writeSchema(schema.keys, opts) : 'null'}`;
    out += `,"values":${schema.values ? writeSchema(schema.values, opts) : 'null'}`;
  }
  if (schema.type === 'struct') {
    const fields = (schema.fields ?? []).map((f) => `${writeSchema(f, opts).slice(0, -1)},"field":${jsonString(f.field)}}`);
    out += `,"fields":[${fields.join(',')}]`;
  }
  out += `,"optional":${schema.optional === true}`;
  if (schema.name !== undefined) out += `,"name":${jsonString(schema.name)}`;
  if (schema.version !== undefined) out += `,"version":${schema.version}`;
  if (schema.doc !== undefined) out += `,"doc":${jsonString(schema.doc)}`;
  if (schema.parameters !== undefined) {
    out += `,"parameters":{${Object.entries(schema.parameters)
      .map(([k, v]) => `${jsonString(k)}:${jsonString(String(v))}`)
      .join(',')}}`;
  }
  if (schema.default !== undefined && schema.default !== null) out += `,"default":${compileBody(schema, opts)(schema.default)}`;
  return out + '}';
}

/** Serializes a schema exactly as Kafka Connect's JsonConverter does (key order included). */
export function schemaToJson(schema: Schema | Field): Record<string, unknown> {
  return JSON.parse(writeSchema(schema, DEFAULT_WRITE_OPTIONS)) as Record<string, unknown>;
}

/** Reads a JSON envelope schema back. */
export function schemaFromJson(json: unknown, path = 'schema'): Schema | null {
  if (json === null || json === undefined) return null;
  if (typeof json !== 'object') throw new DataError(`${path} must be an object`);
  const j = json as Record<string, unknown>;
  const type = j.type;
  const known = ['int8', 'int16', 'int32', 'int64', 'float', 'double', 'boolean', 'string', 'bytes', 'array', 'map', 'struct'];
  if (typeof type !== 'string' || !known.includes(type)) throw new DataError(`${path}.type ${JSON.stringify(type)} is not a schema type`);
  const s: Schema = { type: type as Schema['type'], optional: j.optional === true };
  if (typeof j.name === 'string') s.name = j.name;
  if (typeof j.version === 'number') s.version = j.version;
  if (typeof j.doc === 'string') s.doc = j.doc;
  if (j.parameters && typeof j.parameters === 'object') s.parameters = j.parameters as Record<string, string>;
  if (type === 'array') s.items = schemaFromJson(j.items, `${path}.items`) ?? undefined;
  if (type === 'map') {
    s.keys = schemaFromJson(j.keys, `${path}.keys`) ?? undefined;
    s.values = schemaFromJson(j.values, `${path}.values`) ?? undefined;
  }
  if (type === 'struct') {
    if (!Array.isArray(j.fields)) throw new DataError(`${path}.fields must be an array`);
    s.fields = j.fields.map((f: Record<string, unknown>, i: number) => {
      const fs = schemaFromJson(f, `${path}.fields[${i}]`)!;
      if (typeof f.field !== 'string') throw new DataError(`${path}.fields[${i}].field must be a string`);
      return { ...fs, field: f.field };
    });
  }
  // Like Kafka Connect, the default is read as a value of the schema itself.
  if (j.default !== undefined && j.default !== null) s.default = readValue(s, j.default, `${path}.default`, true);
  return s;
}

// ------------------------------------------------------------------ writing

/**
 * True when JSON.stringify can write values of this schema, provided the
 * value passes {@link compileShapeCheck}: no bytes, floats, maps, logical
 * types or defaults, whose JSON differs from JavaScript's.
 */
function plainJsonSafe(schema: Schema | Field | undefined): boolean {
  if (!schema) return false;
  if (schema.name !== undefined && LOGICAL_NAMES.has(schema.name)) return false;
  if (schema.type === 'bytes' || schema.type === 'float' || schema.type === 'double' || schema.type === 'map') return false;
  if (schema.default !== undefined && schema.default !== null) return false;
  if (schema.type === 'array') return plainJsonSafe(schema.items);
  if (schema.type === 'struct') return (schema.fields ?? []).every(plainJsonSafe);
  return true;
}

/**
 * For a plain schema: a check that JSON.stringify of a (non-null) value gives
 * what Kafka Connect writes, i.e. every struct object has exactly the
 * schema's fields, in schema order, none undefined, and every primitive has
 * its JavaScript type (no bigint, which JSON.stringify rejects).
 */
function compileShapeCheck(schema: Schema | Field): (v: unknown) => boolean {
  switch (schema.type) {
    case 'string':
      return (v) => typeof v === 'string';
    case 'boolean':
      return (v) => typeof v === 'boolean';
    case 'array': {
      const item = compileShapeCheck(schema.items!);
      return (v) => {
        if (!Array.isArray(v)) return false;
        for (let i = 0; i < v.length; i++) {
          const x: unknown = v[i];
          if (x !== null && x !== undefined && !item(x)) return false;
        }
        return true;
      };
    }
    case 'struct': {
      const fields = schema.fields ?? [];
      const names = fields.map((f) => f.field);
      const checks = fields.map(compileShapeCheck);
      return (v) => {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
        const keys = Object.keys(v);
        if (keys.length !== names.length) return false;
        for (let i = 0; i < names.length; i++) {
          if (keys[i] !== names[i]) return false;
          const x = (v as Record<string, unknown>)[names[i]!];
          if (x === undefined || (x !== null && !checks[i]!(x))) return false;
        }
        return true;
      };
    }
    default: // int8..int64
      return (v) => typeof v === 'number';
  }
}

/** The writer for a schema: null handling (default or null), then the value. */
function compileWriter(schema: Schema | Field, opts: WriteOptions): Writer {
  const body = compileBody(schema, opts);
  const dflt = schema.default;
  const nullText = opts.replaceNullWithDefault && dflt !== undefined && dflt !== null ? body(dflt) : 'null';
  if ((schema.type === 'struct' || schema.type === 'array') && plainJsonSafe(schema)) {
    // Fast path: JSON.stringify (native) whenever the value has the schema's exact shape.
    const fits = compileShapeCheck(schema);
    return (v) => (v === null || v === undefined ? nullText : fits(v) ? toJacksonText(JSON.stringify(v)) : body(v));
  }
  return (v) => (v === null || v === undefined ? nullText : body(v));
}

/** The writer of a non-null value of a schema. */
function compileBody(schema: Schema | Field, opts: WriteOptions): Writer {
  switch (schema.name) {
    case LogicalNames.Decimal: {
      const scale = Number(schema.parameters?.scale ?? 0);
      if (opts.decimalNumeric) return (v) => decimalToNumericJson(decimalInput(v), scale);
      return (v) => `"${decimalToBase64(decimalInput(v), scale)}"`;
    }
    case LogicalNames.Timestamp:
      return (v) => String(toEpochMs(v));
    case LogicalNames.Date:
      return (v) => String(Math.floor(toEpochMs(v) / DAY_MS));
    case LogicalNames.Time:
      return (v) => String(((toEpochMs(v) % DAY_MS) + DAY_MS) % DAY_MS);
  }
  switch (schema.type) {
    case 'int8':
    case 'int16':
    case 'int32':
    case 'int64':
      return intJson;
    case 'float':
      return (v) => floatingJson(Number(v), true);
    case 'double':
      return (v) => floatingJson(Number(v), false);
    case 'boolean':
      return (v) => (v ? 'true' : 'false');
    case 'string':
      return (v) => jsonString(typeof v === 'string' ? v : String(v));
    case 'bytes':
      return (v) => `"${toBuffer(v).toString('base64')}"`;
    case 'array': {
      const item = schema.items ? compileWriter(schema.items, opts) : writeSchemaless;
      return (v) => {
        const a = v as unknown[];
        let out = '[';
        for (let i = 0; i < a.length; i++) out += (i === 0 ? '' : ',') + item(a[i]);
        return out + ']';
      };
    }
    case 'map': {
      // String keys: a JSON object; any other key type: an array of [key, value] pairs.
      const keyIsString = !schema.keys || schema.keys.type === 'string';
      const key = schema.keys ? compileWriter(schema.keys, opts) : writeSchemaless;
      const val = schema.values ? compileWriter(schema.values, opts) : writeSchemaless;
      return (v) => {
        const entries: Iterable<[unknown, unknown]> = v instanceof Map ? v.entries() : Object.entries(v as object);
        let out = '';
        for (const [k, x] of entries) {
          out += out === '' ? '' : ',';
          out += keyIsString ? `${jsonString(String(k))}:${val(x)}` : `[${key(k)},${val(x)}]`;
        }
        return keyIsString ? `{${out}}` : `[${out}]`;
      };
    }
    case 'struct': {
      const fields = schema.fields ?? [];
      if (fields.length === 0) return () => '{}';
      const names = fields.map((f) => f.field);
      const writers = fields.map((f) => compileWriter(f, opts));
      const prefixes = fields.map((f, i) => `${i === 0 ? '{' : ','}${jsonString(f.field)}:`);
      return (v) => {
        const o = v as Record<string, unknown>;
        let out = '';
        for (let i = 0; i < names.length; i++) out += prefixes[i]! + writers[i]!(o[names[i]!]);
        return out + '}';
      };
    }
    default:
      return writeSchemaless;
  }
}

function intJson(v: unknown): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  if (typeof v === 'bigint') return v.toString();
  const n = Number(v);
  if (!Number.isFinite(n)) throw new DataError(`Expected an integer, got ${typeof v}`);
  return String(n);
}

function decimalInput(v: unknown): string {
  return typeof v === 'string' ? v : String(v);
}

function toBuffer(v: unknown): Buffer {
  if (Buffer.isBuffer(v)) return v;
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  if (typeof v === 'string') return Buffer.from(v);
  throw new DataError(`Expected bytes, got ${typeof v}`);
}

function toEpochMs(v: unknown): number {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') return new Date(v).getTime();
  throw new DataError(`Expected a Date for a logical time value, got ${typeof v}`);
}

/**
 * A value without a schema, typed by its JavaScript type as Kafka Connect
 * types a schemaless Java value: whole numbers as integers, others as Java
 * doubles, bytes as base64, a map with any non-string key as [key, value] pairs.
 */
function writeSchemaless(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return jsonString(v);
    case 'number':
      return Number.isInteger(v) && Math.abs(v) < 2 ** 63 ? String(v) : floatingJson(v, false);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'object':
      break;
    default:
      return 'null';
  }
  if (v === null) return 'null';
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) out += (i === 0 ? '' : ',') + writeSchemaless(v[i]);
    return out + ']';
  }
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return `"${toBuffer(v).toString('base64')}"`;
  if (v instanceof Map) {
    let stringKeys = true;
    for (const k of v.keys()) if (typeof k !== 'string') stringKeys = false;
    let out = '';
    for (const [k, x] of v) {
      out += out === '' ? '' : ',';
      out += stringKeys ? `${jsonString(k as string)}:${writeSchemaless(x)}` : `[${writeSchemaless(k)},${writeSchemaless(x)}]`;
    }
    return stringKeys ? `{${out}}` : `[${out}]`;
  }
  const toJSON = (v as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return writeSchemaless(toJSON.call(v));
  let out = '';
  for (const [k, x] of Object.entries(v)) {
    if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
    out += `${out === '' ? '{' : ','}${jsonString(k)}:${writeSchemaless(x)}`;
  }
  return out === '' ? '{}' : out + '}';
}

// ------------------------------------------------------------------ reading

function numberText(v: unknown): string | undefined {
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (v instanceof ExactNumber) return v.text;
  return undefined;
}

/** A JSON value (as read by {@link parseJson}) as a value of `schema`, the way Kafka Connect's JsonConverter reads it. */
function readValue(schema: Schema | Field, v: unknown, path: string, replaceNullWithDefault: boolean): unknown {
  if (v === null || v === undefined) {
    if (replaceNullWithDefault && schema.default !== undefined && schema.default !== null) return schema.default;
    if (schema.optional) return null;
    throw new DataError(`Invalid null value for required ${schema.type} field ${path}`);
  }
  switch (schema.name) {
    case LogicalNames.Decimal: {
      const scale = Number(schema.parameters?.scale ?? 0);
      if (typeof v === 'string') return decimalFromBase64(v, scale);
      if (typeof v === 'number' && !Number.isSafeInteger(v) && mayHaveLostDigits(v, scale)) throw NEED_EXACT;
      const text = numberText(v);
      if (text === undefined) throw new DataError(`Expected a Decimal (base64 string or number) at ${path}, got ${JSON.stringify(v)}`);
      return normalizeDecimal(text, scale);
    }
    case LogicalNames.Timestamp:
      return new Date(logicalNumber(v, path));
    case LogicalNames.Date:
      return new Date(logicalNumber(v, path) * DAY_MS);
    case LogicalNames.Time:
      return new Date(logicalNumber(v, path));
  }
  switch (schema.type) {
    case 'int8':
    case 'int16':
    case 'int32':
    case 'int64':
      if (typeof v === 'number' && Number.isInteger(v)) {
        if (!Number.isSafeInteger(v) && schema.type === 'int64') throw NEED_EXACT;
        return v;
      }
      if (typeof v === 'bigint' && schema.type === 'int64') return v;
      if (v instanceof ExactNumber && Number.isSafeInteger(Number(v.text))) return Number(v.text);
      throw new DataError(`Expected an integer for ${schema.type} at ${path}, got ${numberText(v) ?? JSON.stringify(v)}`);
    case 'float':
    case 'double': {
      if (typeof v === 'number') return v;
      if (typeof v === 'bigint') return Number(v);
      if (v instanceof ExactNumber) return Number(v.text);
      // Jackson writes NaN and the infinities as strings.
      if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') return Number(v);
      throw new DataError(`Expected a number for ${schema.type} at ${path}, got ${JSON.stringify(v)}`);
    }
    case 'boolean':
      if (typeof v !== 'boolean') throw new DataError(`Expected a boolean at ${path}, got ${JSON.stringify(v)}`);
      return v;
    case 'string':
      if (typeof v !== 'string') throw new DataError(`Expected a string at ${path}, got ${JSON.stringify(v)}`);
      return v;
    case 'bytes':
      if (typeof v !== 'string') throw new DataError(`Expected a base64 string for bytes at ${path}, got ${numberText(v) ?? JSON.stringify(v)}`);
      return Buffer.from(v, 'base64');
    case 'array':
      if (!Array.isArray(v)) throw new DataError(`Expected an array at ${path}`);
      return schema.items ? v.map((x, i) => readValue(schema.items!, x, `${path}[${i}]`, replaceNullWithDefault)) : v;
    case 'map': {
      if (Array.isArray(v)) {
        return new Map(
          v.map((pair: unknown, i: number) => {
            if (!Array.isArray(pair) || pair.length !== 2) throw new DataError(`Expected a [key, value] pair at ${path}[${i}]`);
            const [k, x] = pair as [unknown, unknown];
            return [
              schema.keys ? readValue(schema.keys, k, `${path}[${i}].key`, replaceNullWithDefault) : k,
              schema.values ? readValue(schema.values, x, `${path}[${i}].value`, replaceNullWithDefault) : x,
            ];
          }),
        );
      }
      if (typeof v !== 'object') throw new DataError(`Expected an object or an array of pairs at ${path}`);
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v as object)) {
        out[k] = schema.values ? readValue(schema.values, x, `${path}.${k}`, replaceNullWithDefault) : x;
      }
      return out;
    }
    case 'struct': {
      if (typeof v !== 'object' || Array.isArray(v)) throw new DataError(`Expected an object at ${path}`);
      const out: Record<string, unknown> = {};
      for (const f of schema.fields ?? []) {
        out[f.field] = readValue(f, (v as Record<string, unknown>)[f.field], `${path}.${f.field}`, replaceNullWithDefault);
      }
      return out;
    }
  }
}

/**
 * Thrown by {@link readValue} when JSON.parse may have rounded a number the
 * schema needs exactly (an int64 past 2^53, a wide NUMERIC decimal): the
 * converter then reads the text again with {@link parseJsonExact}.
 */
const NEED_EXACT = Symbol('needs an exact reading');

/**
 * True when a decimal of this magnitude and scale may have more than 15
 * significant digits (one to spare), which a double may not keep; up to 15,
 * the shortest text of the double is the decimal that was written.
 */
function mayHaveLostDigits(v: number, scale: number): boolean {
  if (!Number.isFinite(v)) return false;
  const intDigits = v === 0 ? 1 : Math.max(1, Math.floor(Math.log10(Math.abs(v))) + 2);
  return intDigits + Math.max(scale, 0) > 15;
}

function logicalNumber(v: unknown, path: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof ExactNumber) return Number(v.text);
  throw new DataError(`Expected a number at ${path}, got ${JSON.stringify(v)}`);
}

function cacheKeyReplacer(_key: string, v: unknown): unknown {
  return typeof v === 'bigint' ? `${v}n` : v;
}

// ------------------------------------------------------------------ converter

export class JsonConverter implements Converter {
  private schemasEnabled = true;
  private writeOptions: WriteOptions = DEFAULT_WRITE_OPTIONS;
  private replaceNullWithDefault = true;
  private isKey = false;
  private readonly schemaJsonCache = new WeakMap<Schema, string>();
  private readonly writers = new WeakMap<Schema, Writer>();
  private readonly parsedSchemas = new Map<string, Schema>();

  configure(config: Record<string, string>, isKey: boolean): void {
    const c = JsonConverterConfig.parse(config);
    this.schemasEnabled = c['schemas.enable'];
    this.replaceNullWithDefault = c['replace.null.with.default'];
    this.writeOptions = { decimalNumeric: c['decimal.format'] === 'NUMERIC', replaceNullWithDefault: this.replaceNullWithDefault };
    this.isKey = isKey;
  }

  fromConnectData(_topic: string, schema: Schema | null | undefined, value: unknown): Buffer | null {
    if ((schema === null || schema === undefined) && (value === null || value === undefined)) return null;
    const payload = schema ? this.writer(schema)(value) : writeSchemaless(value);
    if (!this.schemasEnabled) return Buffer.from(payload);
    return Buffer.from(`{"schema":${schema ? this.schemaJson(schema) : 'null'},"payload":${payload}}`);
  }

  toConnectData(_topic: string, data: Buffer | null): SchemaAndValue {
    if (data === null || data.length === 0) return { schema: null, value: null };
    if (!this.schemasEnabled) {
      const plain = plainJsonString(data);
      if (plain !== undefined) return { schema: null, value: plain };
      const text = data.toString('utf8');
      return { schema: null, value: this.parse(text, hasLongInteger(text), false) };
    }
    const text = data.toString('utf8');
    try {
      return this.readEnvelope(this.parse(text, false, true), text, false);
    } catch (err) {
      if (err !== NEED_EXACT) throw err;
    }
    // Read exactly, numbers came back as bigint or ExactNumber: NEED_EXACT cannot recur.
    return this.readEnvelope(this.parse(text, true, true), text, true);
  }

  private parse(text: string, exact: boolean, keepText: boolean): unknown {
    try {
      return exact ? parseJsonExact(text, keepText) : JSON.parse(text);
    } catch (err) {
      throw new DataError(`Converting byte[] to Kafka Connect data failed due to serialization error: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Reads a parsed envelope; `exact` when it was parsed by parseJsonExact. */
  private readEnvelope(json: unknown, text: string, exact: boolean): SchemaAndValue {
    if (
      json === null ||
      typeof json !== 'object' ||
      Array.isArray(json) ||
      !('schema' in json) ||
      !('payload' in json) ||
      Object.keys(json).length !== 2
    ) {
      throw new DataError(
        'JsonConverter with schemas.enable requires "schema" and "payload" fields and may not contain additional fields.' +
          ' If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.',
      );
    }
    const env = json as { schema: unknown; payload: unknown };
    const schema = this.parsedSchema(env.schema, exact);
    if (!schema) {
      if (!exact && hasLongInteger(text)) throw NEED_EXACT;
      return { schema: null, value: exact ? plainNumbers(env.payload) : env.payload };
    }
    return { schema, value: readValue(schema, env.payload, 'payload', this.replaceNullWithDefault) };
  }

  /** The same schema object for the same schema JSON, so caches keyed by schema identity hit. */
  private parsedSchema(json: unknown, exact: boolean): Schema | null {
    if (json === null || json === undefined) return null;
    const key = JSON.stringify(json, exact ? cacheKeyReplacer : undefined);
    let s = this.parsedSchemas.get(key);
    if (s === undefined) {
      s = schemaFromJson(json)!;
      if (this.parsedSchemas.size >= 1000) this.parsedSchemas.delete(this.parsedSchemas.keys().next().value!);
      this.parsedSchemas.set(key, s);
    }
    return s;
  }

  private schemaJson(schema: Schema): string {
    let s = this.schemaJsonCache.get(schema);
    if (s === undefined) {
      s = writeSchema(schema, this.writeOptions);
      this.schemaJsonCache.set(schema, s);
    }
    return s;
  }

  private writer(schema: Schema): Writer {
    let w = this.writers.get(schema);
    if (w === undefined) {
      w = compileWriter(schema, this.writeOptions);
      this.writers.set(schema, w);
    }
    return w;
  }
}

export const JsonConverterPlugin: ConverterPlugin = {
  type: 'converter',
  className: 'JsonConverter',
  aliases: ['org.apache.kafka.connect.json.JsonConverter', 'json'],
  version: FERRY_VERSION,
  config: JsonConverterConfig,
  create: () => new JsonConverter(),
};
