import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { Logger } from '@ferry/core';
import type { RedisShardLeaseStore } from '../../stores/redis-shard-lease-store.js';

/** What a Kinesis consumer needs from its backbone (kept apart so the two files do not import each other). */
export interface KinesisContext {
  readonly client: KinesisClient;
  readonly leases: RedisShardLeaseStore;
  readonly opts: { logger: Logger; leaseDurationMs: number; pollIntervalMs: number; maxRecords: number; shardSyncIntervalMs: number };
  streamOf(topic: string): string;
  topicOf(stream: string): string | null;
  ensureStream(topic: string): Promise<void>;
  /** Topics whose streams exist (stream name minus the prefix). */
  listTopics(): Promise<string[]>;
}
