/** `PostgresSink`: writes records (plain rows or change events) into PostgreSQL tables. */
import {
  ConfigError,
  type ConnectorConfig,
  type FieldErrors,
  type SinkConnector,
  type SinkTask,
  type TaskConfig,
} from '@ferry/core';
import { closeQuietly, connect, parseTableName } from './connection.js';
import { describeTable } from './catalog.js';
import { PostgresSinkConfig, type PostgresSinkOptions } from './sink-config.js';
import { PostgresSinkTask } from './sink-task.js';

export class PostgresSinkConnector implements SinkConnector {
  private raw: ConnectorConfig = {};

  start(config: ConnectorConfig): void {
    PostgresSinkConfig.parse(config);
    this.raw = config;
  }

  taskConfigs(maxTasks: number): TaskConfig[] {
    return Array.from({ length: Math.max(1, maxTasks) }, () => ({ ...this.raw }));
  }

  createTask(): SinkTask {
    return new PostgresSinkTask();
  }

  stop(): void {}

  async validate(config: ConnectorConfig): Promise<FieldErrors> {
    const r = PostgresSinkConfig.validate(config);
    if (r.errorCount > 0) return {};
    const cfg = r.value as PostgresSinkOptions;
    const errors: FieldErrors = {};
    let client;
    try {
      client = await connect(cfg);
    } catch (err) {
      if (err instanceof ConfigError) return err.fieldErrors;
      return { 'connection.url': [(err as Error).message] };
    }
    try {
      // A fixed target (no ${...}) must exist unless auto.create may make it.
      const format = cfg['table.name.format'];
      if (!format.includes('${') && !cfg['auto.create']) {
        const t = parseTableName(format);
        if (!(await describeTable(client, t))) {
          errors['table.name.format'] = [`Table ${t.schema}.${t.table} does not exist and auto.create is false`];
        }
      }
    } finally {
      await closeQuietly(client);
    }
    return errors;
  }
}
