import * as os from 'node:os';
import { Config, defineConfig, type FieldErrors } from '@ferry/core';
import { ConnectionConfig } from './connection-config.js';
import { FORMAT_CHOICES, resolveFormat } from './format-names.js';
import { PathFormat, isValidTimeZone } from './path-format.js';
import { zstdAvailable } from './format-names.js';

export type PartitionerName = 'default' | 'field' | 'time';
export type ExtractorName = 'Record' | 'RecordField' | 'Wallclock';

const PARTITIONERS: Record<string, { name: PartitionerName; pathFormat?: string; durationMs?: number }> = {
  default: { name: 'default' },
  defaultpartitioner: { name: 'default' },
  'io.confluent.connect.storage.partitioner.defaultpartitioner': { name: 'default' },
  field: { name: 'field' },
  fieldpartitioner: { name: 'field' },
  'io.confluent.connect.storage.partitioner.fieldpartitioner': { name: 'field' },
  time: { name: 'time' },
  timebasedpartitioner: { name: 'time' },
  'io.confluent.connect.storage.partitioner.timebasedpartitioner': { name: 'time' },
  hourly: { name: 'time', pathFormat: "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH", durationMs: 3600000 },
  'io.confluent.connect.storage.partitioner.hourlypartitioner': { name: 'time', pathFormat: "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH", durationMs: 3600000 },
  daily: { name: 'time', pathFormat: "'year'=YYYY/'month'=MM/'day'=dd", durationMs: 86400000 },
  'io.confluent.connect.storage.partitioner.dailypartitioner': { name: 'time', pathFormat: "'year'=YYYY/'month'=MM/'day'=dd", durationMs: 86400000 },
};

/** Resolves a partitioner name or Confluent class name (case-insensitive). */
export function resolvePartitioner(name: string) {
  return PARTITIONERS[name.trim().toLowerCase()];
}

const EXTRACTORS: Record<string, ExtractorName> = {
  record: 'Record',
  recordfield: 'RecordField',
  wallclock: 'Wallclock',
};

export function resolveExtractor(name: string): ExtractorName | undefined {
  const n = name.trim().toLowerCase();
  const short = n.includes('$') ? n.slice(n.lastIndexOf('$') + 1).replace(/timestampextractor$/, '') : n;
  return EXTRACTORS[short];
}

/** `\n`, `\r`, `\t`, `\\` and `\0` escapes in a separator given as text. */
export function unescapeSeparator(s: string): Buffer {
  return Buffer.from(s.replace(/\\([nrt0\\])/g, (_, c: string) => ({ n: '\n', r: '\r', t: '\t', '0': '\0', '\\': '\\' })[c] ?? c));
}

const W = 'Writer';
const P = 'Partitioner';
const S = 'Storage';

export const SinkOptions = defineConfig({
  'topics.dir': Config.string({
    doc: 'Top-level folder of the objects: keys are <topics.dir>/<topic>/<encodedPartition>/<topic>+<partition>+<startOffset>.<ext>. Empty: no folder.',
    default: 'topics',
    importance: 'HIGH',
    group: S,
  }),
  'flush.size': Config.int({
    doc: 'Records per file of a Kafka partition: once reached, the files are closed and uploaded. Deterministic (exactly-once).',
    default: 1000,
    min: 1,
    importance: 'HIGH',
    group: W,
  }),
  'rotate.interval.ms': Config.long({
    doc: 'Closes the files of a Kafka partition when a record\'s time (per timestamp.extractor) is this far past the time of the file\'s first record; also closes them when the partition received nothing for this long (so idle partitions do not hold files open). -1 disables. With timestamp.extractor=Record or RecordField the record-time rule is deterministic (exactly-once).',
    default: -1,
    min: -1,
    importance: 'MEDIUM',
    group: W,
  }),
  'rotate.schedule.interval.ms': Config.long({
    doc: 'Closes every open file on a wall-clock schedule (aligned to multiples of this interval in `timezone`), checked by a timer so idle partitions are closed too. -1 disables. Not deterministic: after a crash a replay may cut files differently (at-least-once).',
    default: -1,
    min: -1,
    importance: 'MEDIUM',
    group: W,
  }),
  'partitioner.class': Config.string({
    doc: 'How records are laid out in folders: default (partition=<n>), field (<field>=<value> from partition.field.name), time (path.format of the record time), hourly, daily; Confluent class names are accepted.',
    default: 'default',
    importance: 'HIGH',
    group: P,
  }),
  'partition.field.name': Config.list({
    doc: 'Field partitioner: the value field(s) forming the folder, e.g. region or region,country (nested fields with dots).',
    optional: true,
    importance: 'MEDIUM',
    group: P,
  }),
  'partition.duration.ms': Config.long({
    doc: 'Time partitioner: the width of a time folder in milliseconds (e.g. 3600000 for hourly).',
    optional: true,
    min: 1,
    importance: 'MEDIUM',
    group: P,
  }),
  'path.format': Config.string({
    doc: "Time partitioner: the folder pattern (Joda-style), e.g. 'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH.",
    optional: true,
    importance: 'MEDIUM',
    group: P,
  }),
  locale: Config.string({ doc: 'Accepted for compatibility; folder names use digits only.', optional: true, importance: 'LOW', group: P }),
  timezone: Config.string({ doc: 'Time zone of path.format and of the rotate.schedule.interval.ms schedule (an IANA id).', default: 'UTC', importance: 'MEDIUM', group: P }),
  'timestamp.extractor': Config.string({
    doc: 'The record time used by the time partitioner and rotate.interval.ms: Record (the record timestamp), RecordField (timestamp.field of the value), Wallclock (now: not deterministic).',
    default: 'Record',
    importance: 'MEDIUM',
    group: P,
  }),
  'timestamp.field': Config.string({
    doc: 'RecordField extractor: the value field holding the time (epoch ms, a Date, or an ISO-8601 string; dots reach nested fields).',
    default: 'timestamp',
    importance: 'MEDIUM',
    group: P,
  }),
  'format.class': Config.string({ doc: `Object format: ${FORMAT_CHOICES}.`, default: 'json', importance: 'HIGH', group: S }),
  's3.compression.type': Config.enum(['none', 'gzip'] as const, {
    doc: 'Compression of JSON objects (gzip gives .json.gz keys).',
    default: 'none',
    ignoreCase: true,
    importance: 'MEDIUM',
    group: S,
  }),
  'parquet.codec': Config.enum(['none', 'snappy', 'gzip', 'zstd'] as const, {
    doc: 'Compression codec of Parquet pages (zstd needs Node.js 22.15+).',
    default: 'snappy',
    ignoreCase: true,
    importance: 'MEDIUM',
    group: S,
  }),
  'format.bytearray.separator': Config.string({
    doc: 'Bytes format: written after every record (escapes \\n \\r \\t \\0 \\\\ understood). Values containing it cannot be split apart again; use format.class=json with store.kafka.keys/headers for binary-safe backups.',
    default: '\\n',
    importance: 'LOW',
    group: S,
  }),
  's3.part.size': Config.int({
    doc: 'Part size of multipart uploads (objects larger than this are uploaded in parts). At least 5 MiB.',
    default: 26214400,
    min: 5242880,
    max: 2147483647,
    importance: 'MEDIUM',
    group: S,
  }),
  'store.kafka.keys': Config.bool({
    doc: 'Store each record as an envelope holding its key (with schema) beside the value, plus partition, offset and timestamp. Needed for lossless restores with S3Source.',
    default: false,
    importance: 'MEDIUM',
    group: S,
  }),
  'store.kafka.headers': Config.bool({
    doc: 'Store each record as an envelope holding its headers beside the value, plus partition, offset and timestamp. Needed for lossless restores with S3Source.',
    default: false,
    importance: 'MEDIUM',
    group: S,
  }),
  'behavior.on.null.values': Config.enum(['write', 'ignore', 'fail'] as const, {
    doc: 'Records with a null value (tombstones): write them (a null line / row), ignore them, or fail (a data error). The bytes format cannot store them and ignores them. Envelopes always keep them.',
    default: 'write',
    ignoreCase: true,
    importance: 'LOW',
    group: W,
  }),
  's3.buffer.memory.bytes': Config.long({
    doc: 'Memory a task may use for open files. Past it the largest buffers are spilled to s3.buffer.spill.dir, so many open partitions never exhaust memory.',
    default: 67108864,
    min: 1048576,
    importance: 'MEDIUM',
    group: W,
  }),
  's3.buffer.spill.dir': Config.string({ doc: 'Local folder for spilled buffers. Default: the OS temp folder.', default: os.tmpdir(), importance: 'LOW', group: W }),
  's3.upload.concurrency': Config.int({ doc: 'Files uploaded at the same time per task.', default: 4, min: 1, max: 64, importance: 'LOW', group: W }),
})
  .merge(ConnectionConfig)
  .check((cfg) => {
    const e: FieldErrors = {};
    const format = resolveFormat(cfg['format.class']);
    if (!format) e['format.class'] = [`unknown format "${cfg['format.class']}": use ${FORMAT_CHOICES}`];
    const part = resolvePartitioner(cfg['partitioner.class']);
    if (!part) e['partitioner.class'] = [`unknown partitioner "${cfg['partitioner.class']}": use default, field, time, hourly or daily`];
    if (part?.name === 'field' && !cfg['partition.field.name']?.length)
      e['partition.field.name'] = ['must name at least one field with partitioner.class=field'];
    if (part?.name === 'time' && !part.pathFormat) {
      if (!cfg['partition.duration.ms']) e['partition.duration.ms'] = ['must be set with partitioner.class=time'];
      if (!cfg['path.format']) e['path.format'] = ["must be set with partitioner.class=time, e.g. 'year'=YYYY/'month'=MM/'day'=dd"];
    }
    if (cfg['path.format']) {
      try {
        PathFormat.compile(cfg['path.format']);
      } catch (err) {
        e['path.format'] = [(err as Error).message];
      }
    }
    if (!isValidTimeZone(cfg.timezone)) e.timezone = [`unknown time zone "${cfg.timezone}"`];
    const ex = resolveExtractor(cfg['timestamp.extractor']);
    if (!ex) e['timestamp.extractor'] = [`unknown extractor "${cfg['timestamp.extractor']}": use Record, RecordField or Wallclock`];
    if (cfg['s3.compression.type'] === 'gzip' && format && format !== 'json')
      e['s3.compression.type'] = ['gzip applies to format.class=json only (Parquet uses parquet.codec)'];
    if (format === 'parquet' && cfg['parquet.codec'] === 'zstd' && !zstdAvailable)
      e['parquet.codec'] = ['zstd needs Node.js 22.15 or later here; use snappy or gzip'];
    if (format === 'bytes' && (cfg['store.kafka.keys'] || cfg['store.kafka.headers']))
      e['store.kafka.keys'] = ['envelopes (store.kafka.keys / store.kafka.headers) need format.class=json or parquet'];
    return e;
  });

export type SinkSettings = ReturnType<typeof SinkOptions.parse>;
