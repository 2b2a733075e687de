/** `PostgresSource`: query-based copying of tables (or a query) into topics, like the JDBC source. */
import type {
  ChunkRunner,
  ConnectorConfig,
  FieldErrors,
  SourceConnector,
  SourceTask,
  TaskConfig,
} from '@ferry/core';
import { ConfigError } from '@ferry/core';
import { closeQuietly, connect, parseTableName, qi, type TableName } from './connection.js';
import { describeTable } from './catalog.js';
import { PostgresSourceConfig, type PostgresSourceOptions } from './source-config.js';
import { PostgresSourceTask, TASK_TABLES_KEY } from './source-task.js';
import { BulkChunkRunner } from './source-bulk.js';

export class PostgresSourceConnector implements SourceConnector {
  private raw: ConnectorConfig = {};
  private cfg!: PostgresSourceOptions;

  start(config: ConnectorConfig): void {
    this.cfg = PostgresSourceConfig.parse(config);
    this.raw = config;
  }

  taskConfigs(maxTasks: number): TaskConfig[] {
    if (this.cfg.query) return [{ ...this.raw }];
    const tables = (this.cfg['table.include.list'] ?? []).map((t) => parseTableName(t));
    const n = Math.max(1, Math.min(maxTasks, tables.length));
    const groups: TableName[][] = Array.from({ length: n }, () => []);
    tables.forEach((t, i) => groups[i % n]!.push(t));
    return groups.map((g) => ({ ...this.raw, [TASK_TABLES_KEY]: JSON.stringify(g) }));
  }

  createTask(): SourceTask {
    return new PostgresSourceTask();
  }

  createChunkRunner(work: string): ChunkRunner | undefined {
    return work === 'bulk' ? new BulkChunkRunner() : undefined;
  }

  stop(): void {}

  async validate(config: ConnectorConfig): Promise<FieldErrors> {
    const r = PostgresSourceConfig.validate(config);
    if (r.errorCount > 0) return {};
    const cfg = r.value as PostgresSourceOptions;
    const errors: FieldErrors = {};
    const add = (k: string, m: string) => (errors[k] ??= []).push(m);
    let client;
    try {
      client = await connect(cfg);
    } catch (err) {
      if (err instanceof ConfigError) return err.fieldErrors;
      add('connection.url', (err as Error).message);
      return errors;
    }
    try {
      const inc = cfg['incrementing.column.name'];
      const tsCols = cfg['timestamp.column.name'] ?? [];
      if (cfg.query) {
        try {
          const res = await client.query(`SELECT * FROM (${cfg.query}) AS ferry_query LIMIT 0`);
          const names = new Set(res.fields.map((f) => f.name));
          if (inc && !names.has(inc)) add('incrementing.column.name', `Column "${inc}" is not returned by the query`);
          for (const c of tsCols) if (!names.has(c)) add('timestamp.column.name', `Column "${c}" is not returned by the query`);
        } catch (err) {
          add('query', `The query fails: ${(err as Error).message}`);
        }
      }
      for (const t of cfg['table.include.list'] ?? []) {
        const name = parseTableName(t);
        const info = await describeTable(client, name);
        if (!info) {
          add('table.include.list', `Table ${name.schema}.${name.table} does not exist (or is not visible to this user)`);
          continue;
        }
        const cols = new Set(info.columns.map((c) => c.name));
        const needInc = cfg.mode === 'incrementing' || cfg.mode === 'timestamp+incrementing';
        const needTs = cfg.mode === 'timestamp' || cfg.mode === 'timestamp+incrementing';
        if (needInc && inc && !cols.has(inc)) add('incrementing.column.name', `Column ${qi(inc)} does not exist in ${name.schema}.${name.table}`);
        if (needTs) for (const c of tsCols) if (!cols.has(c)) add('timestamp.column.name', `Column ${qi(c)} does not exist in ${name.schema}.${name.table}`);
      }
    } finally {
      await closeQuietly(client);
    }
    return errors;
  }
}
