import { Config, defineConfig, type FieldErrors } from '@ferry/core';
import { connectionFields, urlProblem } from './connection-config.js';

const identifier = /^[a-z0-9_]+$/;

export const PostgresCdcConfig = defineConfig({
  ...connectionFields,
  'topic.prefix': Config.string({
    doc: 'Logical name of the database server: topics are `<topic.prefix>.<schema>.<table>`, the heartbeat topic `__debezium-heartbeat.<topic.prefix>`, and it names the source partition of the offsets.',
    importance: 'HIGH',
    group: 'Connector',
    nonEmpty: true,
    example: 'inventory',
  }),
  'slot.name': Config.string({
    doc: 'Replication slot to stream from (created when missing). One slot per connector; lower-case letters, digits and underscores.',
    default: 'ferry',
    importance: 'MEDIUM',
    group: 'Replication',
    pattern: identifier,
    patternHint: 'must contain only lower-case letters, digits and underscores',
  }),
  'publication.name': Config.string({
    doc: 'Publication that selects the streamed tables.',
    default: 'ferry_publication',
    importance: 'MEDIUM',
    group: 'Replication',
  }),
  'publication.autocreate.mode': Config.enum(['all_tables', 'filtered', 'disabled'] as const, {
    doc:
      'all_tables: create the publication FOR ALL TABLES when missing (needs superuser). filtered: create it (or set its tables) for exactly table.include.list. ' +
      'disabled: the publication must exist.',
    default: 'all_tables',
    group: 'Replication',
  }),
  'table.include.list': Config.list({
    doc: 'Tables to capture, comma-separated, each `schema.table` or `table` (schema public). Absent: every table of the publication.',
    optional: true,
    importance: 'HIGH',
    group: 'Replication',
  }),
  'snapshot.mode': Config.enum(['initial', 'never', 'initial_only'] as const, {
    doc:
      'initial: copy the existing rows (op r) consistently with the slot\'s start, then stream. never: stream only. initial_only: copy the rows, then stop producing (no slot is created).',
    default: 'initial',
    group: 'Snapshot',
  }),
  'snapshot.fetch.size': Config.int({
    doc: 'Rows read per snapshot query (keyset pages by primary key); also the most rows returned by one poll during the snapshot.',
    default: 10240,
    min: 1,
    group: 'Snapshot',
  }),
  'snapshot.max.threads': Config.int({
    doc:
      'Chunks the initial snapshot is split into per table (by ranges of a single integer primary key; other tables are one chunk). ' +
      'Above 1 the chunks run as jobs of the worker\'s job facility: in parallel on every worker with jobs.redis.url, else one after another in the task; ' +
      'each chunk imports the same exported snapshot and writes its records in Kafka transactions (consumers need isolation.level=read_committed).',
    default: 1,
    min: 1,
    max: 64,
    group: 'Snapshot',
  }),
  'snapshot.read.method': Config.enum(['cursor', 'copy'] as const, {
    doc: 'How a snapshot chunk reads its rows (with snapshot.max.threads above 1): a server-side cursor fetching snapshot.fetch.size rows at a time, or one COPY ... TO STDOUT streamed in pages of that size (integer keys only; other tables use the cursor).',
    default: 'copy',
    group: 'Snapshot',
  }),
  'signal.data.collection': Config.string({
    doc:
      'Signal table (`schema.table` with columns `id` text primary key, `type` text, `data` text, as Debezium\'s): rows inserted with type `execute-snapshot` and data `{"data-collections": ["schema.table"], "type": "incremental"}` start an incremental snapshot of those tables while streaming continues; `stop-snapshot` stops it. The connector writes its snapshot watermarks there too, and adds it to a filtered publication. Needed for ad hoc snapshots (also POST /connectors/<name>/snapshots).',
    optional: true,
    group: 'Snapshot',
  }),
  'incremental.snapshot.chunk.size': Config.int({
    doc: 'Rows read per chunk (one watermark window) of an incremental snapshot; held in memory until the window closes.',
    default: 1024,
    min: 1,
    group: 'Snapshot',
  }),
  'heartbeat.interval.ms': Config.int({
    doc:
      'How often, when no change flows, a heartbeat record goes to `__debezium-heartbeat.<topic.prefix>` carrying the server\'s current WAL position, so the slot advances and an idle slot does not pin WAL. 0 disables.',
    default: 10000,
    min: 0,
    group: 'Replication',
  }),
  'heartbeat.topics.prefix': Config.string({
    doc: 'Prefix of the heartbeat topic.',
    default: '__debezium-heartbeat',
    group: 'Replication',
  }),
  'heartbeat.action.query': Config.string({
    doc:
      'A statement run on each heartbeat (e.g. an UPDATE of a heartbeat table in the publication), to create WAL in this database when only other databases are busy.',
    optional: true,
    group: 'Replication',
  }),
  'max.batch.size': Config.int({
    doc: 'Most change records returned by one poll while streaming.',
    default: 2048,
    min: 1,
    group: 'Connector',
  }),
  'max.queue.size': Config.int({
    doc: 'Change records buffered ahead of polls; above it the replication stream is paused (backpressure).',
    default: 8192,
    min: 1,
    group: 'Connector',
  }),
  'poll.interval.ms': Config.int({
    doc: 'How long a poll waits for changes before returning empty.',
    default: 500,
    min: 1,
    group: 'Connector',
  }),
  'tombstones.on.delete': Config.bool({
    doc: 'Follow each delete event with a tombstone (null value, same key) so compacted topics drop the key.',
    default: true,
    group: 'Connector',
  }),
  'slot.drop.on.stop': Config.bool({
    doc: 'Drop the slot when the connector is deleted/stopped (tests and throwaway setups; the next start snapshots again).',
    default: false,
    group: 'Replication',
  }),
}).check((cfg) => {
  const e: FieldErrors = {};
  const url = urlProblem(cfg['connection.url']);
  if (url) e['connection.url'] = [url];
  if (cfg['publication.autocreate.mode'] === 'filtered' && !(cfg['table.include.list'] ?? []).length) {
    e['table.include.list'] = ['Required when publication.autocreate.mode is filtered.'];
  }
  return e;
});

export type PostgresCdcOptions = ReturnType<typeof PostgresCdcConfig.parse>;
