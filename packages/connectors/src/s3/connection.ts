/**
 * Connection options and client construction shared by S3Sink and S3Source,
 * plus the mapping of S3 failures onto the platform's error classes.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { HeadBucketCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Config, ConnectError, NotConnectedError, RetriableError, defineConfig, type FieldErrors } from '@ferry/core';
import { AwsCredentialsConfig, awsCredentials, awsHttpHandlerOptions, checkAwsCredentials, CONNECTION_ERROR_CODES } from '@ferry/connector-kit';

export { ConnectionConfig, type ConnectionSettings } from './connection-config.js';
import { ConnectionConfig, type ConnectionSettings } from './connection-config.js';

/** Builds the S3 client for a parsed config. */
export function createS3Client(cfg: ConnectionSettings): S3Client {
  const opts: S3ClientConfig = {
    region: cfg['s3.region'],
    forcePathStyle: cfg['s3.path.style.access.enabled'],
    maxAttempts: cfg['s3.part.retries'] + 1,
    requestHandler: new NodeHttpHandler({
      ...awsHttpHandlerOptions({ connectTimeoutMs: cfg['s3.connect.timeout.ms'], requestTimeoutMs: cfg['s3.request.timeout.ms'] }),
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 64 }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 64 }),
    }),
    // Checksums on every request cost CPU and are not understood by every
    // S3-compatible store; compute them only where the API demands them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
  if (cfg['store.url']) opts.endpoint = cfg['store.url'];
  const credentials = awsCredentials(cfg);
  if (credentials) opts.credentials = credentials;
  return new S3Client(opts);
}

/** The kit's connection codes plus the SDK's own names for a timed-out request. */
const NETWORK_CODES = new Set([
  ...CONNECTION_ERROR_CODES,
  'TimeoutError',
  'RequestTimeout',
]);

const CREDENTIAL_CODES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'Forbidden',
  'ExpiredToken',
  'InvalidToken',
  'CredentialsProviderError',
  'UnrecognizedClientException',
]);

interface AwsLikeError {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
  errors?: unknown[];
}

function networkCode(err: unknown): string | undefined {
  let cur: unknown = err;
  for (let i = 0; cur && i < 6; i++) {
    const e = cur as AwsLikeError;
    if (e.code && NETWORK_CODES.has(e.code)) return e.code;
    if (e.name && NETWORK_CODES.has(e.name)) return e.name;
    if (Array.isArray(e.errors)) for (const inner of e.errors) {
      const c = networkCode(inner);
      if (c) return c;
    }
    cur = e.cause;
  }
  return undefined;
}

/** What kind of failure an S3 error is, for mapping and for tests. */
export type S3FailureKind = 'network' | 'no-bucket' | 'credentials' | 'throttled' | 'server' | 'not-found' | 'other';

export function classifyS3Error(err: unknown): S3FailureKind {
  const e = (err ?? {}) as AwsLikeError;
  if (networkCode(err)) return 'network';
  const code = e.name ?? e.Code ?? e.code ?? '';
  const status = e.$metadata?.httpStatusCode;
  if (code === 'NoSuchBucket') return 'no-bucket';
  if (code === 'NoSuchKey' || code === 'NotFound') return 'not-found';
  if (CREDENTIAL_CODES.has(code) || status === 403 || status === 401) return 'credentials';
  if (code === 'SlowDown' || code === 'Throttling' || code === 'ThrottlingException' || status === 429 || status === 503) return 'throttled';
  if (status !== undefined && status >= 500) return 'server';
  return 'other';
}

/**
 * Wraps an S3 failure in the error class that tells the runtime what to do.
 * `what` says what was being done (e.g. `uploading topics/t/partition=0/...`).
 */
export function toConnectError(err: unknown, what: string, cfg: Pick<ConnectionSettings, 's3.bucket.name' | 'store.url'>): Error {
  if (err instanceof ConnectError) return err;
  const kind = classifyS3Error(err);
  const msg = (err as Error)?.message ?? String(err);
  const bucket = cfg['s3.bucket.name'];
  const endpoint = cfg['store.url'] ?? 'the AWS endpoint';
  switch (kind) {
    case 'network':
      return new NotConnectedError(`S3 endpoint ${endpoint} (store.url) unreachable while ${what}: ${msg}`, { cause: err });
    case 'no-bucket':
      return new NotConnectedError(`Bucket "${bucket}" (s3.bucket.name) does not exist at ${endpoint} while ${what}`, { cause: err });
    case 'credentials':
      return new NotConnectedError(
        `S3 rejected the credentials (aws.access.key.id / aws.secret.access.key or the default credential chain) for bucket "${bucket}" while ${what}: ${msg}`,
        { cause: err },
      );
    case 'throttled':
    case 'server':
      return new RetriableError(`S3 failed transiently while ${what}: ${msg}`, { cause: err });
    default:
      return new ConnectError(`S3 request failed while ${what}: ${msg}`, { cause: err });
  }
}

/**
 * Checks that the bucket is reachable with these credentials. Returns errors
 * by field name (empty when fine), for a connector's `validate()`.
 */
export async function checkBucket(raw: Record<string, string>): Promise<FieldErrors> {
  const parsed = ConnectionConfig.validate(raw);
  if (parsed.errorCount > 0) return {};
  const cfg = parsed.value as ConnectionSettings;
  const client = createS3Client({ ...cfg, 's3.part.retries': 0, 's3.request.timeout.ms': 10000 });
  try {
    await client.send(new HeadBucketCommand({ Bucket: cfg['s3.bucket.name'] }));
    return {};
  } catch (err) {
    const kind = classifyS3Error(err);
    const msg = (err as Error)?.message || (err as AwsLikeError).name || String(err);
    if (kind === 'network') return { 'store.url': [`cannot reach ${cfg['store.url'] ?? 'the AWS S3 endpoint'}: ${msg}`] };
    if (kind === 'credentials')
      return { 'aws.access.key.id': [`the credentials were rejected for bucket "${cfg['s3.bucket.name']}": ${msg}`] };
    // HeadBucket answers 404 without a body: that is a missing bucket.
    if (kind === 'no-bucket' || kind === 'not-found' || (err as AwsLikeError).$metadata?.httpStatusCode === 404)
      return { 's3.bucket.name': [`bucket "${cfg['s3.bucket.name']}" does not exist`] };
    return { 's3.bucket.name': [`bucket "${cfg['s3.bucket.name']}" is not usable: ${msg}`] };
  } finally {
    client.destroy();
  }
}
