import { Config, defineConfig, type FieldErrors } from '@ferry/core';
import { connectionFields, urlProblem } from './connection-config.js';

export const PostgresSinkConfig = defineConfig({
  ...connectionFields,
  'table.name.format': Config.string({
    doc:
      'Target table of a record: `${topic}` is replaced by the topic; for change events `${source.schema}` and `${source.table}` by the origin table. ' +
      'Dots separate schema and table (`archive.${topic}`); without a schema the table is in public.',
    default: '${topic}',
    importance: 'MEDIUM',
    group: 'Writes',
  }),
  'insert.mode': Config.enum(['insert', 'upsert', 'update'] as const, {
    doc: 'insert: plain INSERT (a duplicate key is a bad record). upsert: INSERT ... ON CONFLICT DO UPDATE, idempotent, needs a primary key. update: UPDATE existing rows only.',
    default: 'insert',
    importance: 'HIGH',
    group: 'Writes',
  }),
  'pk.mode': Config.enum(['none', 'kafka', 'record_key', 'record_value'] as const, {
    doc:
      'Where the primary key comes from. none: no key. kafka: topic, partition and offset (columns __connect_topic, __connect_partition, __connect_offset). ' +
      'record_key: the record key (a struct\'s fields, or a primitive key as one column). record_value: the `pk.fields` of the value.',
    default: 'none',
    importance: 'HIGH',
    group: 'Writes',
    dependents: ['pk.fields'],
  }),
  'pk.fields': Config.list({
    doc: 'Primary key column names. record_value: required, the value fields forming the key. record_key: a subset of the key struct\'s fields (default all) or the column name of a primitive key. kafka: three names replacing the defaults.',
    default: [],
    importance: 'MEDIUM',
    group: 'Writes',
  }),
  'auto.create': Config.bool({
    doc: 'Create a missing table from the record schema (or, schemaless, from the JSON value), with the primary key of pk.mode.',
    default: false,
    group: 'DDL',
  }),
  'auto.evolve': Config.bool({
    doc: 'Add a nullable column when a record carries a field the table lacks. Off: such a record follows the error policy, naming the field and the table.',
    default: false,
    group: 'DDL',
  }),
  'delete.enabled': Config.bool({
    doc: 'A tombstone (null value) deletes the row of its key; a change event with op d deletes its row. Needs pk.mode record_key (or record_value for change events).',
    default: false,
    group: 'Writes',
  }),
  'truncate.enabled': Config.bool({
    doc: 'A change event with op t truncates the target table.',
    default: false,
    group: 'Writes',
  }),
  'batch.size': Config.int({
    doc: 'Rows per bulk statement. Every put() is one transaction, however many statements it takes.',
    default: 3000,
    min: 1,
    group: 'Writes',
  }),
  'exactly.once': Config.bool({
    doc:
      'Store the consumed offsets in the target database, in the same transaction as the rows, and resume from them: a crash never duplicates or loses a row, whatever insert.mode.',
    default: false,
    importance: 'MEDIUM',
    group: 'Delivery',
  }),
  'exactly.once.offsets.table': Config.string({
    doc: 'Table (created when missing) holding the offsets of exactly.once: (connector, topic, partition, next_offset).',
    default: 'ferry_sink_offsets',
    group: 'Delivery',
  }),
  'cdc.envelope.detect': Config.bool({
    doc:
      'Recognise change events (Debezium envelope: before, after, source, op) and apply them: c/r insert or upsert, u upsert or update, d delete, t truncate. Off: such values are written as plain rows.',
    default: true,
    group: 'Writes',
  }),
}).check((cfg) => {
  const e: FieldErrors = {};
  const add = (k: string, m: string) => (e[k] ??= []).push(m);
  const url = urlProblem(cfg['connection.url']);
  if (url) add('connection.url', url);
  const pk = cfg['pk.mode'];
  if ((cfg['insert.mode'] === 'upsert' || cfg['insert.mode'] === 'update') && pk === 'none') {
    add('pk.mode', `insert.mode ${cfg['insert.mode']} needs a primary key: set pk.mode to record_key, record_value or kafka.`);
  }
  if (pk === 'record_value' && cfg['pk.fields'].length === 0) add('pk.fields', 'Required when pk.mode is record_value: the value fields that form the primary key.');
  if (pk === 'kafka' && cfg['pk.fields'].length !== 0 && cfg['pk.fields'].length !== 3) {
    add('pk.fields', 'With pk.mode kafka, give exactly three names (topic, partition, offset columns) or none.');
  }
  if (cfg['delete.enabled'] && pk !== 'record_key' && pk !== 'record_value') {
    add('delete.enabled', 'Deletes need pk.mode record_key (tombstones) or record_value (change events).');
  }
  return e;
});

export type PostgresSinkOptions = ReturnType<typeof PostgresSinkConfig.parse>;
