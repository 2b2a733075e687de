/** The connection options shared by S3Sink and S3Source, declared without the AWS SDK. */
import { Config, defineConfig } from '@ferry/core';
import { AwsCredentialsConfig, checkAwsCredentials } from '@ferry/connector-kit';

const GROUP = 'S3 connection';

/** Bucket names: 3-63 chars of lower-case letters, digits, dots and hyphens. */
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export const ConnectionConfig = defineConfig({
  's3.bucket.name': Config.string({
    doc: 'The S3 bucket to write to (sink) or read from (source). 3-63 characters: lower-case letters, digits, dots and hyphens.',
    importance: 'HIGH',
    group: GROUP,
    pattern: BUCKET_RE,
    patternHint: 'must be a valid S3 bucket name (3-63 characters: a-z, 0-9, "." and "-", starting and ending with a letter or digit)',
  }),
  's3.region': Config.string({
    doc: 'The AWS region of the bucket.',
    default: 'us-east-1',
    importance: 'MEDIUM',
    group: GROUP,
  }),
  'store.url': Config.string({
    doc: 'Endpoint of an S3-compatible store (MinIO, Ceph, an emulator), e.g. http://127.0.0.1:9000. Empty: the AWS endpoint of s3.region.',
    optional: true,
    importance: 'HIGH',
    group: GROUP,
    pattern: /^https?:\/\/[^\s/]+(\/.*)?$/,
    patternHint: 'must be an http:// or https:// URL',
  }),
  's3.path.style.access.enabled': Config.bool({
    doc: 'Address buckets as <store.url>/<bucket> (path style) instead of <bucket>.<host> (virtual-hosted style). Most S3-compatible stores need path style.',
    default: true,
    importance: 'LOW',
    group: GROUP,
  }),
  's3.part.retries': Config.int({
    doc: 'Retries of a failed S3 request (each part of a multipart upload included) inside the client, with exponential backoff, before the task reports the failure to the runtime.',
    default: 3,
    min: 0,
    max: 20,
    importance: 'LOW',
    group: GROUP,
  }),
  's3.request.timeout.ms': Config.int({
    doc: 'Time allowed for one S3 request before it is abandoned (and retried).',
    default: 60000,
    min: 1000,
    importance: 'LOW',
    group: GROUP,
  }),
  's3.connect.timeout.ms': Config.int({
    doc: 'Time allowed to open a connection to the endpoint.',
    default: 5000,
    min: 100,
    importance: 'LOW',
    group: GROUP,
  }),
})
  .merge(AwsCredentialsConfig)
  .check((cfg) => checkAwsCredentials(cfg));

export type ConnectionSettings = ReturnType<typeof ConnectionConfig.parse>;

