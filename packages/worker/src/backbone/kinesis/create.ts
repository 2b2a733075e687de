import { ConfigError } from '@ferry/core';
import type { LogManager } from '../../logging.js';
import type { WorkerSettings } from '../../config/worker-config.js';
import { KinesisBackbone } from './kinesis-backbone.js';

/** The Kinesis backbone from the worker's `kinesis.*` options. */
export function createKinesisBackbone(s: WorkerSettings, logs: LogManager): KinesisBackbone {
  if (s['kinesis.shard.sync.interval.ms'] * 2 > s['kinesis.lease.duration.ms']) {
    // Leases are renewed once per sync: two renewals must fit in one lease, or held shards lapse.
    const msg = `must be at most half of kinesis.lease.duration.ms (${s['kinesis.lease.duration.ms']})`;
    throw new ConfigError({ 'kinesis.shard.sync.interval.ms': [msg] }, `kinesis.shard.sync.interval.ms ${msg}`);
  }
  // Credentials never reach a log line or a status trace, whatever a client library prints.
  for (const secret of [s['kinesis.secret.access.key'], s['kinesis.session.token'], redisPassword(s['kinesis.coordination.redis.url'])]) {
    if (secret) logs.redactor.add(secret);
  }
  return new KinesisBackbone({
    client: {
      region: s['kinesis.region'],
      endpoint: s['kinesis.endpoint'],
      accessKeyId: s['kinesis.access.key.id'],
      secretAccessKey: s['kinesis.secret.access.key'],
      sessionToken: s['kinesis.session.token'],
    },
    logger: logs.get('backbone'),
    streamPrefix: s['kinesis.stream.prefix'],
    streamShards: s['kinesis.stream.shards'],
    redisUrl: s['kinesis.coordination.redis.url'],
    leaseDurationMs: s['kinesis.lease.duration.ms'],
    pollIntervalMs: s['kinesis.poll.interval.ms'],
    maxRecords: s['kinesis.max.records'],
    shardSyncIntervalMs: s['kinesis.shard.sync.interval.ms'],
  });
}

function redisPassword(url: string): string | undefined {
  try {
    const p = new URL(url).password;
    return p ? decodeURIComponent(p) : undefined;
  } catch {
    return undefined;
  }
}
