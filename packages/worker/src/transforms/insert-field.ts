import { Config, DataError, Schemas, defineConfig, type ConnectRecord, type Field, type Schema, type Transformation } from '@ferry/core';
import { keyValuePlugins } from './plugin.js';
import { SchemaCache, asField, compileStructBuilder, copyMap, requireMap, requireStruct, setKey, structLike, type Side, type StructBuilder } from './util.js';

const OPTIONALITY = 'Suffix with `!` to make this a required field, or `?` to keep it optional (the default).';
const spec = (what: string) => Config.string({ doc: `Field name for ${what}. ${OPTIONALITY}`, optional: true });

export const InsertFieldConfig = defineConfig({
  'topic.field': spec('Kafka topic'),
  'partition.field': spec('Kafka partition'),
  'offset.field': spec('Kafka offset - only applicable to sink connectors'),
  'timestamp.field': spec('record timestamp'),
  'static.field': spec('static data field'),
  'static.value': Config.string({ doc: 'Static field value, if field name configured.', optional: true }),
});

type Kind = 'topic' | 'partition' | 'offset' | 'timestamp' | 'static';
interface Insertion {
  kind: Kind;
  name: string;
  optional: boolean;
}

const PURPOSE = 'field insertion';

function parseSpec(kind: Kind, s: string | undefined): Insertion | null {
  if (s === undefined || s === '') return null;
  if (s.endsWith('?')) return { kind, name: s.slice(0, -1), optional: true };
  if (s.endsWith('!')) return { kind, name: s.slice(0, -1), optional: false };
  return { kind, name: s, optional: true };
}

function schemaFor(kind: Kind, optional: boolean): Schema {
  switch (kind) {
    case 'topic':
    case 'static':
      return Schemas.string(optional);
    case 'partition':
      return Schemas.int32(optional);
    case 'offset':
      return Schemas.int64(optional);
    case 'timestamp':
      return Schemas.timestamp(optional);
  }
}

/** Inserts record metadata (topic, partition, offset, timestamp) or a constant as fields. */
class InsertField implements Transformation {
  private inserts: Insertion[] = [];
  private staticValue: string | undefined;
  private readonly cache = new SchemaCache<{ schema: Schema; build: StructBuilder }>();
  /** Inserted values of the record at hand, reused to keep the hot path allocation-free. */
  private readonly scratch: unknown[] = [];

  constructor(private readonly side: Side) {}

  configure(config: Record<string, string>): void {
    const cfg = InsertFieldConfig.parse(config);
    this.inserts = [
      parseSpec('topic', cfg['topic.field']),
      parseSpec('partition', cfg['partition.field']),
      parseSpec('offset', cfg['offset.field']),
      parseSpec('timestamp', cfg['timestamp.field']),
      parseSpec('static', cfg['static.field']),
    ].filter((x): x is Insertion => x !== null);
    this.staticValue = cfg['static.value'];
  }

  apply(record: ConnectRecord): ConnectRecord {
    if (this.inserts.length === 0) return record;
    const value = this.side.value(record);
    if (value === null || value === undefined) return record; // tombstones pass through
    const schema = this.side.schema(record);
    const vals = this.scratch;
    this.values(record, vals, !!schema);
    if (!schema) {
      const out = copyMap(requireMap(value, PURPOSE));
      // Without a schema, metadata the record lacks (partition, timestamp) is left out.
      for (let i = 0; i < this.inserts.length; i++) if (vals[i] !== null) setKey(out, this.inserts[i].name, vals[i]);
      return this.side.update(record, null, out);
    }
    const struct = requireStruct(value, schema, PURPOSE);
    const plan = this.cache.get(schema, (s) => this.plan(s));
    return this.side.update(record, plan.schema, plan.build(struct, vals));
  }

  /** The value of each insertion for this record (null when the record lacks it). */
  private values(record: ConnectRecord, out: unknown[], schemaful: boolean): void {
    for (let i = 0; i < this.inserts.length; i++) {
      let v: unknown = null;
      switch (this.inserts[i].kind) {
        case 'topic':
          v = record.topic;
          break;
        case 'partition':
          v = record.kafkaPartition ?? null;
          break;
        case 'offset': {
          const offset = (record as { kafkaOffset?: number }).kafkaOffset;
          if (offset === undefined) throw new DataError('Offset insertion is only supported for sink connectors, record is a source record');
          v = offset;
          break;
        }
        case 'timestamp':
          // As in Kafka Connect: a Timestamp (Date) with a schema, epoch millis without.
          if (record.timestamp !== undefined && record.timestamp !== null) v = schemaful ? new Date(record.timestamp) : record.timestamp;
          break;
        case 'static':
          v = this.staticValue ?? null;
          break;
      }
      out[i] = v;
    }
  }

  private plan(schema: Schema): { schema: Schema; build: StructBuilder } {
    const fields: Field[] = [...(schema.fields ?? [])];
    for (const ins of this.inserts) {
      if (fields.some((f) => f.field === ins.name)) throw new DataError(`Cannot insert field "${ins.name}": the schema already has a field of that name`);
      fields.push(asField(ins.name, schemaFor(ins.kind, ins.optional)));
    }
    const build = compileStructBuilder([
      ...(schema.fields ?? []).map((f) => ({ to: f.field, path: [f.field] })),
      ...this.inserts.map((ins, i) => ({ to: ins.name, extra: i })),
    ]);
    return { schema: structLike(schema, fields), build };
  }
}

export const insertFieldPlugins = keyValuePlugins({
  name: 'InsertField',
  description: 'Inserts fields from record metadata (topic, partition, offset, timestamp) or a static value.',
  config: InsertFieldConfig,
  create: (side) => new InsertField(side),
});
