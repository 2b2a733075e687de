import { Config, defineConfig, type FieldErrors } from '@ferry/core';

/** The AWS credential options every AWS connector accepts (empty: the SDK's default chain). */
export const AwsCredentialsConfig = defineConfig({
  'aws.access.key.id': Config.string({
    doc: 'AWS access key id for static credentials; empty uses the default credential chain (environment, shared files, web identity, container or instance role).',
    optional: true,
    group: 'Connection',
  }),
  'aws.secret.access.key': Config.password({
    doc: 'AWS secret access key, required with aws.access.key.id.',
    optional: true,
    group: 'Connection',
  }),
  'aws.session.token': Config.password({
    doc: 'AWS session token for temporary credentials (optional, with aws.access.key.id).',
    optional: true,
    group: 'Connection',
  }),
});

export interface AwsCredentialOptions {
  'aws.access.key.id'?: string | undefined;
  'aws.secret.access.key'?: string | undefined;
  'aws.session.token'?: string | undefined;
}

/** Cross-field rule: static credentials come as a pair; a session token needs them. */
export function checkAwsCredentials(cfg: AwsCredentialOptions): FieldErrors {
  const errors: FieldErrors = {};
  const id = cfg['aws.access.key.id'];
  const secret = cfg['aws.secret.access.key'];
  if (id && !secret) errors['aws.secret.access.key'] = ['is required when aws.access.key.id is set'];
  if (secret && !id) errors['aws.access.key.id'] = ['is required when aws.secret.access.key is set'];
  if (cfg['aws.session.token'] && !id) errors['aws.session.token'] = ['needs aws.access.key.id and aws.secret.access.key'];
  return errors;
}

/** Static credentials for an AWS SDK client, or undefined for the default chain. */
export function awsCredentials(cfg: AwsCredentialOptions): { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined {
  const id = cfg['aws.access.key.id'];
  const secret = cfg['aws.secret.access.key'];
  if (!id || !secret) return undefined;
  return { accessKeyId: id, secretAccessKey: secret, ...(cfg['aws.session.token'] ? { sessionToken: cfg['aws.session.token'] } : {}) };
}

/**
 * Options for the SDK's HTTP/1.1 handler (`new NodeHttpHandler(...)`): both
 * timeouts always set, so a server that accepts and never answers cannot
 * hold a task.
 */
export function awsHttpHandlerOptions(opts: { connectTimeoutMs?: number; requestTimeoutMs?: number } = {}): { connectionTimeout: number; requestTimeout: number } {
  return { connectionTimeout: opts.connectTimeoutMs ?? 5_000, requestTimeout: opts.requestTimeoutMs ?? 30_000 };
}
