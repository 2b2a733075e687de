import { KinesisClient, ListShardsCommand, type KinesisClientConfig, type Shard } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export interface KinesisClientSettings {
  region: string;
  endpoint?: string | undefined;
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  sessionToken?: string | undefined;
}

/**
 * HTTP/1.1 (emulators expose a plain port the SDK's default handler cannot
 * use) and no SDK retries: the backbone retries itself, per shard, so
 * throttling is backed off where it happens.
 */
export function createClient(s: KinesisClientSettings): KinesisClient {
  const conf: KinesisClientConfig = {
    region: s.region,
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 30_000 }),
  };
  if (s.endpoint) conf.endpoint = s.endpoint;
  if (s.accessKeyId && s.secretAccessKey) {
    conf.credentials = { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey, ...(s.sessionToken ? { sessionToken: s.sessionToken } : {}) };
  }
  return new KinesisClient(conf);
}

export function errorName(err: unknown): string {
  const e = err as { name?: string; code?: string } | null;
  return e?.name ?? e?.code ?? '';
}

export const isNotFound = (err: unknown) => errorName(err) === 'ResourceNotFoundException';
export const isInUse = (err: unknown) => errorName(err) === 'ResourceInUseException';
export const isExpiredIterator = (err: unknown) => errorName(err) === 'ExpiredIteratorException';
export function isThrottle(err: unknown): boolean {
  const n = errorName(err);
  return /ProvisionedThroughputExceeded|LimitExceeded|Throttl|TooManyRequests/.test(n) || (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 429;
}

/** Every shard of a stream within its retention period, open and closed. */
export async function listShards(client: KinesisClient, stream: string): Promise<Shard[]> {
  const shards: Shard[] = [];
  let token: string | undefined;
  do {
    const out = await client.send(token ? new ListShardsCommand({ NextToken: token }) : new ListShardsCommand({ StreamName: stream }));
    shards.push(...(out.Shards ?? []));
    token = out.NextToken;
  } while (token);
  return shards;
}

/** `shardId-000000000012` -> 12: the shard's partition number as the runtime sees it. */
export function shardOrdinal(shardId: string): number {
  const m = /(\d+)$/.exec(shardId);
  if (!m) throw new Error(`Unexpected shard id ${shardId}`);
  return Number(m[1]);
}

export function shardIdOf(ordinal: number): string {
  return `shardId-${String(ordinal).padStart(12, '0')}`;
}
