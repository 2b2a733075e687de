import { Config } from '@ferry/core';

/**
 * Worker options of the Kinesis backbone (`backbone=kinesis`), spread into the
 * worker's one config declaration so docs and validation come from here.
 */
export const kinesisBackboneOptions = {
  'kinesis.region': Config.string({ doc: 'backbone=kinesis: AWS region of the backbone streams.', default: 'us-east-1', group: 'Kinesis backbone' }),
  'kinesis.endpoint': Config.string({
    doc: 'backbone=kinesis: endpoint URL override, e.g. http://127.0.0.1:4568 for a local emulator. Empty: the regional AWS endpoint.',
    optional: true,
    group: 'Kinesis backbone',
    example: 'http://127.0.0.1:4568',
  }),
  'kinesis.access.key.id': Config.string({
    doc: 'backbone=kinesis: AWS access key id. Empty: the AWS default credential chain (environment, shared files, instance role).',
    optional: true,
    group: 'Kinesis backbone',
  }),
  'kinesis.secret.access.key': Config.password({ doc: 'backbone=kinesis: AWS secret access key, with kinesis.access.key.id.', optional: true, group: 'Kinesis backbone' }),
  'kinesis.session.token': Config.password({ doc: 'backbone=kinesis: AWS session token for temporary credentials.', optional: true, group: 'Kinesis backbone' }),
  'kinesis.stream.prefix': Config.string({
    doc: 'backbone=kinesis: prefix of the stream that carries a topic (stream name = prefix + topic).',
    default: '',
    group: 'Kinesis backbone',
    example: 'ferry-',
  }),
  'kinesis.stream.shards': Config.int({
    doc: 'backbone=kinesis: shard count of streams created on demand; 0 creates them in on-demand capacity mode.',
    default: 1,
    min: 0,
    group: 'Kinesis backbone',
  }),
  'kinesis.coordination.redis.url': Config.password({
    doc: 'backbone=kinesis: Redis (redis://[user:password@]host:port[/db], rediss:// for TLS) holding the shard leases and checkpoints of sink consumer groups; default redis://127.0.0.1:6379. Secret: it may carry a password.',
    default: 'redis://127.0.0.1:6379',
    group: 'Kinesis backbone',
  }),
  'kinesis.lease.duration.ms': Config.long({
    doc: 'backbone=kinesis: how long a shard lease lasts without renewal (ms); a dead worker\'s shards move after this.',
    default: 10000,
    min: 1000,
    group: 'Kinesis backbone',
  }),
  'kinesis.poll.interval.ms': Config.long({
    doc: 'backbone=kinesis: pause between GetRecords calls of a shard that returned nothing (ms). AWS allows 5 calls/s per shard.',
    default: 200,
    min: 0,
    group: 'Kinesis backbone',
  }),
  'kinesis.max.records': Config.int({
    doc: 'backbone=kinesis: most records one GetRecords call returns (one batch handed to a sink task).',
    default: 1000,
    min: 1,
    max: 10000,
    group: 'Kinesis backbone',
  }),
  'kinesis.shard.sync.interval.ms': Config.long({
    doc: 'backbone=kinesis: how often shard lists and free or expired leases are re-examined (ms). Held leases are renewed on their own timer, every third of kinesis.lease.duration.ms.',
    default: 2000,
    min: 100,
    group: 'Kinesis backbone',
  }),
};
