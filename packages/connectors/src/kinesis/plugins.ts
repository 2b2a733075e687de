/**
 * The Kinesis plugins as the registry sees them: names, versions and config
 * declarations. The connectors (and the AWS SDK) load when one is created.
 */
import type { ConnectorPlugin, SinkConnectorPlugin, SourceConnectorPlugin } from '@ferry/core';
import { SinkConfig, type SinkSettings } from './sink-config.js';
import { SourceConfig, type SourceSettings } from './source-config.js';
import { FERRY_VERSION } from '@ferry/connector-kit';

const VERSION = FERRY_VERSION;

export const KinesisSource: SourceConnectorPlugin<SourceSettings> = {
  type: 'source',
  className: 'KinesisSource',
  aliases: ['io.confluent.connect.kinesis.KinesisSourceConnector', 'KinesisSourceConnector'],
  version: VERSION,
  description: 'Reads a Kinesis data stream into a Kafka topic; one checkpoint per shard, resharding-aware.',
  config: SourceConfig,
  create: async () => new (await import('./source-connector.js')).KinesisSourceConnector(),
};

export const KinesisSink: SinkConnectorPlugin<SinkSettings> = {
  type: 'sink',
  className: 'KinesisSink',
  aliases: ['com.amazon.kinesis.kafka.AmazonKinesisSinkConnector', 'KinesisSinkConnector'],
  version: VERSION,
  description: 'Writes Kafka topics to a Kinesis data stream with PutRecords; per-key order, bounded memory.',
  config: SinkConfig,
  create: async () => new (await import('./sink-connector.js')).KinesisSinkConnector(),
};

export const plugins: ConnectorPlugin<any>[] = [KinesisSource, KinesisSink];

