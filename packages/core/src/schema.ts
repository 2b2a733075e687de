/**
 * Record schemas, shaped exactly like the `schema` object of Kafka Connect's
 * JsonConverter envelope, so a schema round-trips through JSON unchanged.
 *
 * Values travel as plain JavaScript values: a struct is a plain object, an
 * array an array, a map a plain object (string keys) or a `Map`, bytes a
 * `Uint8Array`/`Buffer`, int64 a `number` (or a `bigint` past 2^53).
 * Logical types keep their Kafka Connect names:
 * - {@link LogicalNames.Decimal}: the value is a decimal string such as `"12.30"`
 *   (exact), the schema carries `parameters.scale`.
 * - {@link LogicalNames.Timestamp} / `Date` / `Time`: the value is a JS `Date`
 *   (a number of epoch milliseconds is accepted too).
 */
export type SchemaType =
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'float'
  | 'double'
  | 'boolean'
  | 'string'
  | 'bytes'
  | 'array'
  | 'map'
  | 'struct';

export interface Field {
  field: string;
  /** The field's own schema, flattened as in the JSON envelope. */
  type: SchemaType;
  optional?: boolean;
  name?: string;
  version?: number;
  doc?: string;
  parameters?: Record<string, string>;
  default?: unknown;
  fields?: Field[];
  items?: Schema;
  keys?: Schema;
  values?: Schema;
}

export interface Schema {
  type: SchemaType;
  optional?: boolean;
  name?: string;
  version?: number;
  doc?: string;
  parameters?: Record<string, string>;
  default?: unknown;
  /** struct only */
  fields?: Field[];
  /** array only */
  items?: Schema;
  /** map only */
  keys?: Schema;
  /** map only */
  values?: Schema;
}

/** A value with the schema that describes it (null schema = schemaless). */
export interface SchemaAndValue {
  schema: Schema | null;
  value: unknown;
}

/** Names of Kafka Connect's logical types. */
export const LogicalNames = {
  Decimal: 'org.apache.kafka.connect.data.Decimal',
  Date: 'org.apache.kafka.connect.data.Date',
  Time: 'org.apache.kafka.connect.data.Time',
  Timestamp: 'org.apache.kafka.connect.data.Timestamp',
} as const;

/** The schema of a struct field, as a standalone schema. */
export function fieldSchema(f: Field): Schema {
  const { field: _name, ...schema } = f;
  return schema;
}

/** Looks a struct field up by name. */
export function findField(schema: Schema | null | undefined, name: string): Field | undefined {
  return schema?.fields?.find((f) => f.field === name);
}

/** Small constructors that keep schema literals short and correct. */
export const Schemas = {
  primitive(type: SchemaType, optional = false): Schema {
    return optional ? { type, optional: true } : { type, optional: false };
  },
  string(optional = false): Schema {
    return Schemas.primitive('string', optional);
  },
  int32(optional = false): Schema {
    return Schemas.primitive('int32', optional);
  },
  int64(optional = false): Schema {
    return Schemas.primitive('int64', optional);
  },
  float64(optional = false): Schema {
    return Schemas.primitive('double', optional);
  },
  boolean(optional = false): Schema {
    return Schemas.primitive('boolean', optional);
  },
  bytes(optional = false): Schema {
    return Schemas.primitive('bytes', optional);
  },
  struct(fields: Array<[string, Schema]>, opts: { name?: string; optional?: boolean; version?: number } = {}): Schema {
    const s: Schema = {
      type: 'struct',
      fields: fields.map(([field, schema]) => ({ ...schema, field })),
      optional: opts.optional ?? false,
    };
    if (opts.name !== undefined) s.name = opts.name;
    if (opts.version !== undefined) s.version = opts.version;
    return s;
  },
  array(items: Schema, optional = false): Schema {
    return { type: 'array', items, optional };
  },
  map(keys: Schema, values: Schema, optional = false): Schema {
    return { type: 'map', keys, values, optional };
  },
  decimal(scale: number, optional = false): Schema {
    return {
      type: 'bytes',
      optional,
      name: LogicalNames.Decimal,
      version: 1,
      parameters: { scale: String(scale) },
    };
  },
  timestamp(optional = false): Schema {
    return { type: 'int64', optional, name: LogicalNames.Timestamp, version: 1 };
  },
  date(optional = false): Schema {
    return { type: 'int32', optional, name: LogicalNames.Date, version: 1 };
  },
  time(optional = false): Schema {
    return { type: 'int32', optional, name: LogicalNames.Time, version: 1 };
  },
} as const;
