import { Config, DataError, Schemas, defineConfig, type ConnectRecord, type Field, type Schema, type Transformation } from '@ferry/core';
import { keyValuePlugins } from './plugin.js';
import { SchemaCache, asField, requireMap, requireStruct, structLike, type Side } from './util.js';

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
  private readonly cache = new SchemaCache();

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
    if (!schema) {
      const out = { ...requireMap(value, PURPOSE) };
      this.insert(record, out, false);
      return this.side.update(record, null, out);
    }
    const struct = requireStruct(value, schema, PURPOSE);
    const updated = this.cache.get(schema, (s) => this.updatedSchema(s));
    const out = { ...struct };
    this.insert(record, out, true);
    return this.side.update(record, updated, out);
  }

  private insert(record: ConnectRecord, out: Record<string, unknown>, schemaful: boolean): void {
    for (const ins of this.inserts) {
      switch (ins.kind) {
        case 'topic':
          out[ins.name] = record.topic;
          break;
        case 'partition':
          if (record.kafkaPartition !== undefined && record.kafkaPartition !== null) out[ins.name] = record.kafkaPartition;
          break;
        case 'offset': {
          const offset = (record as { kafkaOffset?: number }).kafkaOffset;
          if (offset === undefined) throw new DataError('Offset insertion is only supported for sink connectors, record is a source record');
          out[ins.name] = offset;
          break;
        }
        case 'timestamp':
          // As in Kafka Connect: a Timestamp (Date) with a schema, epoch millis without.
          if (record.timestamp !== undefined && record.timestamp !== null) out[ins.name] = schemaful ? new Date(record.timestamp) : record.timestamp;
          break;
        case 'static':
          if (this.staticValue !== undefined) out[ins.name] = this.staticValue;
          break;
      }
    }
  }

  private updatedSchema(schema: Schema): Schema {
    const fields: Field[] = [...(schema.fields ?? [])];
    for (const ins of this.inserts) {
      if (fields.some((f) => f.field === ins.name)) throw new DataError(`Cannot insert field "${ins.name}": the schema already has a field of that name`);
      fields.push(asField(ins.name, schemaFor(ins.kind, ins.optional)));
    }
    return structLike(schema, fields);
  }
}

export const insertFieldPlugins = keyValuePlugins({
  name: 'InsertField',
  description: 'Inserts fields from record metadata (topic, partition, offset, timestamp) or a static value.',
  config: InsertFieldConfig,
  create: (side) => new InsertField(side),
});
