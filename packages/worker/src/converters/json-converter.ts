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
import { decimalFromBase64, decimalToBase64 } from './decimal.js';

export const JsonConverterConfig = defineConfig({
  'schemas.enable': Config.bool({
    doc: 'Wrap each value in a {"schema": ..., "payload": ...} envelope, as Kafka Connect\'s JsonConverter does.',
    default: true,
    importance: 'HIGH',
  }),
  'schemas.cache.size': Config.int({ doc: 'Accepted for compatibility; schemas are cached per schema object.', default: 1000 }),
  'decimal.format': Config.enum(['BASE64', 'NUMERIC'] as const, {
    doc: 'How Decimal values are written: BASE64 (the unscaled two\'s-complement bytes, Kafka Connect\'s default) or NUMERIC (a JSON number).',
    default: 'BASE64',
    ignoreCase: true,
  }),
  'replace.null.with.default': Config.bool({ doc: 'Write a field\'s default when its value is null.', default: true }),
});

const DAY_MS = 86_400_000;

/** Serializes a schema exactly as Kafka Connect's JsonConverter does (key order included). */
export function schemaToJson(schema: Schema | Field): Record<string, unknown> {
  const out: Record<string, unknown> = { type: schema.type };
  if (schema.type === 'array') out.items = schema.items ? schemaToJson(schema.items) : null;
  if (schema.type === 'map') {
    out.keys = schema.keys ? schemaToJson(schema.keys) : null;
    out.values = schema.values ? schemaToJson(schema.values) : null;
  }
  if (schema.type === 'struct') {
    out.fields = (schema.fields ?? []).map((f) => ({ ...schemaToJson(f), field: f.field }));
  }
  out.optional = schema.optional ?? false;
  if (schema.name !== undefined) out.name = schema.name;
  if (schema.version !== undefined) out.version = schema.version;
  if (schema.doc !== undefined) out.doc = schema.doc;
  if (schema.parameters !== undefined) out.parameters = schema.parameters;
  if (schema.default !== undefined && schema.default !== null) out.default = schema.default;
  return out;
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
  if (j.default !== undefined) s.default = j.default;
  return s;
}

function isFloatType(t: string): boolean {
  return t === 'float' || t === 'double';
}

/**
 * True when JSON.stringify of a value of this schema gives Kafka Connect's
 * bytes exactly (no bytes, logical types, floats, maps or defaults to apply).
 */
function plainJsonSafe(schema: Schema | Field | undefined): boolean {
  if (!schema) return true;
  if (schema.name && Object.values(LogicalNames).includes(schema.name as never)) return false;
  if (schema.type === 'bytes' || isFloatType(schema.type) || schema.type === 'map' || schema.type === 'int64') return false;
  if (schema.default !== undefined) return false;
  if (schema.type === 'array') return plainJsonSafe(schema.items);
  if (schema.type === 'struct') return (schema.fields ?? []).every(plainJsonSafe);
  return true;
}

export class JsonConverter implements Converter {
  private schemasEnabled = true;
  private decimalNumeric = false;
  private replaceNullWithDefault = true;
  private isKey = false;
  private readonly schemaJsonCache = new WeakMap<Schema, string>();
  private readonly plainCache = new WeakMap<Schema, boolean>();
  private readonly parsedSchemas = new Map<string, Schema>();

  configure(config: Record<string, string>, isKey: boolean): void {
    const c = JsonConverterConfig.parse(config);
    this.schemasEnabled = c['schemas.enable'];
    this.decimalNumeric = c['decimal.format'] === 'NUMERIC';
    this.replaceNullWithDefault = c['replace.null.with.default'];
    this.isKey = isKey;
  }

  fromConnectData(_topic: string, schema: Schema | null | undefined, value: unknown): Buffer | null {
    if ((schema === null || schema === undefined) && (value === null || value === undefined)) return null;
    const payload = this.payloadJson(schema ?? null, value);
    if (!this.schemasEnabled) return Buffer.from(payload);
    return Buffer.from(`{"schema":${schema ? this.schemaJson(schema) : 'null'},"payload":${payload}}`);
  }

  toConnectData(_topic: string, data: Buffer | null): SchemaAndValue {
    if (data === null || data.length === 0) return { schema: null, value: null };
    let json: unknown;
    try {
      json = JSON.parse(data.toString('utf8'));
    } catch (err) {
      throw new DataError(`Converting byte[] to Kafka Connect data failed due to serialization error: ${(err as Error).message}`, { cause: err });
    }
    if (!this.schemasEnabled) return { schema: null, value: json };
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
    const schema = this.parsedSchema(env.schema);
    return { schema, value: schema ? this.fromJson(schema, env.payload, 'payload') : env.payload };
  }

  /** The same schema object for the same schema JSON, so caches keyed by schema identity hit. */
  private parsedSchema(json: unknown): Schema | null {
    if (json === null || json === undefined) return null;
    const key = JSON.stringify(json);
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
      s = JSON.stringify(schemaToJson(schema));
      this.schemaJsonCache.set(schema, s);
    }
    return s;
  }

  private payloadJson(schema: Schema | null, value: unknown): string {
    if (schema) {
      let plain = this.plainCache.get(schema);
      if (plain === undefined) {
        plain = plainJsonSafe(schema);
        this.plainCache.set(schema, plain);
      }
      if (plain) return JSON.stringify(value ?? null);
      return this.writeTyped(schema, value);
    }
    return JSON.stringify(value, schemalessReplacer) ?? 'null';
  }

  /** Writes a value by its schema, matching Jackson's output for Kafka Connect types. */
  private writeTyped(schema: Schema | Field, value: unknown): string {
    if (value === null || value === undefined) {
      if (this.replaceNullWithDefault && schema.default !== undefined && schema.default !== null) return JSON.stringify(schema.default);
      return 'null';
    }
    switch (schema.name) {
      case LogicalNames.Decimal: {
        const scale = Number(schema.parameters?.scale ?? 0);
        if (this.decimalNumeric) return normalizeDecimal(String(value), scale);
        return JSON.stringify(decimalToBase64(String(value), scale));
      }
      case LogicalNames.Timestamp:
        return String(toEpochMs(value));
      case LogicalNames.Date:
        return String(Math.floor(toEpochMs(value) / DAY_MS));
      case LogicalNames.Time:
        return String(((toEpochMs(value) % DAY_MS) + DAY_MS) % DAY_MS);
    }
    switch (schema.type) {
      case 'float':
      case 'double': {
        const n = Number(value);
        if (!Number.isFinite(n)) return JSON.stringify(String(n)); // Jackson writes NaN/Infinity as strings
        return Number.isInteger(n) && Math.abs(n) < 1e16 ? `${n}.0` : String(n);
      }
      case 'int64':
        return typeof value === 'bigint' ? value.toString() : String(Number(value));
      case 'bytes':
        return JSON.stringify(Buffer.from(value as Uint8Array).toString('base64'));
      case 'array':
        return `[${(value as unknown[]).map((v) => (schema.items ? this.writeTyped(schema.items, v) : JSON.stringify(v))).join(',')}]`;
      case 'map': {
        const entries = value instanceof Map ? [...value.entries()] : Object.entries(value as object);
        const keyIsString = !schema.keys || schema.keys.type === 'string';
        if (keyIsString) {
          return `{${entries.map(([k, v]) => `${JSON.stringify(String(k))}:${schema.values ? this.writeTyped(schema.values, v) : JSON.stringify(v)}`).join(',')}}`;
        }
        return `[${entries
          .map(([k, v]) => `[${this.writeTyped(schema.keys!, k)},${schema.values ? this.writeTyped(schema.values, v) : JSON.stringify(v)}]`)
          .join(',')}]`;
      }
      case 'struct': {
        const obj = value as Record<string, unknown>;
        return `{${(schema.fields ?? []).map((f) => `${JSON.stringify(f.field)}:${this.writeTyped(f, obj[f.field])}`).join(',')}}`;
      }
      default:
        return JSON.stringify(value);
    }
  }

  private fromJson(schema: Schema | Field, v: unknown, path: string): unknown {
    if (v === null || v === undefined) {
      if (schema.default !== undefined) return schema.default;
      if (schema.optional) return null;
      throw new DataError(`Invalid null value for required ${schema.type} field ${path}`);
    }
    switch (schema.name) {
      case LogicalNames.Decimal:
        return typeof v === 'number' ? String(v) : decimalFromBase64(String(v), Number(schema.parameters?.scale ?? 0));
      case LogicalNames.Timestamp:
        return new Date(Number(v));
      case LogicalNames.Date:
        return new Date(Number(v) * DAY_MS);
      case LogicalNames.Time:
        return new Date(Number(v));
    }
    switch (schema.type) {
      case 'int8':
      case 'int16':
      case 'int32':
      case 'int64':
        if (typeof v !== 'number' || !Number.isInteger(v)) throw new DataError(`Expected an integer for ${schema.type} at ${path}, got ${JSON.stringify(v)}`);
        return v;
      case 'float':
      case 'double':
        if (typeof v !== 'number') throw new DataError(`Expected a number for ${schema.type} at ${path}, got ${JSON.stringify(v)}`);
        return v;
      case 'boolean':
        if (typeof v !== 'boolean') throw new DataError(`Expected a boolean at ${path}, got ${JSON.stringify(v)}`);
        return v;
      case 'string':
        if (typeof v !== 'string') throw new DataError(`Expected a string at ${path}, got ${JSON.stringify(v)}`);
        return v;
      case 'bytes':
        return Buffer.from(String(v), 'base64');
      case 'array':
        if (!Array.isArray(v)) throw new DataError(`Expected an array at ${path}`);
        return schema.items ? v.map((x, i) => this.fromJson(schema.items!, x, `${path}[${i}]`)) : v;
      case 'map': {
        if (Array.isArray(v)) {
          return new Map(v.map(([k, x]: [unknown, unknown], i: number) => [this.fromJson(schema.keys!, k, `${path}[${i}].key`), this.fromJson(schema.values!, x, `${path}[${i}].value`)]));
        }
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v as object)) out[k] = schema.values ? this.fromJson(schema.values, x, `${path}.${k}`) : x;
        return out;
      }
      case 'struct': {
        if (typeof v !== 'object' || Array.isArray(v)) throw new DataError(`Expected an object at ${path}`);
        const out: Record<string, unknown> = {};
        for (const f of schema.fields ?? []) out[f.field] = this.fromJson(f, (v as Record<string, unknown>)[f.field], `${path}.${f.field}`);
        return out;
      }
    }
  }
}

function toEpochMs(v: unknown): number {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return new Date(v).getTime();
  throw new DataError(`Expected a Date for a logical time value, got ${typeof v}`);
}

function normalizeDecimal(s: string, scale: number): string {
  const n = Number(s);
  return scale > 0 ? n.toFixed(scale) : String(n);
}

function schemalessReplacer(this: unknown, _key: string, v: unknown): unknown {
  if (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
    return Buffer.from((v as { data: number[] }).data).toString('base64');
  }
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Map) return Object.fromEntries(v);
  return v;
}

export const JsonConverterPlugin: ConverterPlugin = {
  type: 'converter',
  className: 'JsonConverter',
  aliases: ['org.apache.kafka.connect.json.JsonConverter', 'json'],
  version: '0.1.0',
  config: JsonConverterConfig,
  create: () => new JsonConverter(),
};
