/**
 * The S3 plugins as the registry sees them: names, versions and config
 * declarations. The connectors (and the AWS SDK, the Parquet codecs) load
 * when one is created.
 */
import type { ConnectorPlugin, SinkConnectorPlugin, SourceConnectorPlugin } from '@ferry/core';
import { FERRY_VERSION } from '@ferry/connector-kit';
import { SinkOptions, type SinkSettings } from './sink-config.js';
import { SourceOptions, type SourceSettings } from './source-config.js';

const VERSION = FERRY_VERSION;

/** Writes topics to S3 (or any S3-compatible store) as JSON lines, Parquet or raw bytes. */
export const S3Sink: SinkConnectorPlugin<SinkSettings> = {
  type: 'sink',
  className: 'S3Sink',
  aliases: ['io.confluent.connect.s3.S3SinkConnector', 'S3SinkConnector'],
  version: VERSION,
  description: 'Writes records to S3 objects (JSON lines, Parquet, bytes), partitioned by Kafka partition, field or time, exactly once.',
  config: SinkOptions,
  create: async () => new (await import('./sink-connector.js')).S3SinkConnector(),
};

/** Restores S3Sink backups to their topics, or reads any prefix of JSON lines / Parquet / bytes objects. */
export const S3Source: SourceConnectorPlugin<SourceSettings> = {
  type: 'source',
  className: 'S3Source',
  aliases: ['io.confluent.connect.s3.source.S3SourceConnector', 'S3SourceConnector'],
  version: VERSION,
  description: 'Reads S3 objects back: restore mode replays S3Sink backups to their topics and partitions in order; generic mode reads any prefix.',
  config: SourceOptions,
  create: async () => new (await import('./source-connector.js')).S3SourceConnector(),
};

export const plugins: ConnectorPlugin<any>[] = [S3Sink, S3Source];
