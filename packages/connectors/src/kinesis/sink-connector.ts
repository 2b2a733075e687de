import type { ConnectorConfig, ConnectorContext, FieldErrors, SinkConnector, TaskConfig } from '@ferry/core';
import { validateStream } from './client.js';
import { SinkConfig } from './sink-config.js';
import { KinesisSinkTask } from './sink-task.js';

/** Every task writes to the same stream; the runtime spreads topic partitions across them. */
export class KinesisSinkConnector implements SinkConnector {
  private raw!: ConnectorConfig;

  start(config: ConnectorConfig, _context: ConnectorContext): void {
    SinkConfig.parse(config);
    this.raw = config;
  }

  taskConfigs(maxTasks: number): TaskConfig[] {
    return Array.from({ length: Math.max(1, maxTasks) }, () => ({ ...this.raw }));
  }

  createTask(): KinesisSinkTask {
    return new KinesisSinkTask();
  }

  stop(): void {}

  async validate(config: ConnectorConfig): Promise<FieldErrors> {
    return validateStream(SinkConfig.parse(config));
  }
}
