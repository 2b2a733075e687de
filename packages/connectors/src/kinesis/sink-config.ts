import { Config, defineConfig, type FieldErrors } from '@ferry/core';
import { ConnectionConfig, checkCredentials } from './connection-config.js';

/** PutRecords caps: records per request, bytes per request, bytes per record (data plus partition key). */
export const MAX_RECORDS_PER_REQUEST = 500;
export const MAX_REQUEST_BYTES = 5 * 1024 * 1024;
export const MAX_RECORD_BYTES = 1024 * 1024;

export const SinkConfig = ConnectionConfig.merge(
  defineConfig({
    topics: Config.list({
      doc: 'Kafka topics to read (subscribed by the runtime).',
      optional: true,
      importance: 'HIGH',
      group: 'Kafka',
    }),
    'kinesis.partition.key.field': Config.string({
      doc:
        'Value field (dotted path into a struct or JSON object) whose value becomes the partition key. ' +
        'Empty: the record key as a string, or the Kafka partition number when the key is null.',
      optional: true,
      group: 'Kinesis',
      example: 'customer.id',
    }),
    'kinesis.explicit.hash.key.field': Config.string({
      doc: 'Value field holding an explicit hash key (a decimal number in 0..2^128-1) that picks the shard instead of the partition key.',
      optional: true,
      importance: 'LOW',
      group: 'Kinesis',
    }),
    'batch.size': Config.int({
      doc: 'Maximum records per PutRecords request (the service allows 500; requests are also capped at 5 MiB).',
      default: 500,
      min: 1,
      max: MAX_RECORDS_PER_REQUEST,
      group: 'Batching',
    }),
    'linger.ms': Config.long({
      doc: 'How long to wait for a batch to fill before sending a partial one.',
      default: 100,
      min: 0,
      group: 'Batching',
    }),
    'max.in.flight.requests': Config.int({
      doc: 'PutRecords requests sent concurrently. Order per partition key holds for any value: a key has at most one record in flight.',
      default: 4,
      min: 1,
      max: 64,
      group: 'Batching',
    }),
    'max.buffered.records': Config.int({
      doc: 'Records held in memory (waiting or in flight) before put() waits for room: the backpressure bound.',
      default: 10_000,
      min: 1,
      group: 'Batching',
    }),
    'max.buffered.bytes': Config.long({
      doc: 'Bytes of record data held in memory before put() waits for room.',
      default: 32 * 1024 * 1024,
      min: MAX_RECORD_BYTES,
      group: 'Batching',
    }),
    'max.put.wait.ms': Config.long({
      doc:
        'How long put() waits for room in a full buffer. After that it accepts the batch and pauses the task\'s ' +
        'partitions until the buffer drains to half, so the consumer keeps polling (and its group membership) ' +
        'during long throttling.',
      default: 10_000,
      min: 0,
      group: 'Batching',
    }),
    'max.retries': Config.int({
      doc:
        'Attempts after the first for a record that fails for a reason other than throttling (internal failure, network ' +
        'error); then the task fails without committing it. Throttled records are retried without limit, with backoff.',
      default: 10,
      min: 0,
      group: 'Retries',
    }),
    'retry.backoff.ms': Config.long({
      doc: 'Base wait before retrying a failed or throttled record; doubles on each attempt, with jitter.',
      default: 100,
      min: 0,
      group: 'Retries',
    }),
    'retry.backoff.max.ms': Config.long({
      doc: 'Upper bound of the retry wait.',
      default: 10_000,
      min: 0,
      group: 'Retries',
    }),
    'behavior.on.null.values': Config.enum(['ignore', 'fail'] as const, {
      doc: 'What to do with a record whose value is null (a tombstone): skip it, or treat it as a bad record.',
      default: 'ignore',
      ignoreCase: true,
      group: 'Kinesis',
    }),
  }),
).check((cfg) => {
  const errors: FieldErrors = checkCredentials(cfg);
  if (cfg['retry.backoff.max.ms'] < cfg['retry.backoff.ms']) {
    errors['retry.backoff.max.ms'] = ['must be at least retry.backoff.ms'];
  }
  return errors;
});

export type SinkSettings = ReturnType<typeof SinkConfig.parse>;
