/**
 * Amazon Kinesis: `KinesisSource` (stream -> Kafka topic, one offset per
 * shard, parents before children after resharding) and `KinesisSink` (Kafka
 * topics -> stream, PutRecords with per-key ordering and bounded memory).
 */
export { KinesisSource, KinesisSink, plugins } from './plugins.js';
export { KinesisSourceConnector } from './source-connector.js';
export { KinesisSourceTask, type KinesisSourceMetrics, type KinesisSourceTaskOptions, HEADER_ARRIVAL, HEADER_SEQUENCE, HEADER_SHARD } from './source-task.js';
export { KinesisSinkConnector } from './sink-connector.js';
export { KinesisSinkTask, type KinesisSinkMetrics, type KinesisSinkTaskOptions } from './sink-task.js';
export { SourceConfig, type SourceSettings } from './source-config.js';
export { SinkConfig, type SinkSettings } from './sink-config.js';
export { createKinesisClient, listAllShards } from './client.js';
