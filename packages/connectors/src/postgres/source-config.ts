import { Config, defineConfig, type FieldErrors } from '@ferry/core';
import { connectionFields, urlProblem } from './connection-config.js';

export const SOURCE_MODES = ['bulk', 'incrementing', 'timestamp', 'timestamp+incrementing'] as const;
export type SourceMode = (typeof SOURCE_MODES)[number];

export const PostgresSourceConfig = defineConfig({
  ...connectionFields,
  'table.include.list': Config.list({
    doc: 'Tables to copy, comma-separated, each `schema.table` or `table` (schema public). Tables are split across tasks. Use either this or `query`.',
    optional: true,
    importance: 'HIGH',
    group: 'Source',
    aliases: ['table.whitelist'],
    example: 'public.orders,public.customers',
  }),
  query: Config.string({
    doc: 'A SELECT to run instead of copying whole tables; the mode\'s WHERE and ORDER BY are applied around it. Records go to `topic.prefix` itself.',
    optional: true,
    importance: 'MEDIUM',
    group: 'Source',
  }),
  mode: Config.enum(SOURCE_MODES, {
    doc:
      'How new rows are found. bulk: the whole table on every poll. incrementing: rows whose `incrementing.column.name` is above the last one seen (new rows only). ' +
      'timestamp: rows whose `timestamp.column.name` is newer (new and updated rows). timestamp+incrementing: both, the most reliable way to see new and updated rows.',
    importance: 'HIGH',
    group: 'Mode',
  }),
  'incrementing.column.name': Config.string({
    doc: 'A strictly increasing integer column (e.g. a serial primary key), for incrementing modes.',
    optional: true,
    group: 'Mode',
  }),
  'timestamp.column.name': Config.list({
    doc: 'Timestamp column(s) updated on every change, for timestamp modes; with several, the first non-null one (COALESCE) is used.',
    optional: true,
    group: 'Mode',
  }),
  'timestamp.delay.interval.ms': Config.long({
    doc:
      'Only rows whose timestamp is at least this old are read, giving transactions that commit late with an earlier timestamp time to become visible before the offset moves past them.',
    default: 0,
    min: 0,
    group: 'Mode',
  }),
  'timestamp.initial': Config.long({
    doc: 'Epoch milliseconds to start timestamp modes from when no offset is stored; -1 means now. Absent: read from the beginning.',
    optional: true,
    group: 'Mode',
  }),
  'poll.interval.ms': Config.int({
    doc: 'How often each table is queried for new data.',
    default: 5000,
    min: 1,
    group: 'Connector',
  }),
  'bulk.max.threads': Config.int({
    doc:
      'bulk mode: chunks each round of a table is split into (ranges of a single integer primary key; other tables are one chunk). Above 1 a round runs as a job of the worker\'s job facility, in one exported snapshot, in parallel on every worker with jobs.redis.url (else one chunk after another in the task), each page written in a Kafka transaction.',
    default: 1,
    min: 1,
    max: 64,
  }),
  'batch.max.rows': Config.int({
    doc: 'Rows fetched from the server cursor per poll (the most rows held in memory at once per task).',
    default: 1000,
    min: 1,
    group: 'Connector',
  }),
  'topic.prefix': Config.string({
    doc: 'Prefix of topic names: the topic of a table is this prefix plus the table name; with `query`, the topic is this prefix itself (then required).',
    default: '',
    importance: 'HIGH',
    group: 'Connector',
    example: 'pg-',
  }),
}).check((cfg) => {
  const e: FieldErrors = {};
  const url = urlProblem(cfg['connection.url']);
  if (url) e['connection.url'] = [url];
  const tables = cfg['table.include.list'] ?? [];
  if (tables.length === 0 && !cfg.query) e['table.include.list'] = ['Set either table.include.list or query.'];
  if (tables.length > 0 && cfg.query) e.query = ['Set only one of table.include.list and query.'];
  if (cfg.query && !cfg['topic.prefix']) e['topic.prefix'] = ['Required with query: it is the topic the rows go to.'];
  if ((cfg.mode === 'incrementing' || cfg.mode === 'timestamp+incrementing') && !cfg['incrementing.column.name']) {
    e['incrementing.column.name'] = [`Required when mode is ${cfg.mode}.`];
  }
  if ((cfg.mode === 'timestamp' || cfg.mode === 'timestamp+incrementing') && !(cfg['timestamp.column.name'] ?? []).length) {
    e['timestamp.column.name'] = [`Required when mode is ${cfg.mode}.`];
  }
  return e;
});

export type PostgresSourceOptions = ReturnType<typeof PostgresSourceConfig.parse>;
