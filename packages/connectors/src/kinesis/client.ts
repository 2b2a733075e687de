import { DescribeStreamSummaryCommand, KinesisClient, ListShardsCommand, type KinesisClientConfig, type Shard } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { awsCredentials, awsHttpHandlerOptions, backoffDelay, isConnectionError } from '@ferry/connector-kit';
import type { FieldErrors } from '@ferry/core';

export { ConnectionConfig, checkCredentials, type ConnectionSettings } from './connection-config.js';
import type { ConnectionSettings } from './connection-config.js';

/**
 * Builds a client. It speaks HTTP/1.1 (emulators expose a plain port the
 * SDK's default HTTP/2-capable handler cannot use), and does not retry on its
 * own: the tasks retry themselves so throttling is counted, backed off per
 * shard and never hidden behind the SDK's short retry budget.
 */
export function createKinesisClient(cfg: ConnectionSettings, overrides: Partial<KinesisClientConfig> = {}): KinesisClient {
  const conf: KinesisClientConfig = {
    region: cfg['kinesis.region'],
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler(awsHttpHandlerOptions({ connectTimeoutMs: 5_000, requestTimeoutMs: 30_000 })),
    ...overrides,
  };
  if (cfg['kinesis.endpoint']) conf.endpoint = cfg['kinesis.endpoint'];
  const credentials = awsCredentials(cfg);
  if (credentials) conf.credentials = credentials;
  return new KinesisClient(conf);
}

/** Every shard of a stream within its retention period (ListShards, paginated). */
export async function listAllShards(client: KinesisClient, stream: string, signal?: AbortSignal): Promise<Shard[]> {
  const shards: Shard[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < 10_000; page++) {
    const out = await client.send(
      nextToken ? new ListShardsCommand({ NextToken: nextToken }) : new ListShardsCommand({ StreamName: stream }),
      signal ? { abortSignal: signal } : {},
    );
    shards.push(...(out.Shards ?? []));
    nextToken = out.NextToken;
    if (!nextToken) break;
  }
  return shards;
}

function errorName(err: unknown): string {
  const e = err as { name?: string; code?: string; Code?: string } | null;
  return e?.name ?? e?.code ?? e?.Code ?? '';
}

const THROTTLE_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'ThrottlingException',
  'KMSThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
]);

/** The service asked us to slow down. */
export function isThrottle(err: unknown): boolean {
  const e = err as { $metadata?: { httpStatusCode?: number } } | null;
  return THROTTLE_NAMES.has(errorName(err)) || e?.$metadata?.httpStatusCode === 429;
}

export function isExpiredIterator(err: unknown): boolean {
  return errorName(err) === 'ExpiredIteratorException';
}

export function isNotFound(err: unknown): boolean {
  return errorName(err) === 'ResourceNotFoundException';
}

export function isInvalidArgument(err: unknown): boolean {
  const n = errorName(err);
  return n === 'InvalidArgumentException' || n === 'ValidationException';
}

/** Errors a later attempt may not hit: network failures, 5xx answers, internal failures. */
export function isTransient(err: unknown): boolean {
  if (isThrottle(err)) return true;
  const n = errorName(err);
  if (n === 'InternalFailureException' || n === 'ServiceUnavailable' || n === 'TimeoutError' || n === 'AbortError') return true;
  if (isConnectionError(err)) return true;
  const status = (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  return status === undefined || status >= 500;
}

/** An unreachable endpoint rather than an error answer (the kit's one classification). */
export { isConnectionError };

/** `base` scaled by 2^attempt (capped), with the kit's one jitter definition. */
export function backoffWithJitter(baseMs: number, attempt: number, maxMs: number): number {
  return backoffDelay(Math.min(attempt, 16) + 1, baseMs, maxMs);
}

export function describeError(err: unknown): string {
  const name = errorName(err);
  const msg = (err as Error | null)?.message ?? String(err);
  return name && !msg.startsWith(name) ? `${name}: ${msg}` : msg;
}

/** I/O checks for `config/validate`: the stream exists and answers. */
export async function validateStream(cfg: ConnectionSettings): Promise<FieldErrors> {
  const client = createKinesisClient(cfg);
  try {
    await client.send(new DescribeStreamSummaryCommand({ StreamName: cfg['kinesis.stream'] }));
    return {};
  } catch (err) {
    if (isNotFound(err)) return { 'kinesis.stream': [`Stream ${cfg['kinesis.stream']} not found in region ${cfg['kinesis.region']}`] };
    if (isConnectionError(err)) return { 'kinesis.endpoint': [`Cannot reach Kinesis: ${describeError(err)}`] };
    return { 'kinesis.stream': [`Cannot describe stream ${cfg['kinesis.stream']}: ${describeError(err)}`] };
  } finally {
    client.destroy();
  }
}
