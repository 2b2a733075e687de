import { Config, defineConfig, type FieldErrors } from '@ferry/core';
import { ConnectionConfig, checkCredentials } from './connection-config.js';

export const POSITIONS = ['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP'] as const;
export type Position = (typeof POSITIONS)[number];

/** Parses `kinesis.shard.timestamp`: epoch milliseconds or an ISO-8601 date. */
export function parseShardTimestamp(v: string | undefined): number | undefined {
  if (v === undefined || v.trim() === '') return undefined;
  const t = v.trim();
  if (/^\d+$/.test(t)) return Number(t);
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

export const SourceConfig = ConnectionConfig.merge(
  defineConfig({
    'kafka.topic': Config.string({
      doc: 'Kafka topic the records are written to.',
      importance: 'HIGH',
      nonEmpty: true,
      group: 'Kafka',
    }),
    'kinesis.position': Config.enum(POSITIONS, {
      doc:
        'Where to start reading a shard that has no stored offset: TRIM_HORIZON (oldest record kept), LATEST (records ' +
        'arriving after the connector started) or AT_TIMESTAMP (records arriving at or after kinesis.shard.timestamp). ' +
        'Shards with a stored offset always resume right after it; child shards of a shard already read start at their beginning.',
      default: 'TRIM_HORIZON',
      ignoreCase: true,
      importance: 'HIGH',
      group: 'Kinesis',
      dependents: ['kinesis.shard.timestamp'],
    }),
    'kinesis.shard.timestamp': Config.string({
      doc: 'Start time for kinesis.position=AT_TIMESTAMP: epoch milliseconds or an ISO-8601 date.',
      optional: true,
      importance: 'MEDIUM',
      group: 'Kinesis',
      example: '2024-01-31T00:00:00Z',
    }),
    'kinesis.record.limit': Config.int({
      doc: 'Maximum records per GetRecords call (the service allows 10000).',
      default: 500,
      min: 1,
      max: 10_000,
      group: 'Kinesis',
    }),
    'kinesis.empty.records.backoff.ms': Config.long({
      doc: 'Wait before asking a shard again after it returned no records (and was caught up).',
      default: 5_000,
      min: 0,
      group: 'Kinesis',
    }),
    'kinesis.throughput.exceeded.backoff.ms': Config.long({
      doc:
        'Base wait after the service throttled a read (ProvisionedThroughputExceededException, LimitExceededException); ' +
        'doubles on consecutive throttles of the same shard (up to 8x), with jitter.',
      default: 10_000,
      min: 0,
      group: 'Kinesis',
    }),
    'kinesis.shard.discovery.interval.ms': Config.long({
      doc:
        'How often the connector lists the shards of the stream to find shards created by a split or merge; ' +
        'new shards make it ask for a task reconfiguration.',
      default: 10_000,
      min: 100,
      importance: 'LOW',
      group: 'Kinesis',
    }),
  }),
).check((cfg) => {
  const errors: FieldErrors = checkCredentials(cfg);
  const ts = cfg['kinesis.shard.timestamp'];
  if (ts !== undefined && parseShardTimestamp(ts) === undefined) {
    errors['kinesis.shard.timestamp'] = [`Invalid value ${JSON.stringify(ts)}: must be epoch milliseconds or an ISO-8601 date`];
  }
  if (cfg['kinesis.position'] === 'AT_TIMESTAMP' && ts === undefined) {
    errors['kinesis.shard.timestamp'] = ['is required when kinesis.position is AT_TIMESTAMP'];
  }
  return errors;
});

export type SourceSettings = ReturnType<typeof SourceConfig.parse>;

/** Where a shard with no stored offset starts (resolved by the connector, identical in every task). */
export type StartPosition = { type: 'TRIM_HORIZON' } | { type: 'AT_TIMESTAMP'; timestamp: number };

/** A shard as the connector hands it to a task. */
export interface ShardAssignment {
  id: string;
  /** Parent and adjacent parent shards (after a split or merge), read to their end before this one. */
  parents: string[];
  start: StartPosition;
}

/** A parent read by another task: how to tell whether it is finished. */
export interface ForeignShard {
  id: string;
  start: StartPosition;
}

/** Task config keys the connector adds. */
export const TASK_SHARDS = 'task.shards';
export const TASK_FOREIGN_SHARDS = 'task.parent.shards';
