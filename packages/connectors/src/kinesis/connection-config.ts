import { AwsCredentialsConfig, checkAwsCredentials } from '@ferry/connector-kit';
import { Config, defineConfig, type FieldErrors } from '@ferry/core';

/** Options shared by the Kinesis source and sink: where the stream is and how to sign. */
export const ConnectionConfig = defineConfig({
  'kinesis.stream': Config.string({
    doc: 'Name of the Kinesis data stream.',
    importance: 'HIGH',
    nonEmpty: true,
    group: 'Kinesis',
  }),
  'kinesis.region': Config.string({
    doc: 'AWS region of the stream.',
    default: 'us-east-1',
    importance: 'HIGH',
    group: 'Kinesis',
  }),
  'kinesis.endpoint': Config.string({
    doc: 'Endpoint URL override, e.g. http://127.0.0.1:4568 for a local emulator. Empty: the regional AWS endpoint.',
    optional: true,
    importance: 'MEDIUM',
    group: 'Kinesis',
    example: 'http://127.0.0.1:4568',
  }),
}).merge(AwsCredentialsConfig);

export interface ConnectionSettings {
  'kinesis.stream': string;
  'kinesis.region': string;
  'kinesis.endpoint'?: string | undefined;
  'aws.access.key.id'?: string | undefined;
  'aws.secret.access.key'?: string | undefined;
  'aws.session.token'?: string | undefined;
}

/** Cross-field rule: static credentials come as a pair. */
export function checkCredentials(cfg: ConnectionSettings): FieldErrors {
  const errors: FieldErrors = checkAwsCredentials(cfg);
  if (cfg['kinesis.endpoint']) {
    try {
      new URL(cfg['kinesis.endpoint']);
    } catch {
      errors['kinesis.endpoint'] = [`Invalid value ${JSON.stringify(cfg['kinesis.endpoint'])}: must be a URL such as http://127.0.0.1:4568`];
    }
  }
  return errors;
}

