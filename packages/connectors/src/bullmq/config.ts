import { Config, defineConfig, type FieldErrors } from '@ferry/core';

export const BullMqSinkConfig = defineConfig({
  'redis.url': Config.password({
    doc: 'Redis of the queue: redis://[user:password@]host:port[/db] (rediss:// for TLS).',
    importance: 'HIGH',
    group: 'Connection',
    example: 'redis://127.0.0.1:6379',
  }),
  'queue.name': Config.string({ doc: 'BullMQ queue the jobs are added to (no `:`).', importance: 'HIGH', group: 'Queue', nonEmpty: true, pattern: /^[^:]+$/, patternHint: 'must not contain ":"' }),
  'queue.prefix': Config.string({ doc: 'BullMQ key prefix of the queue (the `prefix` option of its Queue and Worker).', default: 'bull', group: 'Queue' }),
  'job.name.field': Config.string({
    doc: 'Field of the record value (dotted path for nested fields) whose value names the job. Absent: the job name is the topic.',
    optional: true,
    group: 'Job',
  }),
  'job.id.mode': Config.enum(['offset', 'key'] as const, {
    doc:
      'offset: the job id is `<topic>-<partition>-<offset>`, so replaying a record after a crash adds no second job. ' +
      'key: the job id is the record key (as text), so one key has at most one job in the queue at a time (later records with that key are dropped while it exists).',
    default: 'offset',
    group: 'Job',
  }),
  'job.data': Config.enum(['value', 'envelope'] as const, {
    doc: 'value: the job data is the record value. envelope: `{topic, partition, offset, timestamp, key, value, headers}`.',
    default: 'value',
    group: 'Job',
  }),
  'job.attempts': Config.int({ doc: 'Attempts of each job (BullMQ `attempts`).', default: 1, min: 1, group: 'Job' }),
  'job.backoff.ms': Config.long({ doc: 'Exponential backoff base delay between attempts (BullMQ `backoff`); 0: none.', default: 0, min: 0, group: 'Job' }),
  'job.delay.ms': Config.long({ doc: 'Delay before a job can be processed (BullMQ `delay`).', default: 0, min: 0, group: 'Job' }),
  'job.priority': Config.int({ doc: 'Job priority (BullMQ `priority`; 0: none, 1 is the highest).', default: 0, min: 0, max: 2097152, group: 'Job' }),
  'job.remove.on.complete': Config.int({
    doc:
      'Completed jobs kept: -1 keeps all, 0 removes each at once, N keeps the newest N. A removed job\'s id can be added again, so keep completed jobs at least as long as a replay could reach back (offset.flush.interval.ms plus a restart).',
    default: -1,
    min: -1,
    group: 'Job',
  }),
  'job.remove.on.complete.age.s': Config.int({ doc: 'Also remove completed jobs older than this (seconds); 0: no age limit.', default: 0, min: 0, group: 'Job' }),
  'job.remove.on.fail': Config.int({ doc: 'Failed jobs kept: -1 keeps all, 0 removes each at once, N keeps the newest N.', default: -1, min: -1, group: 'Job' }),
  'batch.size': Config.int({ doc: 'Jobs added per Redis round trip (addBulk).', default: 500, min: 1, max: 10000, group: 'Queue' }),
}).check((cfg) => {
  const e: FieldErrors = {};
  if (!/^rediss?:\/\//.test(cfg['redis.url'])) e['redis.url'] = ['must start with redis:// or rediss://'];
  return e;
});

export type BullMqSinkOptions = ReturnType<typeof BullMqSinkConfig.parse>;
