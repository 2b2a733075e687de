import { Config, defineConfig, type FieldErrors } from '@ferry/core';
import { ConnectionConfig } from './connection-config.js';
import { FORMAT_CHOICES, resolveFormat } from './format-names.js';

export type SourceMode = 'restore' | 'generic';

export function resolveMode(m: string): SourceMode | undefined {
  const n = m.trim().toLowerCase();
  if (n === 'restore' || n === 'restore_backup' || n === 'backup_restore') return 'restore';
  if (n === 'generic') return 'generic';
  return undefined;
}

const G = 'Source';

export const SourceOptions = defineConfig({
  mode: Config.string({
    doc: 'restore: read the layout S3Sink writes and produce every record back to its topic and partition, in offset order. generic: read JSON lines (optionally .gz), Parquet or byte objects under s3.prefix into kafka.topic, in key order.',
    default: 'restore',
    importance: 'HIGH',
    group: G,
  }),
  'format.class': Config.string({ doc: `Format of the objects: ${FORMAT_CHOICES}.`, default: 'json', importance: 'HIGH', group: G }),
  'topics.dir': Config.string({ doc: 'Restore: the top-level folder S3Sink wrote to.', default: 'topics', importance: 'MEDIUM', group: G }),
  topics: Config.list({
    doc: 'Restore: the topics to restore (folders under topics.dir). Empty: every topic found there.',
    default: [],
    importance: 'HIGH',
    group: G,
  }),
  'topic.rename.format': Config.string({
    doc: 'Restore: the topic each record is produced to; ${topic} is the original topic, e.g. restored-${topic}.',
    default: '${topic}',
    importance: 'MEDIUM',
    group: G,
  }),
  's3.prefix': Config.list({
    doc: 'Generic: key prefix(es) to read, each read in key order (one task per prefix at most).',
    default: [],
    importance: 'HIGH',
    group: G,
  }),
  'restore.chunked': Config.bool({
    doc: 'Restore: restore the objects present when the task starts as a chunked job of the worker\'s job facility (in parallel on every worker with jobs.redis.url, else one chunk after another in the task), each page written with its chunk position in one Kafka transaction (exactly once, resumable). Objects added later are not read. false: stream the objects in the task and follow new ones.',
    default: false,
    importance: 'MEDIUM',
    group: G,
  }),
  'restore.chunk.objects': Config.int({
    doc: 'Restore with restore.chunked: objects per chunk. 0: all objects of one Kafka partition in one chunk (records of a partition keep their order). N: chunks of N consecutive objects of a partition, run in parallel (order across chunks of a partition is not kept).',
    default: 0,
    min: 0,
    importance: 'LOW',
    group: G,
  }),
  'kafka.topic': Config.string({ doc: 'Generic: the topic records are produced to.', optional: true, importance: 'HIGH', group: G }),
  's3.poll.interval.ms': Config.long({
    doc: 'How often to list the bucket again for new objects once everything known was read.',
    default: 10000,
    min: 10,
    importance: 'MEDIUM',
    group: G,
  }),
  'record.batch.max.size': Config.int({ doc: 'Records returned by one poll at most.', default: 1000, min: 1, importance: 'LOW', group: G }),
  'format.bytearray.separator': Config.string({
    doc: 'Bytes format: the separator between records (escapes \\n \\r \\t \\0 \\\\ understood).',
    default: '\\n',
    importance: 'LOW',
    group: G,
  }),
  /** Set by the connector for each task: the units of work (JSON). */
  's3.source.units': Config.string({ doc: 'Internal: the units of work of a task (set by the connector).', optional: true, importance: 'LOW', group: G }),
})
  .merge(ConnectionConfig)
  .check((cfg) => {
    const e: FieldErrors = {};
    const mode = resolveMode(cfg.mode);
    if (!mode) e.mode = [`unknown mode "${cfg.mode}": use restore or generic`];
    if (!resolveFormat(cfg['format.class'])) e['format.class'] = [`unknown format "${cfg['format.class']}": use ${FORMAT_CHOICES}`];
    if (mode === 'generic') {
      if (!cfg['kafka.topic']) e['kafka.topic'] = ['must be set with mode=generic'];
      if (!cfg['s3.prefix'].length) e['s3.prefix'] = ['must name at least one prefix with mode=generic (use "/" for the whole bucket)'];
    }
    if (cfg['restore.chunked'] && mode !== 'restore') e['restore.chunked'] = ['only applies to mode=restore'];
    if (!cfg['topic.rename.format'].includes('${topic}') && cfg['topics'].length > 1)
      e['topic.rename.format'] = ['must contain ${topic} when several topics are restored (they would merge into one)'];
    return e;
  });

export type SourceSettings = ReturnType<typeof SourceOptions.parse>;

/** A unit of work: restore one topic (or one partition folder of it), or read one generic prefix. */
export type Unit = { kind: 'restore'; topic: string; dir: string } | { kind: 'generic'; prefix: string };
