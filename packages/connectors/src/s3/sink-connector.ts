import type { ConnectorConfig, ConnectorContext, FieldErrors, SinkConnector, TaskConfig } from '@ferry/core';
import { checkBucket } from './connection.js';
import { SinkOptions } from './sink-config.js';
import { S3SinkTask } from './sink-task.js';

export class S3SinkConnector implements SinkConnector {
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
