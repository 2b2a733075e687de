import type { ConnectorConfig, ConnectorContext, FieldErrors, SinkConnector, SinkConnectorPlugin, TaskConfig } from '@ferry/core';
import { checkBucket } from './connection.js';
import { SinkOptions, type SinkSettings } from './sink-config.js';
import { S3SinkTask } from './sink-task.js';
import { FERRY_VERSION } from '@ferry/connector-kit';

export const VERSION = FERRY_VERSION;

class S3SinkConnector implements SinkConnector {
  private config: ConnectorConfig = {};

  start(config: ConnectorConfig, _ctx: ConnectorContext): void {
    SinkOptions.parse(config);
    this.config = config;
  }

  taskConfigs(maxTasks: number): TaskConfig[] {
    // Every task runs the same config; the runtime's consumer group spreads the partitions.
    return Array.from({ length: Math.max(1, maxTasks) }, () => ({ ...this.config }));
  }

  createTask(): S3SinkTask {
    return new S3SinkTask();
  }

  stop(): void {}

  validate(config: ConnectorConfig): Promise<FieldErrors> {
    return checkBucket(config);
  }
}

/** Writes topics to S3 (or any S3-compatible store) as JSON lines, Parquet or raw bytes. */
export const S3Sink: SinkConnectorPlugin<SinkSettings> = {
  type: 'sink',
  className: 'S3Sink',
  aliases: ['io.confluent.connect.s3.S3SinkConnector', 'S3SinkConnector'],
  version: VERSION,
  description: 'Writes records to S3 objects (JSON lines, Parquet, bytes), partitioned by Kafka partition, field or time, exactly once.',
  config: SinkOptions,
  create: () => new S3SinkConnector(),
};
