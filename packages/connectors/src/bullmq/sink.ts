/** `BullMqSink`: records become jobs of a BullMQ queue, for Node.js services that consume streams as background jobs. */
import type { ConnectorConfig, SinkConnector, SinkTask, TaskConfig } from '@ferry/core';
import { BullMqSinkConfig } from './config.js';
import { BullMqSinkTask } from './sink-task.js';

export class BullMqSinkConnector implements SinkConnector {
  private raw: ConnectorConfig = {};

  start(config: ConnectorConfig): void {
    BullMqSinkConfig.parse(config);
    this.raw = config;
  }

  /** Tasks share the queue: partitions spread over them, job ids stay unique per record. */
  taskConfigs(maxTasks: number): TaskConfig[] {
    return Array.from({ length: Math.max(1, maxTasks) }, () => ({ ...this.raw }));
  }

  createTask(): SinkTask {
    return new BullMqSinkTask();
  }

  stop(): void {}
}
