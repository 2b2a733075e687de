/**
 * Amazon Kinesis: `KinesisSource` (stream -> Kafka topic, one offset per
 * shard, parents before children after resharding) and `KinesisSink` (Kafka
 * topics -> stream, PutRecords with per-key ordering and bounded memory).
 */
import type { SinkConnectorPlugin, SourceConnectorPlugin } from '@ferry/core';
import { SinkConfig, type SinkSettings } from './sink-config.js';
import { KinesisSinkConnector } from './sink-connector.js';
import { SourceConfig, type SourceSettings } from './source-config.js';
import { KinesisSourceConnector } from './source-connector.js';
import { FERRY_VERSION } from '@ferry/connector-kit';

const VERSION = FERRY_VERSION;

export const KinesisSource: SourceConnectorPlugin<SourceSettings> = {
  type: 'source',
  className: 'KinesisSource',
  aliases: ['io.confluent.connect.kinesis.KinesisSourceConnector', 'KinesisSourceConnector'],
  version: VERSION,
  description: 'Reads a Kinesis data stream into a Kafka topic; one checkpoint per shard, resharding-aware.',
  config: SourceConfig,
  create: () => new KinesisSourceConnector(),
};

export const KinesisSink: SinkConnectorPlugin<SinkSettings> = {
  type: 'sink',
  className: 'KinesisSink',
  aliases: ['com.amazon.kinesis.kafka.AmazonKinesisSinkConnector', 'KinesisSinkConnector'],
  version: VERSION,
  description: 'Writes Kafka topics to a Kinesis data stream with PutRecords; per-key order, bounded memory.',
  config: SinkConfig,
  create: () => new KinesisSinkConnector(),
};

export const plugins = [KinesisSource, KinesisSink];

export { KinesisSourceConnector } from './source-connector.js';
export { KinesisSourceTask, type KinesisSourceMetrics, type KinesisSourceTaskOptions, HEADER_ARRIVAL, HEADER_SEQUENCE, HEADER_SHARD } from './source-task.js';
export { KinesisSinkConnector } from './sink-connector.js';
export { KinesisSinkTask, type KinesisSinkMetrics, type KinesisSinkTaskOptions } from './sink-task.js';
export { SourceConfig, type SourceSettings } from './source-config.js';
export { SinkConfig, type SinkSettings } from './sink-config.js';
export { createKinesisClient, listAllShards } from './client.js';
